import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubProcess } from '../../hub/test/helpers/hub-process.ts';
import { readSetupCode } from '../../hub/test/helpers/http.ts';
import { openBrowser, screenshots, type Browser } from './helpers/browser.ts';
import { api, createOwner, OWNER, startTestHub, type TestHome } from './helpers/home.ts';

const PASSPHRASE = 'four unrelated words here';

/**
 * "Restore from a backup" on a new hub's first-run screen, against real hubs: a wrong setup code
 * and a wrong passphrase are explained in plain words and change nothing; the right ones restore
 * the old home, the hub restarts on it (here the test starts it again, as systemd would) and the
 * old owner logs in.
 */
describe('first run: restore from a backup', () => {
  let old: TestHome;
  let fresh: TestHome;
  let restarted: HubProcess | undefined;
  let browser: Browser;
  let file: string;

  beforeAll(async () => {
    old = await startTestHub();
    const token = (await createOwner(old.hub)).body.accessToken;
    const made = await api(old.hub.baseUrl, 'POST', '/api/v1/backups', { token, body: { passphrase: PASSPHRASE } });
    expect(made.status).toBe(201);
    file = join(dirname(old.dataDir), `${made.body.id}.hbk`);
    const res = await fetch(`${old.hub.baseUrl}/api/v1/backups/${made.body.id}/file`, {
      headers: { authorization: `Bearer ${token}` },
    });
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    fresh = await startTestHub();
    browser = await openBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await restarted?.kill9();
    await fresh?.cleanup();
    await old?.cleanup();
  });

  it('refusals in plain words, then the old home comes back', async () => {
    const { page } = browser;
    await page.goto(fresh.hub.baseUrl);
    await page.getByRole('heading', { name: 'Create the owner account' }).waitFor();
    await page.getByText('Restore from a backup', { exact: true }).click();
    const restore = page.locator('details');
    await restore.getByLabel('Setup code').fill('WRONG-CODE');
    await restore.getByLabel('Backup file').setInputFiles(file);
    await restore.getByLabel('Backup passphrase').fill(PASSPHRASE);
    await restore.getByRole('button', { name: 'Restore' }).click();
    await restore.getByRole('alert').filter({ hasText: 'That setup code is not right.' }).waitFor();

    await restore.getByLabel('Setup code').fill(readSetupCode(fresh.dataDir));
    await restore.getByLabel('Backup passphrase').fill('not the passphrase');
    await restore.getByRole('button', { name: 'Restore' }).click();
    await restore
      .getByRole('alert')
      .filter({ hasText: 'That passphrase does not open this backup.' })
      .waitFor({ timeout: 60_000 });
    expect(readdirSync(join(fresh.dataDir, 'backups'))).toEqual([]);
    await screenshots(page, 'first-run-restore-refused');

    await restore.getByLabel('Backup passphrase').fill(PASSPHRASE);
    await restore.getByRole('button', { name: 'Restore' }).click();
    await page.getByRole('status').filter({ hasText: 'Restored “Home” with 1 account.' }).waitFor({ timeout: 60_000 });
    // The hub stops, swaps its data and exits for systemd to start it again.
    expect(await fresh.hub.stop()).toBe(75);

    restarted = await startHub(fresh.dataDir);
    await page.goto(`${restarted.baseUrl}/#/settings`);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Backups', exact: true }).waitFor();
  }, 180_000);
});
