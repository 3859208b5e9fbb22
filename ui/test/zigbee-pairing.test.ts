import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../hub/test/helpers/poll.ts';
import { ZStackCoordinator } from '../../hub/test/helpers/zstack-coordinator.ts';
import { openBrowser, screenshots, type Browser } from './helpers/browser.ts';
import { api, createOwner, OWNER, startTestHub, type TestHome } from './helpers/home.ts';

const ON_OFF = 0x0006;
const PLUG_IEEE = '00158d0000c0ffee';
const PLUG_ID = `zb-${PLUG_IEEE}`;

/**
 * Pairing a Zigbee device from the Add device page against the real hub
 * (`--zigbee tcp://...`), zigbee-herdsman and the Zigbee driver running for real against the
 * emulated Z-Stack coordinator (hub/test/helpers/zstack-coordinator.ts): the admin opens the
 * network, the emulated plug joins, the page follows it to "added" with a link, the plug switches
 * from the home page (a ZCL On reaches the radio), and Stop closes the network.
 */
describe('pairing a Zigbee device', () => {
  const emulator = new ZStackCoordinator();
  let home: TestHome;
  let browser: Browser;
  let token: string;
  const zigbee = async () => (await api(home.hub.baseUrl, 'GET', '/api/v1/zigbee', { token })).body;

  beforeAll(async () => {
    await emulator.listen();
    home = await startTestHub(['--zigbee', emulator.url]);
    token = (await createOwner(home.hub)).body.accessToken;
    await pollUntil('the zigbee coordinator to run', async () => (await zigbee()).state === 'running' || undefined);
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${home.hub.baseUrl}/#/add`);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Add a device' }).waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await home?.cleanup();
    await emulator.close();
  });

  const section = () => browser.page.getByRole('region', { name: 'Pair a Zigbee device' });

  it('an admin starts pairing: the network opens and the countdown shows', async () => {
    await section().getByRole('button', { name: 'Start pairing' }).click();
    await section().getByTestId('zigbee-countdown').waitFor();
    await expect(section().getByTestId('zigbee-countdown').textContent()).resolves.toMatch(/^[12]:\d\d$/);
    await section().getByText('hold its button for 5 seconds').waitFor();
    expect(emulator.permitJoinSeconds).toBe(120);
    expect(await zigbee()).toMatchObject({ state: 'running', permitJoin: true });
    await section().getByRole('button', { name: 'Stop' }).waitFor();
  });

  it('the plug that joins is listed until it is added, with a link to its page', async () => {
    emulator.join({
      ieee: PLUG_IEEE,
      nwkAddr: 0x5a01,
      manufacturerName: 'Acme',
      modelId: 'SP-120',
      inClusters: [0x0000, ON_OFF],
      attributes: { [ON_OFF]: { 0x0000: { type: 0x10, value: false } } },
    });
    const row = section().locator(`li[data-ieee="0x${PLUG_IEEE}"][data-status="added"]`);
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain('Added: Acme SP-120');
    // A device with nothing Hearth can switch or read is listed as not added, and why.
    emulator.join({
      ieee: '00158d0000c0ffef',
      nwkAddr: 0x5a02,
      manufacturerName: 'Acme',
      modelId: 'RC-1',
      inClusters: [0x0000],
    });
    const odd = section().locator('li[data-ieee="0x00158d0000c0ffef"][data-status="unsupported"]');
    await odd.waitFor();
    await expect(odd.textContent()).resolves.toContain('nothing Hearth can switch or read');
    await screenshots(browser.page, 'zigbee-pairing');
    await row.getByRole('link', { name: 'Acme SP-120' }).click();
    await browser.page.getByRole('heading', { name: 'Acme SP-120' }).waitFor();
    expect(new URL(browser.page.url()).hash).toBe(`#/devices/${PLUG_ID}`);
    await browser.page.getByRole('region', { name: 'Now' }).getByRole('button', { name: 'Off' }).waitFor();
  });

  it('the new plug switches on from the home page: a ZCL On reaches the radio', async () => {
    const { page } = browser;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();
    const tile = page.getByRole('article', { name: 'Acme SP-120' });
    const since = emulator.sent.length;
    await tile.getByRole('button').click();
    const on = await emulator.nextSent((s) => s.clusterId === ON_OFF && s.zcl.clusterSpecific, since);
    expect(on).toMatchObject({ nwkAddr: 0x5a01, zcl: { commandId: 0x01 } });
    await tile.locator('[aria-pressed="true"]').waitFor();
    expect((await api(home.hub.baseUrl, 'GET', `/api/v1/devices/${PLUG_ID}`, { token })).body.state.switch).toBe(true);
  });

  it('back on Add device the open network still counts down, and Stop closes it', async () => {
    const { page } = browser;
    await page.goto(`${home.hub.baseUrl}/#/add`);
    await section().getByTestId('zigbee-countdown').waitFor();
    await section().getByRole('button', { name: 'Stop' }).click();
    await section().getByRole('button', { name: 'Start pairing' }).waitFor();
    expect(await zigbee()).toMatchObject({ permitJoin: false });
    expect(emulator.permitJoinSeconds).toBe(0);
  });

  it('a member sees no Zigbee pairing (the hub keeps the network to admins)', async () => {
    const member = { username: 'kim', password: 'member password 1' };
    expect(
      (await api(home.hub.baseUrl, 'POST', '/api/v1/users', { token, body: { ...member, role: 'member' } })).status,
    ).toBe(201);
    const other = await openBrowser();
    try {
      const { page } = other;
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/api/v1/zigbee')),
        (async () => {
          await page.goto(`${home.hub.baseUrl}/#/add`);
          await page.getByLabel('Username').fill(member.username);
          await page.getByLabel('Password').fill(member.password);
          await page.getByRole('button', { name: 'Log in' }).click();
        })(),
      ]);
      expect(res.status()).toBe(403);
      await page.getByRole('heading', { name: 'DIY device over MQTT' }).waitFor();
      await expect(page.getByRole('button', { name: 'Start pairing' }).count()).resolves.toBe(0);
      await expect(page.getByText('Zigbee').count()).resolves.toBe(0);
    } finally {
      await other.close();
    }
  });
});

