import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSetupCode } from '../../hub/test/helpers/http.ts';
import { openBrowser, type Browser } from './helpers/browser.ts';
import { api, startTestHub, type TestHome } from './helpers/home.ts';

const INSTALLER = { username: 'fitter', password: 'installer passphrase' };
const HOMEOWNER = { username: 'alex', password: 'homeowner passphrase' };

/**
 * The handover in the web app against the real hub: the installer creates their account on the
 * first-run form (installer box ticked), makes the owner invite in Settings (a bad number of
 * days explained at its field), the homeowner accepts the code shown there on the
 * login screen (a wrong code explained), then
 * the owner's Settings shows the installer's support access, which the owner ends; the installer
 * is refused from then on.
 */
describe('Settings → Handover', () => {
  let home: TestHome;
  let installer: Browser;
  let owner: Browser;

  beforeAll(async () => {
    home = await startTestHub();
    installer = await openBrowser();
    owner = await openBrowser();
  });
  afterAll(async () => {
    await owner?.close();
    await installer?.close();
    await home?.cleanup();
  });

  it('the installer invites the owner; the owner sees and ends the support access', async () => {
    const { page } = installer;
    // First run in the page: the setup code, and the installer box ticked.
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    // The account form (the first-run screen also has the restore-from-backup form, with its own setup code).
    const form = page.locator('form[aria-labelledby="welcome-title"]');
    await form.getByLabel('Setup code').fill(readSetupCode(home.dataDir));
    await form.getByLabel('I am setting this hub up for someone else (installer)').check();
    await form.getByLabel('Username').fill(INSTALLER.username);
    await form.getByLabel('Password', { exact: true }).fill(INSTALLER.password);
    await form.getByLabel('Repeat password').fill(INSTALLER.password);
    await form.getByRole('button', { name: 'Create account' }).click();
    await page.getByTestId('me').filter({ hasText: '(installer)' }).waitFor();
    await page.getByRole('heading', { name: 'Hand the home over' }).waitFor();
    await page.getByRole('heading', { name: 'Rooms', exact: true }).waitFor();
    expect(await page.getByRole('heading', { name: 'People', exact: true }).count()).toBe(0);
    await page.getByLabel('Support access after handover (days)').fill('365');
    await page.getByRole('button', { name: 'Make the owner invite' }).click();
    await page.getByText('Support access is 0 to 90 whole days.').waitFor();
    await page.getByLabel('Support access after handover (days)').fill('14');
    await page.getByRole('button', { name: 'Make the owner invite' }).click();
    const code = (await page.getByTestId('owner-invite-code').textContent())!;

    // The homeowner accepts on the login screen: a wrong code is explained, the right one makes the owner.
    const o = owner.page;
    await o.goto(`${home.hub.baseUrl}/#/settings`);
    await o.getByRole('button', { name: 'I have an owner invite from my installer' }).click();
    await o.getByLabel('Owner invite code').fill('ABCD-EFGH-JKMN');
    await o.getByLabel('Your username').fill(HOMEOWNER.username);
    await o.getByLabel('Your password', { exact: true }).fill(HOMEOWNER.password);
    await o.getByLabel('Repeat your password').fill(HOMEOWNER.password);
    await o.getByRole('button', { name: 'Become the owner' }).click();
    await o.getByText(/That invite code is wrong/).waitFor();
    await o.getByLabel('Owner invite code').fill(code.toLowerCase());
    await o.getByRole('button', { name: 'Become the owner' }).click();
    await o.getByRole('heading', { name: 'Installer access' }).waitFor();
    await o.getByText(/fitter: support access until/).waitFor();
    await o.getByRole('button', { name: 'End access for fitter' }).click();
    await o.getByText('fitter: no access').waitFor();

    const login = await api(home.hub.baseUrl, 'POST', '/api/v1/auth/login', { body: INSTALLER });
    expect([login.status, login.body.error.code]).toEqual([403, 'installer_access_ended']);
  }, 120_000);
});
