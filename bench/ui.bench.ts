/**
 * bench/ui: the web UI's budgets (issue "Local web UI").
 *
 * - Size: gzipped JavaScript + CSS the browser fetched to show the home page (logged in, with
 *   devices), measured from the responses headless Chromium received; target < 150 KB. Also the
 *   whole build (every chunk, lazily loaded pages included) for reference.
 * - First render: a fresh browser context (no cache, no service worker) with a stored refresh
 *   token opens the real hub on loopback; time from navigation start to the first device tile in
 *   the DOM (shell, login refresh, device list: what a person sees), and first contentful paint;
 *   median of --loads runs; target < 1 s.
 * - Toggle: click on a tile's toggle → the confirmed state in the DOM and one animation frame
 *   later (painted), with an MQTT device played by an mqtt.js client that answers at once, over
 *   the real hub and broker; median and p95 of --toggles clicks, timed inside the page; target
 *   < 100 ms.
 *
 * Options: --loads=N (10) --toggles=N (40)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { CHROMIUM } from '../ui/test/helpers/browser.ts';
import { addMqttDevice, api, createOwner, ensureUiBuilt, OWNER, startTestHub } from '../ui/test/helpers/home.ts';
import { percentile, round } from './lib/stats.ts';
import type { BenchContext, BenchSmoke } from './run.ts';

export const description = 'web UI: gzipped JS+CSS of the first page, first render, toggle → confirmed state';

/** One cold load, three toggles. */
export const smoke: BenchSmoke = {
  args: ['--loads=1', '--toggles=3'],
  keys: ['firstPageKB', 'firstRenderMs', 'toggleP50Ms'],
};

const TARGETS = { firstPageKB: 150, firstRenderMs: 1000, toggleP50Ms: 100 };
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const DIST = fileURLToPath(new URL('../ui/dist/', import.meta.url));
const REFRESH_KEY = 'hearth.refreshToken';

// Code run inside Chromium, kept as source text: the bench is type-checked against Node's
// types, not the DOM's.
/** Stamps window.__tile when the first device tile enters the DOM. */
const STAMP_FIRST_TILE = `new MutationObserver((_m, observer) => {
  if (document.querySelector('article.tile')) { window.__tile = performance.now(); observer.disconnect(); }
}).observe(document, { childList: true, subtree: true });`;

/** Clicks a tile's toggle; resolves with the ms until the opposite, confirmed state is painted. */
const CLICK_AND_WAIT = `(id) => new Promise((resolve, reject) => {
  const find = () => document.querySelector('article[data-device="' + id + '"] button.toggle');
  const want = find().getAttribute('aria-pressed') === 'true' ? 'false' : 'true';
  const timer = setTimeout(() => reject(new Error('no confirmation in 5 s')), 5000);
  const observer = new MutationObserver(() => {
    const now = find();
    if (!now || now.getAttribute('aria-pressed') !== want || now.disabled) return;
    observer.disconnect();
    clearTimeout(timer);
    requestAnimationFrame(() => resolve(performance.now() - t0));
  });
  observer.observe(document.getElementById('app'), { attributes: true, subtree: true, childList: true });
  const t0 = performance.now();
  find().click();
})`;

const gz = (buf: Buffer | string) => gzipSync(buf).length;

