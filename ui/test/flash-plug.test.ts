import { createHash, randomBytes } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5Hex } from '../src/flash/md5.ts';
import { CHROMIUM, openBrowser, screenshots, type Browser } from './helpers/browser.ts';
import { createOwner, OWNER, startTestHub, type TestHome } from './helpers/home.ts';

/**
 * Settings → Flash a plug in real Chromium against the real hub: where the browser has Web
 * Serial (Chromium on a computer, on a secure page: 127.0.0.1 is one) the form is offered; where it
 * has none (Firefox, Safari, phones: Web Serial removed from the page) and on an insecure page
 * (the hub reached by a .local name over http) the card says plainly why not and what to use.
 * Flashing itself is covered by hub/test/flash/ (the same flasher, over a serial emulator).
 */
describe('flash a plug from the browser', () => {
  let home: TestHome;
  let browser: Browser;

  const logIn = async (page: Browser['page'], base: string) => {
    await page.goto(`${base}/#/settings`);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Flash a plug' }).waitFor();
  };

  beforeAll(async () => {
    home = await startTestHub();
    await createOwner(home.hub);
    browser = await openBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await home?.cleanup();
  });

  it('offers flashing where Web Serial exists', async () => {
    const { page } = browser;
    await logIn(page, home.hub.baseUrl);
    expect(await page.evaluate(() => window.isSecureContext && 'serial' in navigator)).toBe(true);
    await page.getByRole('button', { name: 'Choose the port and flash' }).waitFor();
    expect(await page.getByTestId('flash-unavailable').count()).toBe(0);
  });

  it('says plainly that a browser without Web Serial cannot flash, and what to use instead', async () => {
    const { page } = browser;
    // What Firefox, Safari and phone browsers are: no navigator.serial at all.
    await page.addInitScript(() => {
      delete (Navigator.prototype as { serial?: unknown }).serial;
    });
    await page.reload();
    const note = page.getByTestId('flash-unavailable');
    await note.waitFor();
    expect(await note.getAttribute('data-reason')).toBe('no-web-serial');
    expect(await note.textContent()).toMatch(/Firefox, Safari and every browser on phones/);
    expect(await note.textContent()).toContain('hearth-admin flash-plug');
    expect(await page.getByRole('button', { name: 'Choose the port and flash' }).count()).toBe(0);
    await screenshots(page, 'flash-plug-unavailable');
  });

  it('says that an http:// page (the hub by its .local name) is not secure enough for Web Serial', async () => {
    // A real insecure context: the hub reached by its mDNS name over plain http, as homes do.
    const name = `${hostname()}.local`;
    const profile = mkdtempSync(join(tmpdir(), 'hearth-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        `--host-resolver-rules=MAP ${name} 127.0.0.1`,
      ],
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await logIn(page, home.hub.baseUrl.replace('127.0.0.1', name));
      expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
      const note = page.getByTestId('flash-unavailable');
      expect(await note.getAttribute('data-reason')).toBe('insecure');
      expect(await note.textContent()).toContain('hearth-admin flash-plug');
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });

  it('computes MD5 as the ROM does, for the verify step (the browser has no MD5)', () => {
    for (const n of [0, 55, 56, 64, 1000, 65_537]) {
      const d = randomBytes(n);
      expect(md5Hex(new Uint8Array(d))).toBe(createHash('md5').update(d).digest('hex'));
    }
  });
});
