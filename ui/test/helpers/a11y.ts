/// <reference lib="dom" />
// (The functions handed to page.evaluate run in the page: DOM types, also where this file is
// checked as part of another program, such as bench/ importing browser.ts.)
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

/**
 * Accessibility checks with axe-core (WCAG 2.1 A and AA rules) on the pages the UI tests visit.
 * axe's source comes from the npm package and is evaluated in the page (no network; evaluation
 * from the test side is not subject to the page's Content-Security-Policy, which would refuse an
 * inline script tag on the relay origin).
 */

let axeSource: string | undefined;
const AXE_SOURCE = () =>
  (axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8'));
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

export interface A11yViolation {
  url: string;
  rule: string;
  impact: string;
  help: string;
  /** One CSS selector per offending element, with axe's summary of what is wrong there. */
  nodes: { target: string; summary: string }[];
}

/** Checks run one at a time per page: axe refuses a second run while one is going. */
const queues = new WeakMap<Page, Promise<unknown>>();

/** Runs axe on the page as it is now; the violations found (none: []). */
export function runAxe(page: Page): Promise<A11yViolation[]> {
  const previous = queues.get(page) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => axeOnce(page));
  queues.set(page, run);
  return run;
}

async function axeOnce(page: Page): Promise<A11yViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE());
  const url = page.url();
  const violations = await page.evaluate(async (tags) => {
    // Declared here: the function runs in the page, where axe is a global.
    const axe = (
      window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> } }
    ).axe;
    interface AxeViolation {
      id: string;
      impact?: string | null;
      help: string;
      nodes: { target: unknown[]; failureSummary?: string }[];
    }
    const result = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      rule: v.id,
      impact: v.impact ?? 'unknown',
      help: v.help,
      nodes: v.nodes.map((n) => ({
        target: n.target.map(String).join(' '),
        summary: (n.failureSummary ?? '').replace(/\s+/g, ' ').trim(),
      })),
    }));
  }, WCAG_TAGS);
  return violations.map((v) => ({ url, ...v }));
}

/**
 * Watches a browser's pages: each page is checked once its view has rendered after every
 * navigation (the UI's hash routes count), and again when asked (the end of each test, a
 * screenshot). Violations are collected and thrown by report(), each once, with what the
 * test was doing left to the test runner (an afterEach hook, Browser.close()).
 */
export class A11yWatch {
  readonly #pending = new Set<Promise<void>>();
  readonly #found = new Map<string, A11yViolation>();
  readonly #reported = new Set<string>();
  readonly #errors: string[] = [];

  watch(page: Page): void {
    watches.set(page, this);
    page.on('framenavigated', (frame) => {
      if (frame !== page.mainFrame() || !/^https?:/.test(frame.url())) return;
      const check = this.checkNow(page).finally(() => this.#pending.delete(check));
      this.#pending.add(check);
    });
  }

  /** Checks the page once its DOM is quiet; a page that went away meanwhile is skipped. */
  async checkNow(page: Page): Promise<void> {
    if (page.isClosed() || !/^https?:/.test(page.url())) return;
    try {
      await settled(page);
      for (const v of await runAxe(page)) {
        for (const node of v.nodes) {
          const key = `${v.url} ${v.rule} ${node.target}`;
          if (this.#reported.has(key)) continue;
          const entry = this.#found.get(`${v.url} ${v.rule}`) ?? { ...v, nodes: [] };
          if (!entry.nodes.some((n) => n.target === node.target)) entry.nodes.push(node);
          this.#found.set(`${v.url} ${v.rule}`, entry);
        }
      }
    } catch (err) {
      if (!pageGone(err))
        this.#errors.push(`axe could not check ${page.url()}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Waits for the checks under way, checks `pages` as they are now, throws what is new. */
  async report(pages: Page[]): Promise<void> {
    await Promise.all([...this.#pending]);
    for (const page of pages) await this.checkNow(page);
    const found = [...this.#found.values()];
    const errors = this.#errors.splice(0);
    this.#found.clear();
    for (const v of found) for (const node of v.nodes) this.#reported.add(`${v.url} ${v.rule} ${node.target}`);
    if (found.length || errors.length)
      throw new Error([...(found.length ? [formatViolations(found)] : []), ...errors].join('\n'));
  }
}

const watches = new WeakMap<Page, A11yWatch>();

/** The watch a page of openBrowser() belongs to. */
export function watchOf(page: Page): A11yWatch | undefined {
  return watches.get(page);
}

/** A readable list: page, rule id, impact, what the rule asks, then each element's selector. */
export function formatViolations(violations: A11yViolation[]): string {
  const lines = [`accessibility violations (axe-core ${WCAG_TAGS.join(', ')}):`];
  for (const v of violations) {
    lines.push(`  ${v.url}: ${v.rule} (${v.impact}) ${v.help}`);
    for (const node of v.nodes) lines.push(`    ${node.target}${node.summary ? `: ${node.summary}` : ''}`);
  }
  return lines.join('\n');
}

/** Waits until the page's DOM has not changed for `quietMs` (at most `maxMs`): a view has rendered. */
export function settled(page: Page, quietMs = 150, maxMs = 2_000): Promise<void> {
  return page.evaluate(
    ([quiet, max]) =>
      new Promise<void>((resolve) => {
        let timer: ReturnType<typeof setTimeout>;
        const done = () => {
          observer.disconnect();
          clearTimeout(timer);
          clearTimeout(cap);
          resolve();
        };
        const observer = new MutationObserver(() => {
          clearTimeout(timer);
          timer = setTimeout(done, quiet);
        });
        observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
        timer = setTimeout(done, quiet);
        const cap = setTimeout(done, max);
      }),
    [quietMs, maxMs] as const,
  );
}

/** The page went away under a check (closed, navigated, crashed): nothing left to check there. */
export function pageGone(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /has been closed|Execution context was destroyed|Frame was detached|Target crashed/i.test(message);
}
