import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateReleaseKey, signRelease } from '../../hub/src/update/release.ts';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { openBrowser, screenshots, type Browser } from './helpers/browser.ts';
import { api, createOwner, OWNER, startTestHub, type TestHome } from './helpers/home.ts';

const ADMIN = { username: 'ada', password: 'adas long password' };

/**
 * Settings → Update the hub against the real hub (the root helper is not run: its answer is
 * written into the spool as it would write it): the owner uploads a package and its signed
 * release, the hub refuses a release that does not match the package, starts the right one (the
 * request for the helper appears) and the card shows the helper's outcome; an admin has no card.
 */
describe('Settings → Update the hub', () => {
  let home: TestHome;
  let owner: Browser;
  let admin: Browser;
  const tmp = tempDir('hearth-ui-update-');
  const key = generateReleaseKey();
  const pkgPath = join(tmp.dir, 'hearth_0.2.0_all.deb');
  const releasePath = join(tmp.dir, 'hearth_0.2.0_all.release.json');
  const wrongPath = join(tmp.dir, 'other.release.json');

  const logIn = async (page: Page, who: { username: string; password: string }) => {
    await page.getByLabel('Username').fill(who.username);
    await page.getByLabel('Password').fill(who.password);
    await page.getByRole('button', { name: 'Log in' }).click();
  };

  beforeAll(async () => {
    writeFileSync(join(tmp.dir, 'other.deb'), randomBytes(1000));
    writeFileSync(
      wrongPath,
      JSON.stringify(
        (
          await signRelease({
            packagePath: join(tmp.dir, 'other.deb'),
            packageName: 'other.deb',
            version: '0.2.0',
            minVersion: '0.0.1',
            privatePem: key.privatePem,
          })
        ).file,
      ),
    );
    writeFileSync(pkgPath, randomBytes(200 * 1024));
    writeFileSync(
      releasePath,
      JSON.stringify(
        (
          await signRelease({
            packagePath: pkgPath,
            packageName: 'hearth_0.2.0_all.deb',
            version: '0.2.0',
            minVersion: '0.0.1',
            privatePem: key.privatePem,
          })
        ).file,
      ),
    );
    const config = join(tmp.dir, 'hearth.json');
    writeFileSync(config, JSON.stringify({ update: { releaseKeys: [key.publicB64] } }));
    home = await startTestHub(['--config', config]);
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
    tmp.cleanup();
  });

  it('the owner uploads a signed release; a mismatched one is explained; the outcome is shown', async () => {
    const { page } = owner;
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await logIn(page, OWNER);
    const card = page.getByRole('form', { name: 'Update the hub' });
    await card.getByText('The hub runs version').waitFor();
    await card.getByLabel('Package (.deb)').setInputFiles(pkgPath);
    await card.getByLabel('Release file (.release.json)').setInputFiles(wrongPath);
    await card.getByLabel('Backup passphrase').fill('four unrelated words here');
    await card.getByRole('button', { name: 'Upload and update' }).click();
    await card.getByText('The package is not the one the release was signed for').waitFor({ timeout: 30_000 });
    const spool = join(home.dataDir, 'update');
    expect(existsSync(join(spool, 'request.json'))).toBe(false);

    await card.getByLabel('Release file (.release.json)').setInputFiles(releasePath);
    await card.getByRole('button', { name: 'Upload and update' }).click();
    await card.getByText('Waiting for the update helper to take 0.2.0').waitFor({ timeout: 60_000 });
    const request = JSON.parse(readFileSync(join(spool, 'request.json'), 'utf8'));
    expect(request).toMatchObject({ version: '0.2.0', from: '0.1.0' });
    expect(readFileSync(join(spool, 'package.deb')).equals(readFileSync(pkgPath))).toBe(true);

    // The helper takes the request and, later, rolls a version back that did not come up healthy.
    rmSync(join(spool, 'request.json'));
    writeFileSync(
      join(spool, 'status.json'),
      JSON.stringify({
        id: request.id,
        from: '0.1.0',
        to: '0.2.0',
        state: 'rolled_back',
        step: 'rollback_health',
        steps: [
          { step: 'accept', at: Date.now() },
          { step: 'install', at: Date.now() },
          { step: 'rollback_restore', at: Date.now() },
        ],
        error: { code: 'update_unhealthy', message: 'no answer' },
        missingDevices: [],
        backupId: request.backupId,
        startedAt: Date.now(),
        updatedAt: Date.now(),
      }),
    );
    await card
      .getByText('Version 0.2.0 did not come up healthy, so the hub went back to 0.1.0')
      .waitFor({ timeout: 30_000 });
    await card.getByRole('list', { name: 'Update steps' }).getByText('Going back: restoring the database').waitFor();
    await screenshots(page, 'settings-hub-update');
  }, 180_000);

  it("an admin's Settings has no update card", async () => {
    const { page } = admin;
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await logIn(page, ADMIN);
    await page.getByRole('heading', { name: 'Rooms', exact: true }).waitFor();
    expect(await page.getByRole('heading', { name: 'Update the hub', exact: true }).count()).toBe(0);
  });
});