describe('a Zigbee radio that does not answer', () => {
  const emulator = new ZStackCoordinator();
  let home: TestHome;
  let browser: Browser;
  let token: string;
  const zigbee = async () => (await api(home.hub.baseUrl, 'GET', '/api/v1/zigbee', { token })).body;
  const section = () => browser.page.getByRole('region', { name: 'Pair a Zigbee device' });

  beforeAll(async () => {
    await emulator.listen();
    emulator.refuseConnections = true;
    home = await startTestHub(['--zigbee', emulator.url]);
    token = (await createOwner(home.hub)).body.accessToken;
    await pollUntil('the first attempt to fail', async () => (await zigbee()).state === 'failed' || undefined);
    browser = await openBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await home?.cleanup();
    await emulator.close();
  });

  it('is explained in a plain sentence, and the page offers pairing once the radio runs', async () => {
    const { page } = browser;
    await page.goto(`${home.hub.baseUrl}/#/add`);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await section().getByText('The hub cannot reach its Zigbee radio').waitFor();
    await expect(section().getByRole('button', { name: 'Start pairing' }).count()).resolves.toBe(0);
    await screenshots(page, 'zigbee-pairing-no-radio');
    emulator.refuseConnections = false;
    await section().getByRole('button', { name: 'Start pairing' }).waitFor({ timeout: 45_000 });
  }, 60_000);

  it('a radio lost since the page loaded: starting pairing answers 503 not_ready, in plain words', async () => {
    emulator.refuseConnections = true;
    emulator.disconnect();
    await pollUntil('the hub to notice', async () => (await zigbee()).state !== 'running' || undefined);
    const [res] = await Promise.all([
      browser.page.waitForResponse((r) => r.url().endsWith('/api/v1/zigbee/permit-join')),
      section().getByRole('button', { name: 'Start pairing' }).click(),
    ]);
    expect(res.status()).toBe(503);
    expect((await res.json()).error.code).toBe('not_ready');
    await section().getByRole('alert').filter({ hasText: 'The Zigbee radio is not ready' }).waitFor();
    await section().getByText('The hub cannot reach its Zigbee radio').waitFor();
  });
});

describe('a hub without Zigbee', () => {
  let home: TestHome;
  let browser: Browser;

  beforeAll(async () => {
    home = await startTestHub();
    await createOwner(home.hub);
    browser = await openBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await home?.cleanup();
  });

  it('has no Zigbee section on Add device', async () => {
    const { page } = browser;
    const [status] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/zigbee')),
      (async () => {
        await page.goto(`${home.hub.baseUrl}/#/add`);
        await page.getByLabel('Username').fill(OWNER.username);
        await page.getByLabel('Password').fill(OWNER.password);
        await page.getByRole('button', { name: 'Log in' }).click();
      })(),
    ]);
    expect(await status.json()).toMatchObject({ state: 'off' });
    await page.getByRole('heading', { name: 'DIY device over MQTT' }).waitFor();
    await expect(page.getByText('Zigbee').count()).resolves.toBe(0);
  });
});
