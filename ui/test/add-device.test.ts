import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, screenshots, type Browser } from './helpers/browser.ts';
import { api, createOwner, OWNER, startTestHub, type TestHome } from './helpers/home.ts';

/**
 * The add-device page against the real hub. With mDNS off no plug is discoverable, so pairing
 * reaches the hub and fails at its first step; the wizard must explain that failure, and catch
 * what it can check itself before asking the hub. A DIY MQTT device is created for real.
 */
describe('add device', () => {
  let home: TestHome;
  let browser: Browser;

  beforeAll(async () => {
    home = await startTestHub();
    await createOwner(home.hub);
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${home.hub.baseUrl}/#/add`);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Add a device' }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await home?.cleanup();
  });

  it('says when no plug is found, and asks for a plug before sending a bare code', async () => {
    const { page } = browser;
    await page.getByTestId('no-plugs').waitFor();
    await page.getByLabel('Setup code').fill('12345678');
    await page.getByRole('button', { name: 'Pair plug' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toBe(
      'Choose the plug from the list above, or scan its QR code.',
    );
    await screenshots(page, 'add-device');
  });

  it('a QR code naming a plug the hub cannot see is explained (404 plug_not_found)', async () => {
    const { page } = browser;
    const plug = page.getByRole('region', { name: 'Hearth plug' });
    await plug.getByLabel('Setup code').fill('HEARTH:plug-not-here:12345678');
    await plug.getByLabel('Name').fill('Desk lamp');
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/v1/plugs/') && r.request().method() === 'POST'),
      plug.getByRole('button', { name: 'Pair plug' }).click(),
    ]);
    expect(res.status()).toBe(404);
    await page.getByRole('alert').filter({ hasText: 'The hub cannot see that plug' }).waitFor();
  });

  it('a DIY MQTT device is created and its one-time credentials are shown', async () => {
    const { page } = browser;
    await page.getByRole('region', { name: 'DIY device over MQTT' }).getByLabel('Name').fill('Garage door');
    await page.getByRole('checkbox', { name: 'contact' }).check();
    await page.getByRole('button', { name: 'Add device' }).click();
    await page.getByText('Garage door was added').waitFor();
    const password = await page.locator('dd code').nth(1).textContent();
    expect(password?.length).toBeGreaterThan(8);
    const token = (await api(home.hub.baseUrl, 'POST', '/api/v1/auth/login', { body: OWNER })).body.accessToken;
    const list = await api(home.hub.baseUrl, 'GET', '/api/v1/devices', { token });
    expect(list.body).toEqual([
      expect.objectContaining({ name: 'Garage door', driver: 'mqtt', capabilities: ['switch', 'contact'] }),
    ]);
    // The client id it must use (a device may connect only as its own id) is its device id.
    expect(await page.locator('dd code').nth(2).textContent()).toBe(list.body[0].id);
  });
});
