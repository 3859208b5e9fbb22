import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium; no test tool may download a browser of its own. */
export const CHROMIUM = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/ui/', import.meta.url));

export const PHONE = { width: 360, height: 740 };
export const DESKTOP = { width: 1280, height: 800 };

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions in any page: a UI that throws is broken even if it looks right. */
  pageErrors: string[];
  /** Closes the browser; throws if a page threw an uncaught exception meanwhile. */
  close(): Promise<void>;
}

/** A real headless Chromium with a fresh profile (no cached shell, no stored session). */
export async function openBrowser(viewport = DESKTOP): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'hearth-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true, viewport });
  const pageErrors: string[] = [];
  const watch = (p: Page) => p.on('pageerror', (err) => pageErrors.push(`${err.name}: ${err.message}`));
  context.on('page', watch);
  const page = context.pages()[0] ?? (await context.newPage());
  if (context.pages().length === 1) watch(page);
  return {
    context,
    page,
    pageErrors,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      if (pageErrors.length) throw new Error(`uncaught errors in the page:\n${pageErrors.join('\n')}`);
    },
  };
}

/** Saves the page at phone and desktop width into test-artifacts/ui/NAME-{360,1280}.png. */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const before = page.viewportSize();
  for (const size of [PHONE, DESKTOP]) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(ARTIFACTS, `${name}-${size.width}.png`), fullPage: true });
  }
  if (before) await page.setViewportSize(before);
}
