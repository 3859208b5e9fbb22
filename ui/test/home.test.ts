import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../hub/test/helpers/temp.ts';
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
 * The home page against the real hub with MQTT devices played by a test client: a tap toggles
 * and shows what the device confirmed, telemetry moves the power reading live, a device that
 * does not answer or is offline is explained in plain words, availability shows at a glance.
 */
describe('home page', () => {
  let home: TestHome;
  let browser: Browser;
  let token: string;
  let lamp: FakeDevice;
  let heater: FakeDevice;
  const cfg = tempDir('hearth-ui-cfg-');

  beforeAll(async () => {
    const config = join(cfg.dir, 'config.json');
    // A short command timeout so the "did not answer" case stays quick.
    writeFileSync(config, JSON.stringify({ devices: { commandTimeoutMs: 1500 } }));
    home = await startTestHub(['--config', config]);
    const setup = await createOwner(home.hub);
    token = setup.body.accessToken;
    const room = await api(home.hub.baseUrl, 'POST', '/api/v1/rooms', { token, body: { name: 'Living room' } });
    lamp = await addMqttDevice(home.hub, token, 'Lamp', ['switch', 'power'], room.body.id);
    heater = await addMqttDevice(home.hub, token, 'Heater', ['switch', 'power']);

    browser = await openBrowser();
    const { page } = browser;
    await page.goto(home.hub.baseUrl);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Living room' }).waitFor();
  });

  afterAll(async () => {
    for (const d of [lamp, heater]) d?.client.end(true);
    await browser?.close();
    await home?.cleanup();
    cfg.cleanup();
  });

  const tile = (name: string) => browser.page.getByRole('article', { name });

  it('a tap switches the device on and shows the state the device confirmed', async () => {
    const toggle = tile('Lamp').getByRole('button');
    await expect(toggle.getAttribute('aria-pressed')).resolves.toBe('false');
    await toggle.click();
    await tile('Lamp').locator('[aria-pressed="true"]').waitFor();
    await expect(toggle.textContent()).resolves.toContain('On');
    // The hub holds the same state: the page showed what the device reported, not a guess.
    const view = await api(home.hub.baseUrl, 'GET', `/api/v1/devices/${lamp.id}`, { token });
    expect(view.body.state.switch).toBe(true);

    await toggle.click();
    await tile('Lamp').locator('[aria-pressed="false"]').waitFor();
  });

  it('power readings from the device move the value on the tile live', async () => {
    await lamp.telemetry({ power: 12.5 });
    await tile('Lamp').getByText('12.5 W').waitFor();
    await lamp.telemetry({ power: 61 });
    await tile('Lamp').getByText('61.0 W').waitFor();
    await screenshots(browser.page, 'home');
  });

  it('a device that does not confirm is explained (504 device_timeout) and keeps its old state', async () => {
    heater.mute();
    await tile('Heater').getByRole('button').click();
    await tile('Heater').getByRole('alert').filter({ hasText: 'did not answer in time' }).waitFor();
    await expect(tile('Heater').getByRole('button').getAttribute('aria-pressed')).resolves.toBe('false');
  });

  it('an offline device shows as offline, and a command to it says so (503 device_unavailable)', async () => {
    // The device's connection drops: the broker publishes its Last Will (offline).
    heater.client.stream.destroy();
    await tile('Heater').getByText('Offline', { exact: true }).first().waitFor();
    await browser.page.getByText('2 devices, 1 offline').waitFor();
    await tile('Heater').getByRole('button').click();
    await tile('Heater').getByRole('alert').filter({ hasText: 'The device is offline' }).waitFor();
  });
});
