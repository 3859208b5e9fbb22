import { afterEach } from 'vitest';
import { openBrowsers } from './browser.ts';

/**
 * After every UI test: the accessibility violations (axe-core, WCAG 2.1 A/AA) found on the pages
 * it visited, and on each open page as the test left it, fail that test.
 */
afterEach(async () => {
  const failures: string[] = [];
  for (const browser of openBrowsers) {
    await browser.checkA11y().catch((err: Error) => failures.push(err.message));
  }
  if (failures.length) throw new Error(failures.join('\n'));
});
