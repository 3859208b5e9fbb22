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
 * Rules through the UI against the real hub's rules engine: write one in the JSON editor (a
 * mistake is shown at the field the hub names), make it fire by toggling a device on the home
 * page, read its trace step by step, dry-run it over the recorded history, edit it and revert.
 */
describe('rules', () => {
  let home: TestHome;
  let browser: Browser;
  let token: string;
  let button: FakeDevice;
  let lamp: FakeDevice;

  const rule = (value: unknown) =>
    JSON.stringify(
      {
        name: 'Button lights the lamp',
        mode: 'single',
        triggers: [{ type: 'state', device: button.id, capability: 'switch', to: true }],
        conditions: [],
        actions: [{ type: 'command', device: lamp.id, capability: 'switch', value }],
      },
      null,
      2,
    );

  beforeAll(async () => {
    home = await startTestHub();
    token = (await createOwner(home.hub)).body.accessToken;
    button = await addMqttDevice(home.hub, token, 'Button', ['switch']);
    lamp = await addMqttDevice(home.hub, token, 'Lamp', ['switch']);
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${home.hub.baseUrl}/#/rules`);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Rules' }).waitFor();
  });

  afterAll(async () => {
    for (const d of [button, lamp]) d?.client.end(true);
    await browser?.close();
    await home?.cleanup();
  });

  it('a mistake in the rule is shown at the field the hub names; a correct rule is saved', async () => {
    const { page } = browser;
    await page.getByRole('link', { name: 'New rule' }).click();
    const editor = page.getByLabel('Rule (JSON)');
    await editor.fill('{ "name": ');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('alert').filter({ hasText: 'not valid JSON' }).waitFor();

    // A switch takes true or false: the hub refuses "bright" and names the field.
    await editor.fill(rule('bright'));
    await page.getByRole('button', { name: 'Save rule' }).click();
    const fieldError = page.locator('#rule-json-error');
    await fieldError.waitFor();
    expect(await fieldError.getAttribute('data-path')).toBe('actions.0.value');
    await screenshots(page, 'rule-editor');

    await editor.fill(rule(true));
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('heading', { name: 'Button lights the lamp' }).waitFor();
    const list = await api(home.hub.baseUrl, 'GET', '/api/v1/rules', { token });
    expect(list.body).toEqual([expect.objectContaining({ name: 'Button lights the lamp', version: 1, enabled: true })]);
  });

  it('the quick-rule form writes a rule into the editor that the hub accepts', async () => {
    const { page } = browser;
    // Opened straight from its address: the form is drawn before the devices have loaded.
    await page.goto(`${home.hub.baseUrl}/#/rules/new`);
    await page.reload();
    await page.getByRole('heading', { name: 'Quick rule' }).waitFor();
    await page.getByRole('option', { name: 'Lamp' }).first().waitFor({ state: 'attached' });
    // The rule editor below has fields of the same names: ask the quick form's own.
    const quick = page.getByRole('form', { name: 'Quick rule' });
    // Every choice starts on a real option once they have.
    for (const label of ['When', 'Does', 'Then switch'])
      expect(await quick.getByLabel(label, { exact: true }).inputValue()).not.toBe('');
    await quick.getByLabel('Rule name').fill('Lamp off follows button');
    await quick.getByLabel('When').selectOption({ label: 'Button' });
    await quick.getByLabel('Does').selectOption({ label: 'switches off' });
    await quick.getByLabel('Then switch').selectOption({ label: 'Lamp' });
    await quick.getByLabel('To', { exact: true }).selectOption({ label: 'off' });
    await quick.getByRole('button', { name: 'Write into the editor' }).click();
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('heading', { name: 'Lamp off follows button' }).waitFor();
    const list = await api(home.hub.baseUrl, 'GET', '/api/v1/rules', { token });
    expect(list.body.find((r: { name: string }) => r.name === 'Lamp off follows button')).toMatchObject({
      triggers: [{ type: 'state', device: button.id, capability: 'switch', to: false }],
      actions: [{ type: 'command', device: lamp.id, capability: 'switch', value: false }],
    });
    // Back to the first rule for the next steps.
    await page.getByRole('link', { name: 'Rules' }).click();
    await page.getByRole('link', { name: 'Button lights the lamp' }).waitFor();
  });

  it('toggling the trigger device on the home page fires the rule; its trace shows each step', async () => {
    const { page } = browser;
    await page.getByRole('link', { name: 'Home' }).click();
    await page.getByRole('article', { name: 'Button' }).getByRole('button').click();
    // The rule's command reached the lamp, which confirmed it: the page shows it on.
    await page.getByRole('article', { name: 'Lamp' }).locator('[aria-pressed="true"]').waitFor();

    await page.getByRole('link', { name: 'Rules' }).click();
    await page.getByTestId('last-run').filter({ hasText: 'done' }).waitFor();
    await page.getByRole('link', { name: 'Button lights the lamp' }).click();
    await page.getByRole('tab', { name: 'Traces' }).click();
    const trace = page.locator('details[data-status="done"]').first();
    await trace.locator('summary').click();
    await trace.getByText('Trigger state').waitFor();
    await trace.getByText(/Action actions\.0 command: ok/).waitFor();
    await screenshots(page, 'rule-traces');
  });

  it('a dry run over the last day finds the firing and the command it would send', async () => {
    const { page } = browser;
    await page.getByRole('tab', { name: 'Dry run' }).click();
    await page.getByRole('button', { name: 'Dry run' }).click();
    const result = page.getByTestId('dry-run-result');
    await result.waitFor();
    expect(await result.locator('p').first().textContent()).toMatch(/would have fired 1 times and sent 1 commands/);
  });

  it('an edit makes version 2; the diff shows it and revert brings version 1 back as version 3', async () => {
    const { page } = browser;
    await page.getByRole('tab', { name: 'Definition' }).click();
    const editor = page.getByLabel('Rule (JSON)');
    await editor.fill((await editor.inputValue()).replace('Button lights the lamp', 'Button lights the lamp v2'));
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('heading', { name: 'Button lights the lamp v2' }).waitFor();

    await page.getByRole('tab', { name: 'Versions' }).click();
    // Each version names its author (the hub sends an actor object, not a string: this once read "by [object Object]").
    const first = page.getByRole('listitem').filter({ has: page.getByRole('button', { name: 'Version 1' }) });
    expect(await first.textContent()).toContain(`by ${OWNER.username}`);
    await page.getByRole('button', { name: 'Version 1' }).click();
    const diff = page.getByTestId('diff');
    await diff.getByText('"Button lights the lamp v2"').waitFor();
    await screenshots(page, 'rule-versions');
    await diff.getByRole('button', { name: 'Revert to version 1' }).click();
    await page.getByRole('heading', { name: 'Button lights the lamp', exact: true }).waitFor();
    const saved = await api(home.hub.baseUrl, 'GET', '/api/v1/rules', { token });
    expect(saved.body.find((r: { name: string }) => r.name.startsWith('Button lights'))).toMatchObject({
      name: 'Button lights the lamp',
      version: 3,
    });
  });
});
