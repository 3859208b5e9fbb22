import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { A11yWatch, watchOf } from './a11y.ts';

/** Debian's Chromium; no test tool may download a browser of its own. */
export const CHROMIUM = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/ui/', import.meta.url));

export const PHONE = { width: 360, height: 740 };
export const DESKTOP = { width: 1280, height: 800 };

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions in any page: a UI that throws is broken even if it looks right. */
  pageErrors: string[];
  /**
   * Throws the WCAG 2.1 A/AA violations (axe-core) found since the last call on the pages
   * visited (each checked after every navigation) and on the open pages as they are now.
   * Called after each test for every open browser (test/helpers/a11y-setup.ts) and by close().
   */
  checkA11y(): Promise<void>;
  /** Closes the browser; throws if a page threw an uncaught exception or had an a11y violation meanwhile. */
  close(): Promise<void>;
}

/** The browsers open now, for the after-each accessibility report. */
export const openBrowsers = new Set<Browser>();

/**
 * A real headless Chromium with a fresh profile (no cached shell, no stored session). `extraArgs`
 * go to Chromium as well (e.g. trusting one certificate by its key's hash).
 */
export async function openBrowser(viewport = DESKTOP, extraArgs: string[] = []): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'hearth-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [...ARGS, ...extraArgs],
    headless: true,
    viewport,
  });
  const pageErrors: string[] = [];
  const a11y = new A11yWatch();
  const watch = (p: Page) => {
    p.on('pageerror', (err) => pageErrors.push(`${err.name}: ${err.message}`));
    a11y.watch(p);
  };
  context.on('page', watch);
  const page = context.pages()[0] ?? (await context.newPage());
  if (context.pages().length === 1) watch(page);
  const browser: Browser = {
    context,
    page,
    pageErrors,
    checkA11y: () => a11y.report(context.pages()),
    close: async () => {
      openBrowsers.delete(browser);
      const a11yReport = await a11y.report(context.pages()).then(
        () => undefined,
        (err: Error) => err.message,
      );
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      const problems = [
        ...(pageErrors.length ? [`uncaught errors in the page:\n${pageErrors.join('\n')}`] : []),
        ...(a11yReport ? [a11yReport] : []),
      ];
      if (problems.length) throw new Error(problems.join('\n'));
    },
  };
  openBrowsers.add(browser);
  return browser;
}

/**
 * Saves the page at phone and desktop width into test-artifacts/ui/NAME-{360,1280}.png, and has
 * the page as it is checked for accessibility (reported after the test).
 */
export async function screenshots(page: Page, name: string): Promise<void> {
  await watchOf(page)?.checkNow(page);
  mkdirSync(ARTIFACTS, { recursive: true });
  const before = page.viewportSize();
  for (const size of [PHONE, DESKTOP]) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(ARTIFACTS, `${name}-${size.width}.png`), fullPage: true });
  }
  if (before) await page.setViewportSize(before);
}
