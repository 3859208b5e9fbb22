import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, type Browser } from './helpers/browser.ts';
import {
  addMqttDevice,
  api,
  createOwner,
  type FakeDevice,
  OWNER,
  startTestHub,
  type TestHome,
} from './helpers/home.ts';

const GUEST = { username: 'cleaner', password: 'cleaners long password' };

/**
 * Sharing in the UI against the real hub: Settings → People shows per person what they can reach
 * (a member everything, a guest what is shared), the owner shares one plug with the guest there
 * and ends it; the device page lists who can reach the device and how. What the hub then answers
 * the guest is checked through its API.
 */
describe('sharing in the UI', () => {
  let home: TestHome;
  let browser: Browser;
  let guestBrowser: Browser | undefined;
  let token: string;
  let guestToken: string;
  let plug: FakeDevice;
  let heater: FakeDevice;

  beforeAll(async () => {
    home = await startTestHub();
    token = (await createOwner(home.hub)).body.accessToken;
    for (const [person, role] of [
      [GUEST, 'guest'],
      [{ username: 'teen', password: 'teens long password' }, 'member'],
    ] as const) {
      expect((await api(home.hub.baseUrl, 'POST', '/api/v1/users', { token, body: { ...person, role } })).status).toBe(
        201,
      );
    }
    guestToken = (await api(home.hub.baseUrl, 'POST', '/api/v1/auth/login', { body: GUEST })).body.accessToken;
    plug = await addMqttDevice(home.hub, token, 'Kitchen plug');
    heater = await addMqttDevice(home.hub, token, 'Bedroom heater');
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'People' }).waitFor();
  });

  afterAll(async () => {
    for (const d of [plug, heater]) d?.client.end(true);
    await guestBrowser?.close();
    await browser?.close();
    await home?.cleanup();
  });

  const guestDevices = async () =>
    ((await api(home.hub.baseUrl, 'GET', '/api/v1/devices', { token: guestToken })).body as { id: string }[]).map(
      (d) => d.id,
    );

  it('shares a plug with a guest from People, shows it per person and per device, and ends it', async () => {
    const { page } = browser;
    await page.getByTestId('reach-teen').filter({ hasText: 'Reaches every device' }).waitFor();
    const reach = page.getByTestId('reach-cleaner');
    await reach.getByText('Nothing is shared with cleaner yet.').waitFor();
    expect(await guestDevices()).toEqual([]);

    await page.getByLabel('Share with cleaner').selectOption({ label: 'Kitchen plug' });
    await page.getByLabel('Access for cleaner').selectOption('control');
    await reach.getByRole('button', { name: 'Share', exact: true }).click();
    await reach
      .getByTestId('share')
      .filter({ hasText: 'Kitchen plug' })
      .filter({ hasText: 'View and control' })
      .waitFor();
    expect(await guestDevices()).toEqual([plug.id]);
    const on = await api(home.hub.baseUrl, 'POST', `/api/v1/devices/${plug.id}/commands`, {
      token: guestToken,
      body: { capability: 'switch', value: true },
    });
    expect(on.status).toBe(200);

    // The guest's own home page: the plug alone, and its toggle works (the share allows control).
    const guestPage = (guestBrowser = await openBrowser()).page;
    await guestPage.goto(`${home.hub.baseUrl}/#/`);
    await guestPage.getByLabel('Username').fill(GUEST.username);
    await guestPage.getByLabel('Password').fill(GUEST.password);
    await guestPage.getByRole('button', { name: 'Log in' }).click();
    const tile = guestPage.getByRole('article', { name: 'Kitchen plug' });
    await tile.locator('[aria-pressed="true"]').waitFor();
    expect(await guestPage.getByRole('article', { name: 'Bedroom heater' }).count()).toBe(0);
    await tile.getByRole('button').click();
    await tile.locator('[aria-pressed="false"]').waitFor();

    // Per device: the owner and the member by role, the guest by the share.
    await page.goto(`${home.hub.baseUrl}/#/devices/${plug.id}`);
    await page.getByRole('heading', { name: 'Who can reach it' }).waitFor();
    const people = page.getByTestId('reach-person');
    await people.filter({ hasText: 'cleaner' }).waitFor();
    expect(await people.allTextContents()).toEqual([
      'owner (owner): view and control, by role',
      'teen (member): view and control, by role',
      'cleaner (guest): view and control, shared directly',
    ]);
    await page.goto(`${home.hub.baseUrl}/#/devices/${heater.id}`);
    await page.getByRole('heading', { name: 'Who can reach it' }).waitFor();
    await people.first().waitFor();
    expect((await people.allTextContents()).some((t) => t.includes('cleaner'))).toBe(false);

    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await reach.getByRole('button', { name: 'Stop sharing Kitchen plug' }).click();
    await reach.getByText('Nothing is shared with cleaner yet.').waitFor();
    expect(await guestDevices()).toEqual([]);
    // The guest's open page drops the plug at once (its events stream hears it is gone).
    await tile.waitFor({ state: 'detached' });
  });
});