function wholeBuildKB(): number {
  let total = 0;
  for (const f of readdirSync(join(DIST, 'assets')))
    if (/\.(js|css)$/.test(f)) total += gz(readFileSync(join(DIST, 'assets', f)));
  return round(total / 1024, 1);
}

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: ctx.args,
    options: { loads: { type: 'string', default: '10' }, toggles: { type: 'string', default: '40' } },
    strict: true,
  });
  const loads = Number(values.loads);
  const toggles = Number(values.toggles);
  ensureUiBuilt();

  const home = await startTestHub();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  try {
    const token = (await createOwner(home.hub)).body.accessToken as string;
    const devices = [];
    for (const name of ['Lamp', 'Kettle', 'Heater', 'Fan'])
      devices.push(await addMqttDevice(home.hub, token, name, ['switch', 'power']));
    const refreshToken = async () =>
      (await api(home.hub.baseUrl, 'POST', '/api/v1/auth/login', { body: OWNER })).body.refreshToken as string;

    // ---- first page: size and first render ----------------------------------------------
    const renders: number[] = [];
    const paints: number[] = [];
    let firstPageBytes = 0;
    for (let i = 0; i < loads; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: 'block' });
      await context.addInitScript(
        `localStorage.setItem(${JSON.stringify(REFRESH_KEY)}, ${JSON.stringify(await refreshToken())});\n${STAMP_FIRST_TILE}`,
      );
      const page = await context.newPage();
      let bytes = 0;
      const counted: Promise<void>[] = [];
      page.on('response', (res) => {
        const type = res.request().resourceType();
        if (type === 'script' || type === 'stylesheet')
          counted.push(
            res.body().then(
              (b) => {
                bytes += gz(b);
              },
              () => undefined,
            ),
          );
      });
      await page.goto(home.hub.baseUrl);
      await page.waitForFunction('window.__tile !== undefined');
      const [tile, fcp] = (await page.evaluate(
        `[window.__tile, performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN]`,
      )) as number[];
      await Promise.all(counted);
      renders.push(tile!);
      paints.push(fcp!);
      firstPageBytes = bytes;
      await context.close();
    }
    const firstPageKB = round(firstPageBytes / 1024, 1);
    renders.sort((a, b) => a - b);
    paints.sort((a, b) => a - b);
    const firstRenderMs = round(percentile(renders, 0.5), 1);
    ctx.log(`first page: ${firstPageKB} KB gzipped JS+CSS (whole build ${wholeBuildKB()} KB)`);
    ctx.log(
      `first tile in the DOM: median ${firstRenderMs} ms, max ${round(Math.max(...renders), 1)} ` +
        `ms; first contentful paint median ${round(percentile(paints, 0.5), 1)} ms (${loads} cold ` +
        `loads)`,
    );

    // ---- toggle → confirmed --------------------------------------------------------------
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: 'block' });
    await context.addInitScript(
      `localStorage.setItem(${JSON.stringify(REFRESH_KEY)}, ${JSON.stringify(await refreshToken())});`,
    );
    const page = await context.newPage();
    await page.goto(home.hub.baseUrl);
    const lampId = devices[0]!.id;
    await page.locator(`article[data-device="${lampId}"] button.toggle`).waitFor();
    const clicks: number[] = [];
    for (let i = 0; i < toggles; i++) {
      const ms = (await page.evaluate(`(${CLICK_AND_WAIT})(${JSON.stringify(lampId)})`)) as number;
      clicks.push(ms);
    }
    await context.close();
    clicks.sort((a, b) => a - b);
    const toggleP50Ms = round(percentile(clicks, 0.5), 1);
    const toggleP95Ms = round(percentile(clicks, 0.95), 1);
    ctx.log(`toggle click → confirmed state painted: p50 ${toggleP50Ms} ms, p95 ${toggleP95Ms} ms (${toggles} clicks)`);

    for (const d of devices) d.client.end(true);
    const figures = {
      firstPageKB,
      wholeBuildKB: wholeBuildKB(),
      firstRenderMs,
      firstContentfulPaintMs: round(percentile(paints, 0.5), 1),
      toggleP50Ms,
      toggleP95Ms,
    };
    const targetsMet = {
      firstPageKB: firstPageKB < TARGETS.firstPageKB,
      firstRenderMs: firstRenderMs < TARGETS.firstRenderMs,
      toggleP50Ms: toggleP50Ms < TARGETS.toggleP50Ms,
    };
    return { ...figures, targets: TARGETS, targetsMet };
  } finally {
    await browser.close();
    await home.cleanup();
  }
}
