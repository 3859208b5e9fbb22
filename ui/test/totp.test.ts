import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { totpAt } from '../../hub/test/helpers/totp.ts';
import { openBrowser, screenshots, type Browser } from './helpers/browser.ts';
import { api, createOwner, startTestHub, type TestHome } from './helpers/home.ts';

const MEMBER = { username: 'tia', password: 'tias long password' };
const STEP_MS = 30_000;

/** A 6-digit code the app shows for none of the steps the hub accepts now. */
function wrongCode(secret: string): string {
  const near = new Set([-1, 0, 1, 2].map((n) => totpAt(secret, Date.now() + n * STEP_MS)));
  for (let i = 0; ; i++) {
    const candidate = String(123456 + i * 111).padStart(6, '0');
    if (!near.has(candidate)) return candidate;
  }
}

/**
 * Two-step login against the real hub: a member turns it on in Settings with the password (the key
 * read from the page, the code computed as an authenticator app would), which logs their other
 * sessions out but not this page, and sees the recovery codes once; logging in again asks for the
 * code whatever the password (the hub says nothing of it before the code), explains a wrong
 * password or code, takes the right pair and a recovery code; turning it off needs the password.
 */
describe('two-step login', () => {
  let home: TestHome;
  let browser: Browser;
  let secret = '';
  let recoveryCodes: string[] = [];

  const logIn = async (page: Page) => {
    await page.getByLabel('Username').fill(MEMBER.username);
    await page.getByLabel('Password').fill(MEMBER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
  };
  const heading = (page: Page, name: string) => page.getByRole('heading', { name, exact: true });
  const signedIn = (page: Page) =>
    page
      .getByTestId('me')
      .filter({ hasText: `Signed in as ${MEMBER.username} (member).` })
      .waitFor();

  beforeAll(async () => {
    home = await startTestHub();
    const token = (await createOwner(home.hub)).body.accessToken;
    expect(
      (await api(home.hub.baseUrl, 'POST', '/api/v1/users', { token, body: { ...MEMBER, role: 'member' } })).status,
    ).toBe(201);
    browser = await openBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await home?.cleanup();
  });

  it('is turned on from Settings with the password: key and QR code, a code from the app confirms, other sessions end, recovery codes shown once', async () => {
    const { page } = browser;
    // Another device of the member's, logged in before.
    const other = await api(home.hub.baseUrl, 'POST', '/api/v1/auth/login', { body: MEMBER });
    expect(other.status).toBe(200);
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await logIn(page);
    await signedIn(page);
    await heading(page, 'Two-step login').waitFor();
    await page.getByRole('button', { name: 'Turn on two-step login' }).click();
    const key = page.getByTestId('totp-secret');
    await key.waitFor();
    await page.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor();
    // What a person types into the app: the key as shown, spaces and all.
    secret = ((await key.textContent()) ?? '').replace(/\s/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await screenshots(page, 'settings-two-step-setup');

    // The password is asked for; a wrong one, and then a wrong code, are explained at their fields.
    await page.getByLabel('Code from the app').fill(totpAt(secret, Date.now()));
    await page.getByRole('button', { name: 'Confirm and turn on' }).click();
    await page.locator('#two-step-password-error').filter({ hasText: 'Enter your password.' }).waitFor();
    await page.getByLabel('Password to turn it on').fill('not my password');
    await page.getByRole('button', { name: 'Confirm and turn on' }).click();
    await page.locator('#two-step-password-error').filter({ hasText: 'That is not your password.' }).waitFor();
    await page.getByLabel('Password to turn it on').fill(MEMBER.password);
    await page.getByLabel('Code from the app').fill(wrongCode(secret));
    await page.getByRole('button', { name: 'Confirm and turn on' }).click();
    await page.locator('#two-step-code-error').filter({ hasText: 'That code does not match.' }).waitFor();

    await page.getByLabel('Code from the app').fill(totpAt(secret, Date.now()));
    await page.getByRole('button', { name: 'Confirm and turn on' }).click();
    const list = page.getByTestId('recovery-codes').locator('li');
    await list.first().waitFor();
    recoveryCodes = (await list.allTextContents()).map((c) => c.trim());
    expect(recoveryCodes).toHaveLength(10);
    await screenshots(page, 'settings-two-step-codes');
    await page.getByRole('button', { name: 'I have saved them' }).click();
    expect(await page.getByTestId('recovery-codes').count()).toBe(0);
    await page.getByRole('button', { name: 'Turn off two-step login' }).waitFor();
    // The other device's session ended; this page carries on with the fresh one it was given.
    expect((await api(home.hub.baseUrl, 'GET', '/api/v1/me', { token: other.body.accessToken })).status).toBe(401);
    expect(
      (await api(home.hub.baseUrl, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: other.body.refreshToken } }))
        .status,
    ).toBe(401);
    // The hub agrees, and the codes are not shown again after a reload.
    await page.reload();
    await signedIn(page);
    await page.getByRole('button', { name: 'Turn off two-step login' }).waitFor();
    expect(await page.getByTestId('recovery-codes').count()).toBe(0);
  });

  it('logging in asks for the code whatever the password; a wrong password or code is explained; the right pair logs in', async () => {
    const { page } = browser;
    await page.getByRole('button', { name: 'Log out' }).click();
    await heading(page, 'Log in').waitFor();
    // A wrong password is not told apart before the code: the page asks for the code alike, and
    // the pair is refused as one.
    await page.getByLabel('Username').fill(MEMBER.username);
    await page.getByLabel('Password').fill('not my password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByLabel('Code from your authenticator app').fill(totpAt(secret, Date.now() + STEP_MS));
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'The password or the code is not right' }).waitFor();
    await page.reload();
    await heading(page, 'Log in').waitFor();
    await logIn(page);
    const codeField = page.getByLabel('Code from your authenticator app');
    await codeField.waitFor();
    expect(await codeField.getAttribute('autocomplete')).toBe('one-time-code');
    expect(await codeField.getAttribute('inputmode')).toBe('numeric');
    // Still the login page: nothing was issued for the password alone.
    expect(await heading(page, 'Log in').count()).toBe(1);
    await screenshots(page, 'login-two-step');

    await codeField.fill(wrongCode(secret));
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'The password or the code is not right' }).waitFor();
    expect(await heading(page, 'Log in').count()).toBe(1);

    // The next step's code: the one that confirmed the setup may still be the current one, and
    // the hub takes each step once.
    await codeField.fill(totpAt(secret, Date.now() + STEP_MS));
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('link', { name: 'Settings' }).click();
    await signedIn(page);
  });

  it('a recovery code logs in once', async () => {
    const { page } = browser;
    await page.getByRole('button', { name: 'Log out' }).click();
    await heading(page, 'Log in').waitFor();
    await logIn(page);
    await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
    await page.getByLabel('Recovery code').fill(recoveryCodes[0]!);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('link', { name: 'Settings' }).click();
    await signedIn(page);

    await page.getByRole('button', { name: 'Log out' }).click();
    await heading(page, 'Log in').waitFor();
    await logIn(page);
    await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
    await page.getByLabel('Recovery code').fill(recoveryCodes[0]!);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'The password or the recovery code is not right' }).waitFor();
    await page.getByLabel('Recovery code').fill(recoveryCodes[1]!);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('link', { name: 'Settings' }).click();
    await signedIn(page);
  });

  it('is turned off with the password', async () => {
    const { page } = browser;
    await page.getByRole('button', { name: 'Turn off two-step login' }).waitFor();
    await page.getByLabel('Password to turn it off').fill('not my password');
    await page.getByRole('button', { name: 'Turn off two-step login' }).click();
    await page.locator('#two-step-password-error').filter({ hasText: 'That is not your password.' }).waitFor();
    await page.getByLabel('Password to turn it off').fill(MEMBER.password);
    await page.getByRole('button', { name: 'Turn off two-step login' }).click();
    await page.getByRole('status').filter({ hasText: 'Two-step login is off.' }).waitFor();
    await page.getByRole('button', { name: 'Turn on two-step login' }).waitFor();
    expect((await api(home.hub.baseUrl, 'POST', '/api/v1/auth/login', { body: MEMBER })).status).toBe(200);
  });
});
