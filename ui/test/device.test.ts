import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
 * The device page against the real hub: live state and a toggle, the power chart drawn from the
 * history API with its range presets, the event log, rename, move to a room and remove.
 */
describe('device page', () => {
  let home: TestHome;
  let browser: Browser;
  let token: string;
  let plug: FakeDevice;
  let roomId: string;

  beforeAll(async () => {
    home = await startTestHub();
    token = (await createOwner(home.hub)).body.accessToken;
    roomId = (await api(home.hub.baseUrl, 'POST', '/api/v1/rooms', { token, body: { name: 'Kitchen' } })).body.id;
    plug = await addMqttDevice(home.hub, token, 'Kettle', ['switch', 'power', 'energy']);
    for (const [power, energy] of [
      [100, 1.0],
      [2000, 1.2],
      [1500, 1.5],
    ])
      await plug.telemetry({ power: power!, energy: energy! });

    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${home.hub.baseUrl}/#/devices/${plug.id}`);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Kettle' }).waitFor();
  });

  afterAll(async () => {
    plug?.client.end(true);
    await browser?.close();
    await home?.cleanup();
  });

  it('shows the live readings and toggles with the confirmed state', async () => {
    const { page } = browser;
    await page.locator('[data-reading="power"]').filter({ hasText: '1500.0 W' }).waitFor();
    await plug.telemetry({ power: 1750 });
    await page.locator('[data-reading="power"]').filter({ hasText: '1750.0 W' }).waitFor();
    await page.getByRole('region', { name: 'Now' }).getByRole('button').click();
    await page.getByRole('region', { name: 'Now' }).locator('[aria-pressed="true"]').waitFor();
  });

  it('draws the power history from the hub and switches ranges', async () => {
    const { page } = browser;
    // History is written in batches (about once a second): reopen the range until the
    // readings are there, as a person pressing the button again would.
    const summary = page.getByTestId('chart-summary');
    for (let i = 0; i < 20 && !/^[1-9]\d* points/.test((await summary.textContent()) ?? ''); i++) {
      await page.getByRole('button', { name: 'hour' }).click();
      await page.getByRole('button', { name: i % 2 ? 'day' : 'hour' }).click();
      await page.waitForTimeout(250);
    }
    expect(await summary.textContent()).toMatch(/^[1-9]\d* points from the (raw|minute) tier/);
    await page.locator('.chart canvas').first().waitFor();
    await page.getByRole('button', { name: 'year' }).click();
    await expect(page.getByRole('button', { name: 'year' }).getAttribute('aria-pressed')).resolves.toBe('true');
    await page
      .getByRole('region', { name: 'Energy per day' })
      .getByText(/kWh in the last 30 days/)
      .waitFor();
  });

  it('on the hour view, new readings are added to the chart as they arrive', async () => {
    const { page } = browser;
    await page.getByRole('button', { name: 'hour' }).click();
    const summary = page.getByTestId('chart-summary');
    // The hour's own points, loaded (the chart is labelled with its range once they are in).
    await page.getByRole('img', { name: /over the last hour, [1-9]\d* points/ }).waitFor();
    const before = Number((await summary.textContent())!.split(' ')[0]);
    await plug.telemetry({ power: 1234 });
    // At least one more point, without reopening the range. Not exactly one: under load a
    // reading still in flight from an earlier test may land in the same moment.
    await expect
      .poll(async () => Number(((await summary.textContent()) ?? '').split(' ')[0]), { timeout: 30_000 })
      .toBeGreaterThan(before);
  });

  it('lists the command in the event log', async () => {
    await browser.page
      .getByTestId('event-log')
      .getByText('command switch → On (confirmed) by owner')
      .waitFor({ timeout: 15_000 });
    await screenshots(browser.page, 'device');
  });

  it('renames the device and moves it to a room; the hub keeps both', async () => {
    const { page } = browser;
    await page.getByLabel('Device name').fill('Kitchen kettle');
    await page.getByLabel('Room').selectOption({ label: 'Kitchen' });
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'Kitchen kettle' }).waitFor();
    const view = await api(home.hub.baseUrl, 'GET', `/api/v1/devices/${plug.id}`, { token });
    expect(view.body).toMatchObject({ name: 'Kitchen kettle', roomId });
  });

  it('removes the device after confirmation', async () => {
    const { page } = browser;
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Remove device' }).click();
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    const view = await api(home.hub.baseUrl, 'GET', `/api/v1/devices/${plug.id}`, { token });
    expect([view.status, view.body.error.code]).toEqual([404, 'device_not_found']);
  });
});
