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

/**
 * The Energy page against the real hub: the home's power now, today's energy with each device's
 * share, a device made the mains meter (the rest shows as untracked), a tariff added through the
 * form (costs appear), standby listed; a member sees the figures but no role or tariff controls.
 */
describe('energy page', () => {
  let home: TestHome;
  let browser: Browser;
  let token: string;
  const devices: FakeDevice[] = [];

  beforeAll(async () => {
    home = await startTestHub();
    token = (await createOwner(home.hub)).body.accessToken;
    const mains = await addMqttDevice(home.hub, token, 'Mains', ['power', 'energy']);
    const kettle = await addMqttDevice(home.hub, token, 'Kettle', ['switch', 'power', 'energy']);
    const tv = await addMqttDevice(home.hub, token, 'TV', ['power', 'energy']);
    devices.push(mains, kettle, tv);
    // Today: the mains meter +4 kWh, the kettle +1.5, the TV +0.5 (2 kWh untracked).
    await mains.telemetry({ power: 900, energy: 100 });
    await kettle.telemetry({ power: 0, energy: 10 });
    await tv.telemetry({ power: 0, energy: 20 });
    await mains.telemetry({ power: 2600, energy: 104 });
    await kettle.telemetry({ power: 2000, energy: 11.5 });
    await tv.telemetry({ power: 100, energy: 20.5 });
    const member = await api(home.hub.baseUrl, 'POST', '/api/v1/users', {
      token,
      body: { username: 'member', password: 'member password 1', role: 'member' },
    });
    expect(member.status).toBe(201);

    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${home.hub.baseUrl}/#/energy`);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Energy', level: 1 }).waitFor();
  });

  afterAll(async () => {
    for (const d of devices) d.client.end(true);
    await browser?.close();
    await home?.cleanup();
  });

  it("shows the home's power now and each device's share of today", async () => {
    const { page } = browser;
    // No mains meter yet: the home is the appliances' sum.
    await page.getByTestId('power-now').filter({ hasText: '4700 W' }).waitFor();
    await page.getByTestId('energy-total').filter({ hasText: '6.00 kWh' }).waitFor();
    const kettle = page.locator('tr[data-device="Kettle"]');
    await kettle.filter({ hasText: '1.50 kWh' }).waitFor();
    await kettle.filter({ hasText: '25.0 %' }).waitFor();
  });

  it('the owner makes a device the mains meter: the untracked rest appears', async () => {
    const { page } = browser;
    await page.getByLabel('Role of Mains').selectOption('mains');
    await page.getByTestId('energy-total').filter({ hasText: '4.00 kWh, of which 2.00 kWh untracked' }).waitFor();
    await page.getByTestId('power-now').filter({ hasText: '2600 W' }).waitFor();
    await page.locator('tr[data-device="Kettle"]').filter({ hasText: '37.5 %' }).waitFor();
    const roles = await api(home.hub.baseUrl, 'GET', '/api/v1/energy/roles', { token });
    expect(Object.values(roles.body)).toEqual(['mains']);
  });

  it('adds a tariff through the form: costs appear; a bad one is refused in plain words', async () => {
    const { page } = browser;
    const form = page.getByRole('region', { name: 'Tariffs' });
    await form.getByLabel('Currency').fill('EUR');
    await form.getByLabel('Tariff name').fill('Flat');
    await form.getByLabel('Starts on').fill('2020-01-01');
    await form.getByLabel('Price per kWh').fill('0.25');
    await form.getByRole('button', { name: 'Add tariff' }).click();
    await form.getByTestId('tariff-list').filter({ hasText: 'Flat' }).waitFor();
    await page.getByTestId('energy-total').filter({ hasText: '€1.00' }).waitFor();
    await page.locator('tr[data-device="Kettle"]').filter({ hasText: '€0.38' }).waitFor();
    // A second tariff on the same day: the hub refuses it with its code, shown in plain words.
    await form.getByLabel('Tariff name').fill('Again');
    await form.getByLabel('Starts on').fill('2020-01-01');
    await form.getByLabel('Price per kWh').fill('0.3');
    await form.getByRole('button', { name: 'Add tariff' }).click();
    await form.getByRole('alert').filter({ hasText: 'Two tariffs start on the same day' }).waitFor();
    const plan = await api(home.hub.baseUrl, 'GET', '/api/v1/energy/tariffs', { token });
    expect(plan.body.tariffs.map((t: { name: string }) => t.name)).toEqual(['Flat']);
  });

  it('lists standby with its method', async () => {
    const { page } = browser;
    const standby = page.getByRole('region', { name: 'Standby' });
    await standby.getByText(/percentile/).waitFor();
    // A few readings are not 6 h of history: no figure yet, and it says so.
    await standby.locator('tr[data-standby="Kettle"]').filter({ hasText: 'not enough history yet' }).waitFor();
  });

  it('a member sees the figures but no role or tariff controls', async () => {
    const { page } = browser;
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Username').fill('member');
    await page.getByLabel('Password').fill('member password 1');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Energy', level: 1 }).waitFor();
    await page.getByTestId('energy-total').filter({ hasText: '2.00 kWh untracked' }).waitFor();
    await page.getByRole('region', { name: 'Tariffs' }).getByTestId('tariff-list').waitFor();
    expect(await page.getByLabel('Role of Mains').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Add tariff' }).count()).toBe(0);
  });
});
