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
 * Scenes on the home page against the real hub: save how the switches are set now, change
 * them, bring the scene back with one tap (each device confirms), and a device that is offline
 * is named in the outcome in plain words.
 */
describe('scenes', () => {
  let home: TestHome;
  let browser: Browser;
  let token: string;
  let lamp: FakeDevice;
  let fan: FakeDevice;

  beforeAll(async () => {
    home = await startTestHub();
    token = (await createOwner(home.hub)).body.accessToken;
    lamp = await addMqttDevice(home.hub, token, 'Lamp', ['switch']);
    fan = await addMqttDevice(home.hub, token, 'Fan', ['switch']);
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(home.hub.baseUrl);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Scenes' }).waitFor();
  });

  afterAll(async () => {
    for (const d of [lamp, fan]) d?.client.end(true);
    await browser?.close();
    await home?.cleanup();
  });

  const tile = (name: string) => browser.page.getByRole('article', { name });

  it('saves the switches as they are and brings them back with one tap', async () => {
    const { page } = browser;
    for (const name of ['Lamp', 'Fan']) {
      await tile(name).getByRole('button').click();
      await tile(name).locator('[aria-pressed="true"]').waitFor();
    }
    await tile('Fan').getByRole('button').click();
    await tile('Fan').locator('[aria-pressed="false"]').waitFor();

    page.once('dialog', (dialog) => void dialog.accept('Evening'));
    await page.getByRole('button', { name: 'Save as scene' }).click();
    await page.getByRole('button', { name: 'Evening' }).waitFor();
    const scenes = await api(home.hub.baseUrl, 'GET', '/api/v1/scenes', { token });
    expect(scenes.body).toEqual([
      expect.objectContaining({
        name: 'Evening',
        states: expect.arrayContaining([
          { device: lamp.id, capability: 'switch', value: true },
          { device: fan.id, capability: 'switch', value: false },
        ]),
      }),
    ]);

    await tile('Lamp').getByRole('button').click();
    await tile('Lamp').locator('[aria-pressed="false"]').waitFor();
    await page.getByRole('button', { name: 'Evening' }).click();
    await page.getByTestId('scene-outcome').filter({ hasText: 'Evening: done (2 of 2 devices).' }).waitFor();
    await tile('Lamp').locator('[aria-pressed="true"]').waitFor();
    await screenshots(page, 'scenes');
  });

  it('names a device that could not follow, in plain words', async () => {
    const { page } = browser;
    fan.client.stream.destroy();
    await tile('Fan').getByText('Offline', { exact: true }).first().waitFor();
    await page.getByRole('button', { name: 'Evening' }).click();
    await page
      .getByTestId('scene-outcome')
      .filter({ hasText: 'Evening: 1 of 2 devices done. Fan: The device is offline.' })
      .waitFor();
  });
});
