import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startRelay, waitFor, type RelayProcess } from '../../cloud-relay/test/helpers/processes.ts';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { openBrowser, screenshots, type Browser } from './helpers/browser.ts';
import { addMqttDevice, api, createOwner, type FakeDevice, startTestHub, type TestHome } from './helpers/home.ts';

const UI_DIST = fileURLToPath(new URL('../dist', import.meta.url));
const MIA = { username: 'mia', password: 'mias long password' };

/**
 * A phone away from home: Mia makes an invite on the LAN (Settings → Away from home), and a
 * browser that has never been on the home network opens the link on the relay's web origin
 * (a secure context, so its service worker runs and the app can be installed), sets itself up,
 * logs in as Mia through the relay and toggles a device. Real relay node serving the real build,
 * real hub, real Chromium; the phone's browser is a separate profile that never reaches the hub.
 */
describe('the app on the relay origin, set up by an invite link', () => {
  const tmp = tempDir('hearth-ui-invite-');
  let relay: RelayProcess;
  let home: TestHome;
  let lan: Browser;
  let phone: Browser;
  let token: string;
  let lamp: FakeDevice;
  let link = '';
  /** Requests the phone made to the hub's LAN address: there must be none. */
  const phoneToHub: string[] = [];

  beforeAll(async () => {
    relay = await startRelay(['--data', join(tmp.dir, 'relay'), '--ui', UI_DIST]);
    home = await startTestHub(['--relay', relay.url]);
    token = (await createOwner(home.hub)).body.accessToken;
    expect(
      (await api(home.hub.baseUrl, 'POST', '/api/v1/users', { token, body: { ...MIA, role: 'member' } })).status,
    ).toBe(201);
    await waitFor(
      async () => (home.hub.logs.some((l) => l.msg === 'relay tunnel up') ? true : undefined),
      'hub tunnel up',
    );
    lamp = await addMqttDevice(home.hub, token, 'Lamp', ['switch', 'power']);
    lan = await openBrowser();
    phone = await openBrowser({ width: 360, height: 740 });
    phone.context.on('request', (request) => {
      if (new URL(request.url()).port === String(home.hub.http)) phoneToHub.push(request.url());
    });
  });

  afterAll(async () => {
    lamp?.client.end(true);
    await lan?.close();
    await phone?.close();
    await home?.cleanup();
    await relay?.kill9();
    tmp.cleanup();
  });

  it('on the LAN, Mia makes an invite: a link on the relay origin and its QR code; it is listed as open', async () => {
    const { page } = lan;
    await page.goto(home.hub.baseUrl);
    await page.getByLabel('Username').fill(MIA.username);
    await page.getByLabel('Password').fill(MIA.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('article', { name: 'Lamp' }).waitFor();
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await page.getByLabel('Name of the invited device (optional)').fill("Mia's phone");
    await page.getByRole('button', { name: 'Make an invite link' }).click();
    const field = page.getByLabel('Invite link');
    await field.waitFor();
    link = await field.inputValue();
    expect(link.startsWith(`http://127.0.0.1:${relay.port}/#invite=`)).toBe(true);
    const qr = page.getByRole('img', { name: 'QR code of the invite link' });
    expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    await page.getByRole('list', { name: 'Open invites' }).getByText("Mia's phone (mia)").waitFor();
    await screenshots(page, 'settings-invite');
  });

  it('a browser with no invite on the relay origin says how to get one', async () => {
    const { page } = phone;
    await page.goto(`http://127.0.0.1:${relay.port}/`);
    await page.getByRole('heading', { name: 'This device is not set up yet' }).waitFor();
  });

  it('the phone opens the link, sets itself up, logs in as Mia through the relay and toggles the lamp', async () => {
    const { page } = phone;
    await page.goto(link);
    await page.getByRole('heading', { name: 'Set up this device' }).waitFor();
    await page.getByLabel('Name of this device').fill('Pixel');
    await page.getByRole('button', { name: 'Set up this device' }).click();
    // The login form, with Mia's name filled in; the link is gone from the address bar.
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    expect(await page.getByLabel('Username').inputValue()).toBe(MIA.username);
    expect(page.url()).not.toContain('invite=');
    await page.getByLabel('Password').fill(MIA.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    const tile = page.getByRole('article', { name: 'Lamp' });
    await tile.waitFor();
    await page.getByRole('status').filter({ hasText: 'Remote (through the relay)' }).waitFor();
    await tile.getByRole('button').click();
    await tile.locator('[aria-pressed="true"]').waitFor();
    expect((await api(home.hub.baseUrl, 'GET', `/api/v1/devices/${lamp.id}`, { token })).body.state.switch).toBe(true);
    // Listed at the hub as Mia's device under the name typed on the phone; the invite is used up.
    const devices = (await api(home.hub.baseUrl, 'GET', '/api/v1/remote/devices', { token })).body as {
      name: string;
      username: string;
    }[];
    expect(devices).toContainEqual(expect.objectContaining({ name: 'Pixel', username: MIA.username }));
    expect((await api(home.hub.baseUrl, 'GET', '/api/v1/remote/invites', { token })).body).toEqual([]);
    expect(phoneToHub).toEqual([]);
    // The link gave the phone no home key; its login through the relay did, and the app kept it
    // (so it can open the relay's last-known state when the hub is away).
    expect(await storedHomeKey(page)).toMatch(/^[A-Za-z0-9+/]{100,}={0,2}$/);
    await screenshots(page, 'relay-origin-home');
  });

  it('on the relay origin the service worker runs, so a reload comes from the installed app and stays logged in', async () => {
    const { page } = phone;
    expect(await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL)).toBe(
      `http://127.0.0.1:${relay.port}/sw.js`,
    );
    await page.reload();
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
    await page.getByRole('article', { name: 'Lamp' }).waitFor();
  });

  it('the phone’s Settings say remote access is on here and that invites are made at home', async () => {
    const { page } = phone;
    await page.goto(`http://127.0.0.1:${relay.port}/#/settings`);
    await page.getByText('Remote access is on for this device').waitFor();
    await page.getByText('Invites for other devices are made at home').waitFor();
    expect(await page.getByRole('button', { name: 'Make an invite link' }).count()).toBe(0);
    await page.goto(`http://127.0.0.1:${relay.port}/#/`);
  });

  it('the same link again, in another browser, says it was already used', async () => {
    const other = await openBrowser();
    try {
      await other.page.goto(link);
      await other.page.getByRole('button', { name: 'Set up this device' }).click();
      await other.page
        .getByRole('alert')
        .filter({ hasText: 'This invite was already used, withdrawn, or has expired' })
        .waitFor();
    } finally {
      await other.close();
    }
  });

  it('revoked at home, the phone is refused and told to ask for a new invite', async () => {
    const devices = (await api(home.hub.baseUrl, 'GET', '/api/v1/remote/devices', { token })).body as {
      id: string;
      name: string;
    }[];
    const pixel = devices.find((d) => d.name === 'Pixel')!;
    expect((await api(home.hub.baseUrl, 'DELETE', `/api/v1/remote/devices/${pixel.id}`, { token })).status).toBe(204);
    await phone.page.reload();
    await phone.page.getByRole('alert').filter({ hasText: 'Ask for a new invite link at home' }).waitFor();
  });
});

/** The sealed home key this browser keeps in its remote identity (IndexedDB, ui/src/api/keystore.ts). */
function storedHomeKey(page: Page): Promise<string | null> {
  return page.evaluate(
    () =>
      new Promise<string | null>((resolve, reject) => {
        const open = indexedDB.open('hearth-remote', 1);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const get = open.result.transaction('identity', 'readonly').objectStore('identity').get('device');
          get.onerror = () => reject(get.error);
          get.onsuccess = () => {
            resolve((get.result as { homeKey: string | null } | undefined)?.homeKey ?? null);
            open.result.close();
          };
        };
      }),
  );
}
