import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, waitFor, type RelayProcess } from '../../cloud-relay/test/helpers/processes.ts';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { openBrowser, screenshots, type Browser } from './helpers/browser.ts';
import { api, createOwner, OWNER, startTestHub, type TestHome } from './helpers/home.ts';

const MEMBER = { username: 'mia', password: 'mias long password' };
const PASSPHRASE = 'the schedule passphrase';

/**
 * Settings → Off-site backups: the copies the schedule stored at a real relay, listed and saved
 * by the owner's enrolled Chromium straight from the relay, the very bytes the hub sealed, also
 * with the hub stopped (the page loaded, the hub gone: the dead-card case). A member's enrolled
 * Chromium is told `not_owner` by the relay and gets no list.
 */
describe('Settings → Off-site backups', () => {
  const tmp = tempDir('hearth-ui-offsite-');
  let relay: RelayProcess;
  let home: TestHome;
  let owner: Browser;
  let member: Browser;
  let token: string;
  let backup: { id: string; bytes: number };

  const logIn = async (page: Page, who: { username: string; password: string }) => {
    await page.getByLabel('Username').fill(who.username);
    await page.getByLabel('Password').fill(who.password);
    await page.getByRole('button', { name: 'Log in' }).click();
  };
  const enrol = async (page: Page, who: { username: string; password: string }, name: string) => {
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await logIn(page, who);
    await page.getByLabel('Name of this device').fill(name);
    await page.getByRole('button', { name: 'Enable remote access on this device' }).click();
    await page.getByText('Remote access is on for this device').waitFor();
    // The card looks for this browser's enrolment when Settings opens.
    await page.reload();
    await page.getByText('Remote access is on for this device').waitFor();
  };
  const savedFile = (id: string) => readFileSync(join(home.dataDir, 'backups', 'scheduled', `${id}.hbk`));

  beforeAll(async () => {
    relay = await startRelay(['--data', join(tmp.dir, 'relay')]);
    home = await startTestHub(['--relay', relay.url]);
    token = (await createOwner(home.hub)).body.accessToken;
    expect(
      (await api(home.hub.baseUrl, 'POST', '/api/v1/users', { token, body: { ...MEMBER, role: 'member' } })).status,
    ).toBe(201);
    await waitFor(
      async () => (home.hub.logs.some((l) => l.msg === 'relay tunnel up') ? true : undefined),
      'hub tunnel up',
    );
    // A firmware image in the store: the backup crosses the relay in many 64 KiB pieces.
    mkdirSync(join(home.dataDir, 'firmware'), { recursive: true });
    writeFileSync(join(home.dataDir, 'firmware', 'big.bin'), randomBytes(1024 * 1024));
    owner = await openBrowser();
    member = await openBrowser();
  }, 120_000);

  afterAll(async () => {
    await member?.close();
    await owner?.close();
    await home?.cleanup();
    await relay?.kill9();
    tmp.cleanup();
  });

  it('an enrolled owner browser lists the off-site copy and saves the bytes the hub sealed', async () => {
    const { page } = owner;
    await enrol(page, OWNER, 'Owner Chromium');
    const heading = page.getByRole('heading', { name: 'Off-site backups' });
    await heading.waitFor();
    await page.getByText('The relay keeps no backup of this home.').waitFor();

    const on = await api(home.hub.baseUrl, 'PUT', '/api/v1/backups/schedule', {
      token,
      body: { enabled: true, time: '03:00', keep: 3, offsite: true, passphrase: PASSPHRASE },
    });
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    const run = await api(home.hub.baseUrl, 'POST', '/api/v1/backups/schedule/run', { token });
    expect(run.status, JSON.stringify(run.body)).toBe(201);
    backup = run.body;
    expect(backup.bytes).toBeGreaterThan(1024 * 1024);
    const status = await api(home.hub.baseUrl, 'GET', '/api/v1/backups/schedule', { token });
    expect(status.body).toMatchObject({ lastOffsite: backup.id, lastError: null });

    await page.reload();
    const list = page.getByRole('list', { name: 'Backups at the relay' });
    await list.getByRole('listitem').first().waitFor();
    expect(await list.getByRole('listitem').count()).toBe(1);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      list.getByRole('button', { name: /^Save the off-site backup of / }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`${backup.id}.hbk`);
    const saved = readFileSync((await download.path())!);
    expect(saved.length).toBe(backup.bytes);
    expect(saved.equals(savedFile(backup.id))).toBe(true);
    await screenshots(page, 'offsite-backups');
  }, 120_000);

  it("a member's enrolled browser: no Off-site card in Settings while the hub answers (the owner's card)", async () => {
    const { page } = member;
    await enrol(page, MEMBER, 'Member Chromium');
    // The card is the owner's in Settings; a member reaches it only with the hub offline (below).
    expect(await page.getByRole('heading', { name: 'Off-site backups' }).count()).toBe(0);
  }, 120_000);

  it('with the hub stopped, both pages still reach the relay: the owner saves the file, the member is refused', async () => {
    // Away from home first (the hub's LAN address stops answering the pages' API calls, the
    // shell still loads: as ui/test/remote.test.ts), then the hub stops.
    const lanApi = (url: URL) => url.host === `127.0.0.1:${home.hub.http}` && url.pathname.startsWith('/api/');
    for (const { page, context } of [owner, member]) {
      await context.route(lanApi, (route: Route) => route.abort('internetdisconnected'));
      await context.routeWebSocket(lanApi, (ws) => ws.close());
      await page.evaluate(() => {
        location.hash = '#/';
      });
      await page.reload();
      await page.getByRole('status').filter({ hasText: 'Remote (through the relay)' }).waitFor();
    }
    await home.hub.stop();
    for (const { page } of [owner, member]) {
      await page.getByRole('status').filter({ hasText: 'Hub offline since' }).waitFor();
      await page.evaluate(() => {
        location.hash = '#/settings';
      });
      await page.getByRole('heading', { name: 'Off-site backups' }).waitFor();
    }
    await member.page.getByText("Only the owner's devices may fetch the home's off-site backups.").waitFor();
    expect(await member.page.getByRole('list', { name: 'Backups at the relay' }).count()).toBe(0);

    const { page } = owner;
    const list = page.getByRole('list', { name: 'Backups at the relay' });
    await list.getByRole('listitem').first().waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      list.getByRole('button', { name: /^Save the off-site backup of / }).click(),
    ]);
    expect(readFileSync((await download.path())!).equals(savedFile(backup.id))).toBe(true);
    await screenshots(page, 'offsite-backups-hub-offline');
  }, 120_000);
});
