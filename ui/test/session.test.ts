import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSetupCode } from '../../hub/test/helpers/http.ts';
import { startHub } from '../../hub/test/helpers/hub-process.ts';
import { openBrowser, screenshots, type Browser } from './helpers/browser.ts';
import { OWNER, startTestHub, type TestHome } from './helpers/home.ts';

/**
 * The way in, through real Chromium and the real hub: first run creates the owner, a reload stays
 * logged in (refresh token), logout ends it, a wrong password says so, and a hub that goes away
 * shows the "unreachable" banner until the UI reconnects by itself.
 */
describe('first run, login, session and reconnect', () => {
  let home: TestHome;
  let browser: Browser;

  beforeAll(async () => {
    home = await startTestHub();
    browser = await openBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await home?.cleanup();
  });

  it('a new hub asks for the owner account and its setup code; creating it lands on the home page', async () => {
    const { page } = browser;
    await page.goto(home.hub.baseUrl);
    await page.getByRole('heading', { name: 'Create the owner account' }).waitFor();
    await screenshots(page, 'setup');
    // The account form (the first-run screen also has the restore-from-backup form, with its own setup code).
    const form = page.locator('form[aria-labelledby="welcome-title"]');
    // The hub's https address and the fingerprint to compare when the browser asks about its certificate.
    const health = await (await fetch(`${home.hub.baseUrl}/api/v1/health`)).json();
    expect(await page.getByTestId('https-fingerprint').textContent()).toBe(health.https.sha256);
    expect(await page.getByTestId('https-address').getAttribute('href')).toBe(`https://127.0.0.1:${home.hub.https}/`);

    await form.getByLabel('Username').fill(OWNER.username);
    await form.getByLabel('Password', { exact: true }).fill(OWNER.password);
    await form.getByLabel('Repeat password').fill(OWNER.password);
    // The page says where the code is; a wrong one is refused in plain words.
    await expect(page.locator('#setup-code-hint').textContent()).resolves.toContain('hearth-admin setup-code');
    await form.getByLabel('Setup code').fill('AAAA-BBBB-CCCC');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('setup code is not right');

    await form.getByLabel('Setup code').fill(readSetupCode(home.dataDir));
    await form.getByLabel('Password', { exact: true }).fill('short');
    await form.getByLabel('Repeat password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    // The hub refuses a 5-character password; the form says what the password needs.
    await expect(page.getByRole('alert').textContent()).resolves.toContain('at least 8 characters');

    await form.getByLabel('Password', { exact: true }).fill(OWNER.password);
    await form.getByLabel('Repeat password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    await page.getByText('No devices yet').waitFor();
  });

  it('a reload stays logged in', async () => {
    const { page } = browser;
    await page.reload();
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    expect(await page.getByRole('button', { name: 'Log in' }).count()).toBe(0);
  });

  it('works from the keyboard: a skip link first, and a new page puts focus on its content', async () => {
    const { page } = browser;
    // A fresh load, so the keyboard starts from the top of the document.
    await page.reload();
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('content');
    await page.getByRole('link', { name: 'Settings' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'content');
    await page.getByRole('link', { name: 'Home' }).click();
  });

  it('logout returns to the login page, in every tab, and a reload does not bring the session back', async () => {
    const { page } = browser;
    // The other tab's access token is good for 15 more minutes: only the logout itself can end it.
    const other = await browser.context.newPage();
    await other.goto(home.hub.baseUrl);
    await other.getByRole('heading', { name: 'Home' }).waitFor();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    await other.getByRole('heading', { name: 'Log in' }).waitFor();
    await other.close();
    await page.reload();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
  });

  it('a wrong password is explained; the right one logs in', async () => {
    const { page } = browser;
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toBe('That username and password do not match.');
    await screenshots(page, 'login');

    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Home' }).waitFor();
  });

  it('shows "hub unreachable" while the hub is down and recovers when it is back', async () => {
    const { page } = browser;
    const port = home.hub.http;
    // The service worker has cached the shell by now (installable app): check before the hub goes.
    const manifest = await (await page.request.get(`${home.hub.baseUrl}/manifest.webmanifest`)).json();
    expect(manifest).toMatchObject({
      name: 'Hearth',
      start_url: '/',
      display: 'standalone',
      icons: [expect.objectContaining({ src: '/icon.svg' })],
    });
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await home.hub.stop();
    await page.getByRole('alert').filter({ hasText: 'Hub unreachable' }).waitFor();
    // A reload with the hub gone still opens the app (from the service worker's cache) and says
    // what is wrong, instead of the browser's error page.
    await page.reload();
    await page.getByRole('alert').filter({ hasText: 'Hub unreachable' }).waitFor();

    // The same data and port: the browser's session and page must carry on by themselves.
    home.hub = await startHub(home.dataDir, ['--http-port', String(port)]);
    await page
      .getByRole('alert')
      .filter({ hasText: 'Hub unreachable' })
      .waitFor({ state: 'detached', timeout: 20_000 });
    await screenshots(page, 'home-empty');
    await page.getByRole('heading', { name: 'Home' }).waitFor();
  });
});
