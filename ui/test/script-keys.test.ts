import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, type Browser } from './helpers/browser.ts';
import { api, createOwner, OWNER, startTestHub, type TestHome } from './helpers/home.ts';

const MEMBER = { username: 'sam', password: 'sams long password' };

/**
 * Settings → Keys for scripts against the real hub: the owner makes a key, sees it once, a script
 * uses it (its last use shows in the list), and revoking it in the list ends it at the hub (401).
 * A member is offered only the scopes a member may hold.
 */
describe('keys for scripts in Settings', () => {
  let home: TestHome;
  let browser: Browser;
  let memberBrowser: Browser;

  beforeAll(async () => {
    home = await startTestHub();
    const token = (await createOwner(home.hub)).body.accessToken;
    expect(
      (await api(home.hub.baseUrl, 'POST', '/api/v1/users', { token, body: { ...MEMBER, role: 'member' } })).status,
    ).toBe(201);
    browser = await openBrowser();
    memberBrowser = await openBrowser();
  });

  afterAll(async () => {
    await memberBrowser?.close();
    await browser?.close();
    await home?.cleanup();
  });

  const logIn = async (who: { username: string; password: string }, { page } = browser) => {
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await page.getByLabel('Username').fill(who.username);
    await page.getByLabel('Password').fill(who.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page
      .getByTestId('me')
      .filter({ hasText: `Signed in as ${who.username}` })
      .waitFor();
  };

  it('makes a key shown once, lists its use, and revokes it', async () => {
    const { page } = browser;
    await logIn(OWNER);
    await page.getByRole('heading', { name: 'Keys for scripts' }).waitFor();
    await page.getByLabel('Key name').fill('lights script');
    await page.getByLabel('Key access').selectOption('control');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByTestId('script-key-secret').textContent()) ?? '';
    expect(secret).toMatch(/^hsk_/);

    // A script uses it; the list shows when.
    expect((await api(home.hub.baseUrl, 'GET', '/api/v1/devices', { token: secret })).status).toBe(200);
    await page.reload();
    const row = page.getByTestId('script-key').filter({ hasText: 'lights script' });
    await row.waitFor();
    expect(await row.getByTestId('script-key-used').textContent()).not.toBe('never');
    // Shown once: after the reload the secret is nowhere on the page.
    expect(await page.getByText(secret).count()).toBe(0);

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Revoke lights script' }).click();
    await page.getByText('You have no keys.').waitFor();
    const after = await api(home.hub.baseUrl, 'GET', '/api/v1/devices', { token: secret });
    expect(after.status).toBe(401);
  });

  it('offers a member only the scopes a member may hold', async () => {
    const { page } = memberBrowser;
    await logIn(MEMBER, memberBrowser);
    const options = await page
      .getByLabel('Key access')
      .locator('option')
      .evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value));
    expect(options).toEqual(['read', 'control']);
  });
});
