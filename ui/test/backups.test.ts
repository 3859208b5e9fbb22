import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, screenshots, type Browser } from './helpers/browser.ts';
import { api, createOwner, OWNER, startTestHub, type TestHome } from './helpers/home.ts';

const ADMIN = { username: 'ada', password: 'adas long password' };
const PASSPHRASE = 'four unrelated words here';

/**
 * Settings → Backups against the real hub: the owner makes an encrypted backup with a passphrase
 * typed twice (short and mismatched ones explained at their field), sees it listed, and saves
 * the very file the hub keeps; an admin's Settings has no Backups card (the hub refuses them too).
 */
describe('Settings → Backups', () => {
  let home: TestHome;
  let owner: Browser;
  let admin: Browser;

  const logIn = async (page: Page, who: { username: string; password: string }) => {
    await page.getByLabel('Username').fill(who.username);
    await page.getByLabel('Password').fill(who.password);
    await page.getByRole('button', { name: 'Log in' }).click();
  };

  beforeAll(async () => {
    home = await startTestHub();
    const token = (await createOwner(home.hub)).body.accessToken;
    expect(
      (await api(home.hub.baseUrl, 'POST', '/api/v1/users', { token, body: { ...ADMIN, role: 'admin' } })).status,
    ).toBe(201);
    owner = await openBrowser();
    admin = await openBrowser();
  });
  afterAll(async () => {
    await admin?.close();
    await owner?.close();
    await home?.cleanup();
  });

  it('the owner makes a backup, sees it listed and downloads the file the hub keeps', async () => {
    const { page } = owner;
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await logIn(page, OWNER);
    await page.getByRole('heading', { name: 'Backups', exact: true }).waitFor();
    await page.getByText('No backups on the hub yet.').waitFor();

    await page.getByLabel('Passphrase', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Make a backup' }).click();
    await page.getByText('A passphrase needs at least 8 characters.').waitFor();
    await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await page.getByLabel('Repeat the passphrase').fill(`${PASSPHRASE}!`);
    await page.getByRole('button', { name: 'Make a backup' }).click();
    await page.getByText('The two passphrases are not the same.').waitFor();
    expect(readdirSync(home.dataDir)).not.toContain('backups');

    await page.getByLabel('Repeat the passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Make a backup' }).click();
    await page.getByRole('status').filter({ hasText: 'Backup made and checked' }).waitFor({ timeout: 60_000 });
    const files = readdirSync(join(home.dataDir, 'backups')).filter((n) => n.endsWith('.hbk'));
    expect(files).toHaveLength(1);
    await page.getByRole('list', { name: 'Backups on the hub' }).getByRole('listitem').first().waitFor();
    await screenshots(page, 'settings-backups');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: /^Download the backup of / }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(files[0]);
    const saved = readFileSync((await download.path())!);
    expect(saved.subarray(0, 8).toString()).toBe('HEARTHBK');
    expect(saved.equals(readFileSync(join(home.dataDir, 'backups', files[0]!)))).toBe(true);
  }, 120_000);

  it('recordings: the box shows their size first, and ticked they go into the backup', async () => {
    const { page } = owner;
    // Two closed segments of a camera the hub does not know (its sweep leaves them alone).
    const day = join(home.dataDir, 'recordings', 'cam-x', '2026-12-07');
    mkdirSync(day, { recursive: true });
    writeFileSync(join(day, '1733580000-00001.mp4'), Buffer.alloc(300_000, 1));
    writeFileSync(join(day, '1733580004-00002.mp4'), Buffer.alloc(200_000, 2));
    // A fresh load: the page asks for the recordings' size when it opens.
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await page.reload();
    const box = page.getByLabel(/Include camera recordings \(.+, 2 segments\)/);
    await box.waitFor();
    expect(await box.isChecked()).toBe(false);
    await box.check();
    await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await page.getByLabel('Repeat the passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Make a backup' }).click();
    await page.getByRole('status').filter({ hasText: 'with 2 recording segments' }).waitFor({ timeout: 60_000 });
    expect(readdirSync(join(home.dataDir, 'backups')).filter((n) => n.endsWith('.hbk'))).toHaveLength(2);
  }, 120_000);

  it('the owner schedules nightly backups, makes one now, and sees what went wrong as an alert', async () => {
    const { page } = owner;
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    const schedule = page.locator('form', { has: page.getByRole('heading', { name: 'Backup schedule' }) });
    await schedule.getByText('Scheduled backups are off.').waitFor();
    await schedule.getByLabel('Back up every night').check();
    await schedule.getByLabel('Time').fill('02:30');
    await schedule.getByLabel('Backups to keep').fill('3');
    await schedule.getByRole('button', { name: 'Save schedule' }).click();
    await schedule.getByText('A passphrase needs at least 8 characters.').waitFor();
    await schedule.getByLabel('Schedule passphrase', { exact: true }).fill(PASSPHRASE);
    await schedule.getByLabel('Repeat the schedule passphrase').fill(PASSPHRASE);
    await schedule.getByRole('button', { name: 'Save schedule' }).click();
    await schedule.getByText(/^Every night at 02:30 .*keeping the last 3\./).waitFor();
    expect(readFileSync(join(home.dataDir, 'backup-schedule.key'), 'utf8')).not.toContain(PASSPHRASE);

    await schedule.getByRole('button', { name: 'Back up now' }).click();
    await schedule.getByRole('status').filter({ hasText: 'Backup made and checked' }).waitFor({ timeout: 60_000 });
    await schedule.getByText(/Last good backup: /).waitFor();
    expect(readdirSync(join(home.dataDir, 'backups', 'scheduled')).filter((n) => n.endsWith('.hbk'))).toHaveLength(1);

    // The schedule's key is gone (as on a restored hub): the next run fails, and the page says why.
    rmSync(join(home.dataDir, 'backup-schedule.key'));
    await schedule.getByRole('button', { name: 'Back up now' }).click();
    await schedule
      .getByRole('alert')
      .filter({ hasText: 'The backup schedule has no passphrase on this hub.' })
      .waitFor({ timeout: 60_000 });
    await screenshots(page, 'settings-backup-schedule');
  }, 120_000);

  it("an admin's Settings has no Backups card", async () => {
    const { page } = admin;
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await logIn(page, ADMIN);
    await page.getByRole('heading', { name: 'Rooms', exact: true }).waitFor();
    expect(await page.getByRole('heading', { name: 'Backups', exact: true }).count()).toBe(0);
  });
});
