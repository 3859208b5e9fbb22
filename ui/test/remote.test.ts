import { join } from 'node:path';
import type { Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, waitFor, type RelayProcess } from '../../cloud-relay/test/helpers/processes.ts';
import { startHub } from '../../hub/test/helpers/hub-process.ts';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { totpAt } from '../../hub/test/helpers/totp.ts';
import { openBrowser, screenshots, type Browser } from './helpers/browser.ts';
import {
  addMqttDevice,
  api,
  createOwner,
  type FakeDevice,
  OWNER,
  startTestHub,
  type TestHome,
} from './helpers/home.ts';

/**
 * The UI away from home: Chromium enrols on the LAN, then the hub's LAN address stops answering
 * for the page (its API requests and events socket are cut; the shell still loads) and the same
 * app works through a real relay node: login, device list, a toggle confirmed by the device, a
 * state change from the device live, a password change, two-step login on and its code at login; with the hub stopped, the relay's sealed last-known state
 * and "offline since"; with the LAN and the hub back, the page returns to the LAN; revoked, it
 * is refused and says so.
 */
describe('remote access through the relay', () => {
  const tmp = tempDir('hearth-ui-remote-');
  let relay: RelayProcess;
  let home: TestHome;
  let browser: Browser;
  let token: string;
  let lamp: FakeDevice;
  /** LAN API requests the test refused (proof that what works afterwards went through the relay). */
  const cut: string[] = [];
  /** LAN API requests let through once the LAN is back. */
  const passed: string[] = [];
  let lanCut = false;

  beforeAll(async () => {
    relay = await startRelay(['--data', join(tmp.dir, 'relay')]);
    home = await startTestHub(['--relay', relay.url]);
    token = (await createOwner(home.hub)).body.accessToken;
    await waitFor(
      async () => (home.hub.logs.some((l) => l.msg === 'relay tunnel up') ? true : undefined),
      'hub tunnel up',
    );
    lamp = await addMqttDevice(home.hub, token, 'Lamp', ['switch', 'power']);
    browser = await openBrowser();
  });

  afterAll(async () => {
    lamp?.client.end(true);
    await browser?.close();
    await home?.cleanup();
    await relay?.kill9();
    tmp.cleanup();
  });

  const tile = (name: string) => browser.page.getByRole('article', { name });
  const badge = () => browser.page.getByRole('status').filter({ hasText: 'Remote (through the relay)' });

  it('on the LAN, a logged-in user enables remote access for this browser; the hub lists the device', async () => {
    const { page } = browser;
    await page.goto(home.hub.baseUrl);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await tile('Lamp').waitFor();
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await page.getByLabel('Name of this device').fill('Test Chromium');
    await page.getByRole('button', { name: 'Enable remote access on this device' }).click();
    await page.getByText('Remote access is on for this device').waitFor();
    const listed = await api(home.hub.baseUrl, 'GET', '/api/v1/remote/devices', { token });
    expect(listed.body.map((d: { name: string }) => d.name)).toEqual(['Test Chromium']);
    expect(await badge().count()).toBe(0);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
  });

  it('with the LAN cut, the reloaded page logs in through the relay, lists and toggles the device, and follows it live', async () => {
    const { page, context } = browser;
    const lanApi = (url: URL) => url.host === `127.0.0.1:${home.hub.http}` && url.pathname.startsWith('/api/');
    lanCut = true;
    await context.route(lanApi, (route: Route) => {
      (lanCut ? cut : passed).push(route.request().url());
      return lanCut ? route.abort('internetdisconnected') : route.continue();
    });
    await context.routeWebSocket(lanApi, (ws) => {
      (lanCut ? cut : passed).push(ws.url());
      if (lanCut) return ws.close();
      ws.connectToServer();
    });

    await page.evaluate(() => {
      location.hash = '#/';
    });
    await page.reload();
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await tile('Lamp').waitFor();
    await badge().waitFor();
    expect(cut.length).toBeGreaterThan(0);

    // A tap: the command goes through the relay, the device confirms, the tile shows it.
    const toggle = tile('Lamp').getByRole('button');
    await expect(toggle.getAttribute('aria-pressed')).resolves.toBe('false');
    await toggle.click();
    await tile('Lamp').locator('[aria-pressed="true"]').waitFor();
    expect((await api(home.hub.baseUrl, 'GET', `/api/v1/devices/${lamp.id}`, { token })).body.state.switch).toBe(true);

    // The device changes by itself: the event reaches the page through the relay.
    await lamp.client.publishAsync(`hearth/${lamp.id}/state`, JSON.stringify({ switch: false }), { qos: 1 });
    await tile('Lamp').locator('[aria-pressed="false"]').waitFor();
    await lamp.telemetry({ power: 42 });
    await tile('Lamp').getByText('42.0 W').waitFor();
    await screenshots(page, 'remote-home');
  });

  it('a reload away from home stays logged in (the refresh goes through the relay)', async () => {
    const before = cut.length;
    await browser.page.reload();
    await tile('Lamp').waitFor();
    await badge().waitFor();
    expect(cut.length).toBeGreaterThan(before);
  });

  it('away from home, a person changes their own password and the page stays logged in', async () => {
    const { page } = browser;
    const changed = 'a new password, changed away';
    const change = async (current: string, next: string) => {
      await page.getByLabel('Current password').fill(current);
      await page.getByLabel('New password', { exact: true }).fill(next);
      await page.getByLabel('Repeat the new password').fill(next);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByRole('status').filter({ hasText: 'Your password is changed.' }).waitFor();
    };
    await page.evaluate(() => {
      location.hash = '#/settings';
    });
    // Still in remote mode (LAN cut): the change went through the relay.
    await badge().waitFor();
    await change(OWNER.password, changed);
    await badge().waitFor();
    const login = (password: string) =>
      api(home.hub.baseUrl, 'POST', '/api/v1/auth/login', { body: { username: OWNER.username, password } });
    expect((await login(OWNER.password)).status).toBe(401);
    expect((await login(changed)).status).toBe(200);
    // The test's own token was one of the sessions that ended.
    expect((await api(home.hub.baseUrl, 'GET', '/api/v1/me', { token })).status).toBe(401);
    await page.getByRole('link', { name: 'Home' }).click();
    await tile('Lamp').waitFor();
    // Back to the old password for the rest of the tests, with a fresh token for them.
    await page.getByRole('link', { name: 'Settings' }).click();
    await change(changed, OWNER.password);
    token = (await login(OWNER.password)).body.accessToken;
    await page.getByRole('link', { name: 'Home' }).click();
    await tile('Lamp').waitFor();
  });

  it('away from home, two-step login is turned on, and logging in through the relay asks for the code', async () => {
    const { page } = browser;
    const cutBefore = cut.length;
    await page.getByRole('link', { name: 'Settings' }).click();
    await badge().waitFor();
    await page.getByRole('button', { name: 'Turn on two-step login' }).click();
    const key = page.getByTestId('totp-secret');
    await key.waitFor();
    const secret = ((await key.textContent()) ?? '').replace(/\s/g, '');
    await page.getByLabel('Code from the app').fill(totpAt(secret, Date.now()));
    // Turning it on asks for the password too (issue 12), and ends the other sessions.
    await page.getByLabel('Password to turn it on').fill(OWNER.password);
    await page.getByRole('button', { name: 'Confirm and turn on' }).click();
    await page.getByTestId('recovery-codes').waitFor();
    await page.getByRole('button', { name: 'I have saved them' }).click();

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in', exact: true }).waitFor();
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    // The hub asked for the code (through the relay): nothing was issued for the password alone.
    const code = page.getByLabel('Code from your authenticator app');
    await code.waitFor();
    // The next step's code: the confirming one may still be current, and each step works once.
    await code.fill(totpAt(secret, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('button', { name: 'Turn off two-step login' }).waitFor();
    await badge().waitFor();
    expect(cut.length).toBeGreaterThan(cutBefore);

    // Off again for the rest of the tests, with the password, through the relay.
    await page.getByLabel('Password to turn it off').fill(OWNER.password);
    await page.getByRole('button', { name: 'Turn off two-step login' }).click();
    await page.getByRole('status').filter({ hasText: 'Two-step login is off.' }).waitFor();
    // Turning it on ended the test's own session too: a fresh token for the rest of the tests.
    token = (
      await api(home.hub.baseUrl, 'POST', '/api/v1/auth/login', {
        body: { username: OWNER.username, password: OWNER.password },
      })
    ).body.accessToken;
    expect((await api(home.hub.baseUrl, 'GET', '/api/v1/me', { token })).body.totp).toBe(false);
    await page.getByRole('link', { name: 'Home' }).click();
    await tile('Lamp').waitFor();
  });

  it('with the hub stopped, the page shows the last-known state and since when the hub is offline, also after a reload', async () => {
    const { page } = browser;
    await home.hub.stop();
    const notice = page.getByRole('status').filter({ hasText: 'Hub offline since' });
    await notice.waitFor();

    // A fresh page has nothing from the hub: the tile can only come from the relay's sealed copy.
    await page.reload();
    await notice.waitFor();
    await expect(notice.textContent()).resolves.toContain('Showing the last-known state from');
    await expect(tile('Lamp').getByRole('button').getAttribute('aria-pressed')).resolves.toBe('false');
    await badge().waitFor();
    await screenshots(page, 'remote-offline');
  });

  it('back home: with the LAN answering again and the hub restarted, the page returns to the LAN by itself', async () => {
    const { page } = browser;
    home.hub = await startHub(home.dataDir, ['--relay', relay.url, '--http-port', String(home.hub.http)]);
    lanCut = false;
    await badge().waitFor({ state: 'detached' });
    await page.getByRole('status').filter({ hasText: 'Hub offline since' }).waitFor({ state: 'detached' });
    await tile('Lamp').waitFor();
    expect(passed.some((url) => url.includes('/api/v1/events'))).toBe(true);
  });

  it('a device revoked on the hub is refused at the relay, and the page says to enable remote access again at home', async () => {
    const { page } = browser;
    const [device] = (await api(home.hub.baseUrl, 'GET', '/api/v1/remote/devices', { token })).body as { id: string }[];
    expect((await api(home.hub.baseUrl, 'DELETE', `/api/v1/remote/devices/${device!.id}`, { token })).status).toBe(204);
    lanCut = true;
    await page.reload();
    await page.getByRole('alert').filter({ hasText: 'Remote access for this device was turned off' }).waitFor();
    await expect(tile('Lamp').count()).resolves.toBe(0);
  });
});
