import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hexToHueSaturation, hexToXy } from '../src/components/colour.ts';
import { openBrowser, type Browser } from './helpers/browser.ts';
import { addMqttDevice, createOwner, type FakeDevice, OWNER, startTestHub, type TestHome } from './helpers/home.ts';

/**
 * Issue 19's controls on the device page, against the real hub and MQTT devices that confirm
 * what they are told: a colour picker, a cover slider with open/stop/close, a thermostat, a
 * lock that asks first, and a choice for power-on behaviour. Asserts the commands that reach the
 * devices over MQTT and the confirmed state the page shows.
 */
describe('device controls for colour, covers, climate and locks', () => {
  let home: TestHome;
  let browser: Browser;
  let token: string;
  const received: Record<string, Array<[string, unknown]>> = {};
  const devices: FakeDevice[] = [];

  const add = async (name: string, capabilities: string[]) => {
    const device = await addMqttDevice(home.hub, token, name, capabilities);
    received[device.id] = [];
    device.client.on('message', (topic, payload) => {
      if (topic !== `hearth/${device.id}/cmd`) return;
      const cmd = JSON.parse(payload.toString()) as { capability: string; value: unknown };
      received[device.id]!.push([cmd.capability, cmd.value]);
    });
    devices.push(device);
    return device;
  };
  const open = async (device: FakeDevice, name: string) => {
    await browser.page.goto(`${home.hub.baseUrl}/#/devices/${device.id}`);
    await browser.page.getByRole('heading', { name }).waitFor();
  };
  /** Sets an input's value as a person dragging or picking does, ending with a change event. */
  const commit = (selector: string, value: string) =>
    browser.page.locator(selector).evaluate((el, v) => {
      (el as HTMLInputElement).value = v;
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }, value);
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
    return check();
  };

  beforeAll(async () => {
    home = await startTestHub();
    token = (await createOwner(home.hub)).body.accessToken;
    browser = await openBrowser();
    await browser.page.goto(`${home.hub.baseUrl}/#/`);
    await browser.page.getByLabel('Username').fill(OWNER.username);
    await browser.page.getByLabel('Password').fill(OWNER.password);
    await browser.page.getByRole('button', { name: 'Log in' }).click();
    await browser.page.getByRole('button', { name: 'Log in' }).waitFor({ state: 'detached' });
  });

  afterAll(async () => {
    for (const d of devices) d.client.end(true);
    await browser?.close();
    await home?.cleanup();
  });

  it('converts a picked colour to hue/saturation and CIE xy', () => {
    expect(hexToHueSaturation('#ff0000')).toEqual({ hue: 0, saturation: 100 });
    expect(hexToHueSaturation('#00ff00')).toEqual({ hue: 120, saturation: 100 });
    expect(hexToHueSaturation('#ffffff')).toEqual({ hue: 0, saturation: 0 });
    expect(hexToXy('#ff0000')).toEqual({ x: 0.64, y: 0.33 }); // the sRGB red primary
    expect(hexToXy('#ffffff')).toEqual({ x: 0.3127, y: 0.329 }); // D65
  });

  it('a colour bulb: the picker sends hue then saturation, the slider a colour temperature', async () => {
    const bulb = await add('Bulb', ['switch', 'color_hue', 'color_saturation', 'color_temp']);
    await open(bulb, 'Bulb');
    await commit('input[type="color"]', '#00ff00');
    expect(await until(() => received[bulb.id]!.length === 2)).toBe(true);
    expect(received[bulb.id]).toEqual([
      ['color_hue', 120],
      ['color_saturation', 100],
    ]);
    await commit('label:has-text("Colour temperature") input[type="range"]', '2700');
    await browser.page.locator('[data-control="color_temp"]').filter({ hasText: '2700 K' }).waitFor();
    expect(received[bulb.id]!.at(-1)).toEqual(['color_temp', 2700]);
  });

  it('a blind: the slider sets the position, open/stop/close move it', async () => {
    const blind = await add('Blind', ['cover', 'cover_position']);
    await open(blind, 'Blind');
    await commit('label:has-text("Position") input[type="range"]', '30');
    await browser.page.locator('[data-control="cover_position"]').filter({ hasText: '30 %' }).waitFor();
    const cover = browser.page.getByRole('group', { name: 'Cover' });
    for (const name of ['Open', 'Stop', 'Close']) {
      await cover.getByRole('button', { name }).click();
      await until(() => received[blind.id]!.at(-1)?.[1] === name.toLowerCase());
    }
    expect(received[blind.id]).toEqual([
      ['cover_position', 30],
      ['cover', 'open'],
      ['cover', 'stop'],
      ['cover', 'close'],
    ]);
  });

  it('a thermostat: raise and lower the target in half degrees; the mode is a choice', async () => {
    const trv = await add('Radiator', ['temperature', 'setpoint', 'climate_mode', 'running_state']);
    await open(trv, 'Radiator'); // first: a state reported before the page knows the device could be missed
    await trv.client.publishAsync(`hearth/${trv.id}/state`, JSON.stringify({ setpoint: 20, climate_mode: 'off' }), {
      qos: 1,
    });
    const thermostat = browser.page.getByRole('group', { name: 'Thermostat' });
    await thermostat.locator('[data-control="setpoint"]').filter({ hasText: '20.0 °C' }).waitFor();
    await thermostat.getByRole('button', { name: 'Raise target' }).click();
    await thermostat.locator('[data-control="setpoint"]').filter({ hasText: '20.5 °C' }).waitFor();
    await thermostat.getByRole('button', { name: 'Lower target' }).click();
    await thermostat.locator('[data-control="setpoint"]').filter({ hasText: '20.0 °C' }).waitFor();
    await browser.page.getByLabel('Mode').selectOption('heat');
    expect(await until(() => received[trv.id]!.length === 3)).toBe(true);
    expect(received[trv.id]).toEqual([
      ['setpoint', 20.5],
      ['setpoint', 20],
      ['climate_mode', 'heat'],
    ]);
  });

  it('a lock asks before unlocking; cancel sends nothing, yes sends it', async () => {
    const lock = await add('Front door', ['lock']);
    await open(lock, 'Front door');
    await lock.client.publishAsync(`hearth/${lock.id}/state`, JSON.stringify({ lock: true }), { qos: 1 });
    const group = browser.page.getByRole('group', { name: 'Lock' });
    await group.locator('[data-control="lock"]').filter({ hasText: 'Locked' }).waitFor();
    await group.getByRole('button', { name: 'Unlock' }).click();
    await group
      .getByRole('alertdialog', { name: 'Unlock Front door?' })
      .getByRole('button', { name: 'Cancel' })
      .click();
    await new Promise((r) => setTimeout(r, 300));
    expect(received[lock.id]).toEqual([]);
    await group.getByRole('button', { name: 'Unlock' }).click();
    await group.getByRole('button', { name: 'Yes, unlock' }).click();
    await group.locator('[data-control="lock"]').filter({ hasText: 'Unlocked' }).waitFor();
    expect(received[lock.id]).toEqual([['lock', false]]);
  });
});
