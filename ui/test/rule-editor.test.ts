import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESKTOP, openBrowser, PHONE, screenshots, type Browser } from './helpers/browser.ts';
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
 * The structured rule editor against the real hub: a rule built only with the form (a state
 * trigger held "for" a while, a numeric condition, command + delay + command) is saved and read
 * back from the API as exactly the JSON it should be; a value the hub refuses is shown at the
 * field the hub names; editing the JSON moves the form, and form edits keep fields it has no
 * control for.
 */
describe('rule editor', () => {
  let home: TestHome;
  let browser: Browser;
  let token: string;
  let button: FakeDevice;
  let lamp: FakeDevice;
  let sensor: FakeDevice;
  let remote: FakeDevice;
  let ruleId: string;

  /** The hub's answer without the fields it adds: what was saved. */
  const stored = async (id: string) => {
    const res = await api(home.hub.baseUrl, 'GET', `/api/v1/rules/${id}`, { token });
    expect(res.status).toBe(200);
    const {
      id: _id,
      enabled: _e,
      version: _v,
      running: _r,
      createdAt: _c,
      updatedAt: _u,
      ...definition
    } = res.body as Record<string, unknown>;
    return definition;
  };

  /** One trigger, condition or action: its group is named by its legend, e.g. "action 2: Delay". */
  const item = (page: Page, name: string): Locator => page.getByRole('group', { name, exact: true });
  const add = async (page: Page, noun: string, type: string) => {
    await page.locator(`#rf-${noun}s-add`).selectOption({ label: type });
    await page
      .getByRole('button', { name: `Add ${noun}`, exact: true })
      .last()
      .click();
  };
  const json = (page: Page) => page.getByLabel('Rule (JSON)');
  /** Adds an item to the list at `listPath` (nested lists have their own add controls). */
  const addTo = async (page: Page, listPath: string, noun: string, type: string) => {
    const select = page.locator(`#rf-${listPath.replace(/\./g, '-')}-add`);
    await select.selectOption({ label: type });
    await page
      .locator('.re-add')
      .filter({ has: select })
      .getByRole('button', { name: `Add ${noun}`, exact: true })
      .click();
  };
  const newRule = async (page: Page) => {
    await page.getByRole('link', { name: 'Rules' }).click();
    await page.getByRole('link', { name: 'New rule' }).click();
    await page.getByRole('heading', { name: 'Rule', exact: true }).waitFor();
  };

  beforeAll(async () => {
    home = await startTestHub();
    token = (await createOwner(home.hub)).body.accessToken;
    button = await addMqttDevice(home.hub, token, 'Button', ['switch']);
    lamp = await addMqttDevice(home.hub, token, 'Lamp', ['switch', 'power']);
    sensor = await addMqttDevice(home.hub, token, 'Sensor', ['temperature']);
    remote = await addMqttDevice(home.hub, token, 'Remote', ['button']);
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${home.hub.baseUrl}/#/rules`);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Rules' }).waitFor();
  });

  afterAll(async () => {
    for (const d of [button, lamp, sensor, remote]) d?.client.end(true);
    await browser?.close();
    await home?.cleanup();
  });

  it('a rule built with the form alone is stored as the expected JSON', async () => {
    const { page } = browser;
    await page.getByRole('link', { name: 'New rule' }).click();
    await page.getByRole('heading', { name: 'Rule', exact: true }).waitFor();
    // Start from empty lists: the new-rule template's items go.
    await page.getByRole('button', { name: 'Remove trigger 1' }).click();
    await page.getByRole('button', { name: 'Remove action 1' }).click();
    expect(await page.getByRole('button', { name: /^Remove (trigger|action)/ }).count()).toBe(0);

    await page.getByLabel('Name', { exact: true }).fill('Heating reminder');
    await page.getByLabel('Mode', { exact: true }).selectOption('queued');
    await page.getByLabel('Most waiting').fill('3');

    await add(page, 'trigger', 'Device state changes');
    const trigger = item(page, 'trigger 1: Device state changes');
    await trigger.getByLabel('Device', { exact: true }).selectOption({ label: 'Button' });
    // A switch's value is offered as on/off, not typed.
    expect(await trigger.getByLabel('To', { exact: true }).locator('option').allTextContents()).toEqual([
      'any',
      'on',
      'off',
    ]);
    await trigger.getByLabel('To', { exact: true }).selectOption({ label: 'on' });
    await trigger.getByLabel('For at least').fill('10m');

    await add(page, 'condition', 'Reading above / below');
    const condition = item(page, 'condition 1: Reading above / below');
    await condition.getByLabel('Device', { exact: true }).selectOption({ label: 'Sensor' });
    // Only numeric capabilities are offered for a numeric condition.
    expect(await condition.getByLabel('Capability').locator('option').allTextContents()).toEqual(['temperature']);
    await condition.getByLabel('Above').fill('');
    await condition.getByLabel('Below').fill('18');

    await add(page, 'action', 'Device command');
    await add(page, 'action', 'Device command');
    await add(page, 'action', 'Delay');
    for (const [name, to] of [
      ['action 1: Device command', 'on'],
      ['action 2: Device command', 'off'],
    ] as const) {
      const command = item(page, name);
      await command.getByLabel('Device', { exact: true }).selectOption({ label: 'Lamp' });
      // A command offers only what can be set: the lamp's power reading is not a choice.
      expect(await command.getByLabel('Capability').locator('option').allTextContents()).toEqual(['switch']);
      await command.getByLabel('Set to').selectOption({ label: to });
    }
    await item(page, 'action 3: Delay').getByLabel('Wait for').fill('5m');
    // Command, command, delay → command, delay, command.
    await page.getByRole('button', { name: 'Move action 3 up' }).focus();
    await page.keyboard.press('Enter');
    await item(page, 'action 2: Delay').waitFor();
    // The keyboard stays with the moved item, so pressing again would move it on.
    expect(
      await page.getByRole('button', { name: 'Move action 2 up' }).evaluate((el) => el === document.activeElement),
    ).toBe(true);
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshots(page, 'rule-form');
    // One column at phone width: nothing sticks out sideways.
    await page.setViewportSize(PHONE);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await page.setViewportSize(DESKTOP);

    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('heading', { name: 'Heating reminder', level: 1 }).waitFor();
    ruleId = decodeURIComponent(new URL(page.url()).hash.replace('#/rules/', ''));
    expect(await stored(ruleId)).toEqual({
      name: 'Heating reminder',
      mode: 'queued',
      max: 3,
      triggers: [{ type: 'state', device: button.id, capability: 'switch', to: true, for: '10m' }],
      conditions: [{ type: 'numeric', device: sensor.id, capability: 'temperature', below: 18 }],
      actions: [
        { type: 'command', device: lamp.id, capability: 'switch', value: true },
        { type: 'delay', for: '5m' },
        { type: 'command', device: lamp.id, capability: 'switch', value: false },
      ],
    });
  });

  it('a value the hub refuses is shown at the field it names, which gets the focus', async () => {
    const { page } = browser;
    const forField = item(page, 'trigger 1: Device state changes').getByLabel('For at least');
    await forField.fill('ten minutes');
    await page.getByRole('button', { name: 'Save rule' }).click();
    const summary = page.locator('#rule-json-error');
    await summary.waitFor();
    expect(await summary.getAttribute('data-path')).toBe('triggers.0.for');
    // At the field itself: marked invalid, the message tied to it, and the keyboard taken there.
    const atField = page.locator('#rf-triggers-0-for-error');
    await atField.waitFor();
    expect(await atField.getAttribute('data-path')).toBe('triggers.0.for');
    expect(await forField.getAttribute('aria-invalid')).toBe('true');
    expect((await forField.getAttribute('aria-describedby'))?.split(' ')).toContain('rf-triggers-0-for-error');
    expect(await forField.evaluate((el) => el === document.activeElement)).toBe(true);
    // Nothing else is marked.
    expect(await page.locator('.re-form [aria-invalid="true"]').count()).toBe(1);
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshots(page, 'rule-form-error');

    // The stored rule is untouched by the refused save.
    expect((await stored(ruleId)).triggers).toEqual([
      { type: 'state', device: button.id, capability: 'switch', to: true, for: '10m' },
    ]);

    // An error about an item as a whole is shown at that item: a sun trigger while the home
    // has no location set.
    await forField.fill('10m');
    await add(page, 'trigger', 'Sunrise / sunset');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.locator('#rule-json-error[data-path="triggers.1"]').waitFor();
    const sun = item(page, 'trigger 2: Sunrise / sunset');
    await sun.locator('#rf-triggers-1-error').waitFor();
    expect(await sun.getAttribute('aria-describedby')).toBe('rf-triggers-1-error');
    expect(await sun.evaluate((el) => el === document.activeElement)).toBe(true);
    // The earlier field error is gone with the fix.
    expect(await forField.getAttribute('aria-invalid')).toBeNull();
    await page.getByRole('button', { name: 'Remove trigger 2' }).click();
    expect((await stored(ruleId)).triggers).toHaveLength(1);
  });

  it('editing the JSON updates the form; form edits keep fields the form has no control for', async () => {
    const { page } = browser;
    const rule = JSON.parse(await json(page).inputValue()) as Record<string, any>;
    rule.triggers[0].for = '15m';
    rule.conditions[0].below = 16;
    rule.actions[1].for = 90;
    rule.traceLimit = 20; // no control in the form
    await json(page).fill(JSON.stringify(rule, null, 2));
    const trigger = item(page, 'trigger 1: Device state changes');
    expect(await trigger.getByLabel('For at least').inputValue()).toBe('15m');
    expect(await item(page, 'condition 1: Reading above / below').getByLabel('Below').inputValue()).toBe('16');
    expect(await item(page, 'action 2: Delay').getByLabel('Wait for').inputValue()).toBe('90');

    // While the JSON does not parse, the form holds still (and cannot overwrite the typing).
    await json(page).fill('{ "name": ');
    expect(await page.getByLabel('Name', { exact: true }).isDisabled()).toBe(true);
    await json(page).fill(JSON.stringify(rule, null, 2));
    expect(await page.getByLabel('Name', { exact: true }).isDisabled()).toBe(false);

    await page.getByLabel('Name', { exact: true }).fill('Heating reminder v2');
    expect(JSON.parse(await json(page).inputValue())).toMatchObject({ name: 'Heating reminder v2', traceLimit: 20 });
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('heading', { name: 'Heating reminder v2', level: 1 }).waitFor();
    expect(await stored(ruleId)).toEqual({
      name: 'Heating reminder v2',
      mode: 'queued',
      max: 3,
      traceLimit: 20,
      triggers: [{ type: 'state', device: button.id, capability: 'switch', to: true, for: '15m' }],
      conditions: [{ type: 'numeric', device: sensor.id, capability: 'temperature', below: 16 }],
      actions: [
        { type: 'command', device: lamp.id, capability: 'switch', value: true },
        { type: 'delay', for: 90 },
        { type: 'command', device: lamp.id, capability: 'switch', value: false },
      ],
    });
  });

  it('a remote press trigger names the button and the press, stored as an action trigger', async () => {
    const { page } = browser;
    await newRule(page);
    await page.getByRole('button', { name: 'Remove trigger 1' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Remote button rule');
    const kind = 'Remote button press (which button, single/double/hold)';
    await addTo(page, 'triggers', 'trigger', kind);
    const press = item(page, `trigger 1: ${kind}`);
    // The device with a button is picked for it.
    expect(await press.getByLabel('Remote', { exact: true }).inputValue()).toBe(remote.id);
    await press.getByLabel('Button', { exact: true }).fill('2');
    await press.getByLabel('Press', { exact: true }).selectOption('double');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('heading', { name: 'Remote button rule', level: 1 }).waitFor();
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#/rules/', ''));
    expect((await stored(id)).triggers).toEqual([{ type: 'action', device: remote.id, button: '2', press: 'double' }]);
  });

  it('nested conditions (or, not) and an if/else action are built with the form and stored as expected', async () => {
    const { page } = browser;
    await newRule(page);
    await page.getByRole('button', { name: 'Remove trigger 1' }).click();
    await page.getByRole('button', { name: 'Remove action 1' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Nested');
    await addTo(page, 'triggers', 'trigger', 'Hub starts');
    // A button press is a state trigger on the device that has a button, which is picked for it.
    await addTo(page, 'triggers', 'trigger', 'Button, motion or contact event');
    const press = item(page, 'trigger 2: Device state changes');
    expect(await press.getByLabel('Device', { exact: true }).inputValue()).toBe(remote.id);
    await press.getByLabel('To', { exact: true }).fill('double');

    await addTo(page, 'conditions', 'condition', 'Any of (or)');
    await addTo(page, 'conditions.0.conditions', 'condition', 'Weekday');
    await item(page, 'condition 1 condition 1: Weekday').getByLabel('Fri').uncheck();
    await addTo(page, 'conditions.0.conditions', 'condition', 'None of (not)');
    await addTo(page, 'conditions.0.conditions.1.conditions', 'condition', 'Time window');
    await item(page, 'condition 1 condition 2 condition 1: Time window').getByLabel('After (HH:MM)').fill('21:30');

    await addTo(page, 'actions', 'action', 'If / else');
    await addTo(page, 'actions.0.conditions', 'condition', 'Reading above / below');
    const cold = item(page, 'action 1 condition 1: Reading above / below');
    await cold.getByLabel('Device', { exact: true }).selectOption({ label: 'Sensor' });
    await cold.getByLabel('Above').fill('');
    await cold.getByLabel('Below').fill('18');
    await addTo(page, 'actions.0.then', 'action', 'Notify');
    const notify = item(page, 'action 1 then 1: Notify');
    await notify.getByLabel('Message').fill('Cold');
    await notify.getByLabel('Level').selectOption('warning');
    await addTo(page, 'actions.0.else', 'action', 'Device command');
    const off = item(page, 'action 1 else 1: Device command');
    await off.getByLabel('Device', { exact: true }).selectOption({ label: 'Lamp' });
    await off.getByLabel('Set to').selectOption({ label: 'off' });

    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('heading', { name: 'Nested', level: 1 }).waitFor();
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#/rules/', ''));
    expect(await stored(id)).toEqual({
      name: 'Nested',
      mode: 'single',
      triggers: [{ type: 'hub_start' }, { type: 'state', device: remote.id, capability: 'button', to: 'double' }],
      conditions: [
        {
          type: 'or',
          conditions: [
            { type: 'weekday', days: ['mon', 'tue', 'wed', 'thu'] },
            { type: 'not', conditions: [{ type: 'time', after: '21:30', before: '06:00' }] },
          ],
        },
      ],
      actions: [
        {
          type: 'if',
          conditions: [{ type: 'numeric', device: sensor.id, capability: 'temperature', below: 18 }],
          then: [{ type: 'notify', message: 'Cold', level: 'warning' }],
          else: [{ type: 'command', device: lamp.id, capability: 'switch', value: false }],
        },
      ],
    });
  });

  it('going from one rule page straight to another shows (and would save) the other rule', async () => {
    const { page } = browser;
    // The page is still at "Nested"; only the address changes, the page component stays.
    await page.evaluate((id) => {
      location.hash = `#/rules/${id}`;
    }, ruleId);
    await page.getByRole('heading', { name: 'Heating reminder v2', level: 1 }).waitFor();
    expect(JSON.parse(await json(page).inputValue())).toMatchObject({ name: 'Heating reminder v2', traceLimit: 20 });
    expect(await page.getByLabel('Name', { exact: true }).inputValue()).toBe('Heating reminder v2');
  });

  it('every trigger, condition and action type has fields in the form, and a form edit keeps all of the JSON', async () => {
    const { page } = browser;
    await newRule(page);
    const state = { type: 'state', device: button.id, capability: 'switch', to: true };
    const everything = {
      name: 'Everything',
      mode: 'parallel',
      max: 4,
      missed: 'catch_up',
      traceLimit: 7,
      triggers: [
        { ...state, from: false, for: 30 },
        { type: 'numeric', device: sensor.id, capability: 'temperature', above: 25, for: '2m' },
        { type: 'time', at: '07:15', weekdays: ['sat', 'sun'] },
        { type: 'cron', cron: '*/5 * * * *' },
        { type: 'sun', event: 'sunrise', offset: '-15m' },
        { type: 'availability', device: lamp.id, to: 'offline', for: '1m' },
        { type: 'camera', kind: 'motion' },
        { type: 'hub_start' },
      ],
      conditions: [
        { type: 'state', device: lamp.id, capability: 'switch', value: false },
        { type: 'numeric', device: lamp.id, capability: 'power', below: 5 },
        { type: 'time', after: '08:00' },
        { type: 'weekday', days: ['mon'] },
        { type: 'sun', after: 'sunset', afterOffset: '10m', before: 'sunrise' },
        { type: 'and', conditions: [{ type: 'not', conditions: [{ type: 'weekday', days: ['sun'] }] }] },
        { type: 'state', device: sensor.id, capability: 'temperature', value: [18, 19] },
      ],
      actions: [
        { type: 'command', device: lamp.id, capability: 'switch', value: true, continueOnError: true },
        { type: 'scene', states: [{ device: lamp.id, capability: 'switch', value: false }] },
        { type: 'scene', scene: 'scn_missing' },
        { type: 'wait', triggers: [state], timeout: '10m', continueOnTimeout: false },
        {
          type: 'choose',
          choices: [{ conditions: [{ type: 'weekday', days: ['tue'] }], actions: [{ type: 'delay', for: 5 }] }],
          default: [{ type: 'stop', reason: 'no choice' }],
        },
        { type: 'repeat', until: [{ type: 'time', before: '09:00' }], actions: [{ type: 'notify', message: 'again' }] },
        { type: 'camera_clip', camera: 'cam_x', seconds: 20 },
        { type: 'enable_rule', rule: 'rul_x' },
        { type: 'disable_rule', rule: 'rul_y' },
      ],
    };
    await json(page).fill(JSON.stringify(everything, null, 2));
    await item(page, 'action 9: Disable a rule').waitFor();
    expect(await page.getByText('The form has no fields').count()).toBe(0);
    // Values shown where they belong, nested ones included.
    expect(await item(page, 'trigger 5: Sunrise / sunset').getByLabel('Offset').inputValue()).toBe('-15m');
    expect(await item(page, 'action 5 choice 1 action 1: Delay').getByLabel('Wait for').inputValue()).toBe('5');
    expect(await item(page, 'action 4: Wait for a trigger').getByLabel('Stop the run on timeout').isChecked()).toBe(
      true,
    );
    expect(await item(page, 'condition 6 condition 1 condition 1: Weekday').getByLabel('Sun').isChecked()).toBe(true);

    // One edit in the form rewrites the JSON from the whole rule: nothing else changes.
    await page.getByLabel('Name', { exact: true }).fill('Everything, renamed');
    expect(JSON.parse(await json(page).inputValue())).toEqual({ ...everything, name: 'Everything, renamed' });

    // A state condition's "any of" list: each value typed by the capability; down to one value,
    // it is a plain value again.
    const anyOf = item(page, 'condition 7: Device is in a state');
    expect(await anyOf.getByLabel('Is (value 2) (°C)').inputValue()).toBe('19');
    await anyOf.getByRole('button', { name: 'Remove value 1' }).click();
    expect(await anyOf.getByLabel('Is (°C)', { exact: true }).inputValue()).toBe('19');
    expect(JSON.parse(await json(page).inputValue()).conditions[6]).toEqual({
      type: 'state',
      device: sensor.id,
      capability: 'temperature',
      value: 19,
    });
  });
});
