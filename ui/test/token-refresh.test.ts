import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { openBrowser, type Browser } from './helpers/browser.ts';
import { addMqttDevice, createOwner, type FakeDevice, OWNER, startTestHub, type TestHome } from './helpers/home.ts';

/** The shortest access token the hub allows, so expiry happens within the test. */
const ACCESS_TTL_S = 30;

/**
 * Staying logged in with rotating refresh tokens: two tabs reloading at the same moment must not
 * present the same refresh token twice (the hub would revoke the session family), and after the
 * access token expired the events stream (closed 4401 by the hub) and commands carry on with a
 * refreshed token, without the person noticing.
 */
describe('token refresh', () => {
  let home: TestHome;
  let browser: Browser;
  let plug: FakeDevice;
  const cfg = tempDir('hearth-ui-cfg-');

  beforeAll(async () => {
    const config = join(cfg.dir, 'config.json');
    writeFileSync(config, JSON.stringify({ auth: { accessTokenTtlS: ACCESS_TTL_S } }));
    home = await startTestHub(['--config', config]);
    const token = (await createOwner(home.hub)).body.accessToken;
    plug = await addMqttDevice(home.hub, token, 'Lamp', ['switch', 'power']);
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(home.hub.baseUrl);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Home' }).waitFor();
  });

  afterAll(async () => {
    plug?.client.end(true);
    await browser?.close();
    await home?.cleanup();
    cfg.cleanup();
  });

  it('two tabs reloading together both stay logged in', async () => {
    const second = await browser.context.newPage();
    const refreshes: number[] = [];
    for (const p of [browser.page, second])
      p.on('response', (r) => {
        if (r.url().endsWith('/auth/refresh')) refreshes.push(r.status());
      });
    await Promise.all([browser.page.goto(home.hub.baseUrl), second.goto(home.hub.baseUrl)]);
    for (const p of [browser.page, second]) await p.getByRole('heading', { name: 'Home' }).waitFor();
    expect(refreshes).toEqual([200, 200]);
    await second.close();
    // Still one live session: a reload refreshes once more without being sent to the login page.
    await browser.page.reload();
    await browser.page.getByRole('heading', { name: 'Home' }).waitFor();
  });

  it('after the access token expired, live updates and commands carry on', async () => {
    const { page } = browser;
    const opened: string[] = [];
    page.on('websocket', (ws) => opened.push(ws.url()));
    await page.waitForTimeout((ACCESS_TTL_S + 3) * 1000);
    // The hub closed the stream at expiry; the page opened a new one with a fresh token.
    expect(opened.filter((url) => url.includes('/api/v1/events?token=')).length).toBeGreaterThanOrEqual(1);
    await plug.telemetry({ power: 33 });
    await page.getByRole('article', { name: 'Lamp' }).getByText('33.0 W').waitFor();
    await page.getByRole('article', { name: 'Lamp' }).getByRole('button').click();
    await page.getByRole('article', { name: 'Lamp' }).locator('[aria-pressed="true"]').waitFor();
    expect(await page.getByRole('heading', { name: 'Log in' }).count()).toBe(0);
  });
});
