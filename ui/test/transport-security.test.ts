import { createHash, type X509Certificate } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinnedRequest } from '../../hub/test/helpers/https.ts';
import { openBrowser, type Browser } from './helpers/browser.ts';
import { api, createOwner, OWNER, startTestHub, type TestHome } from './helpers/home.ts';

const ADMIN = { username: 'alex', password: 'alexs long password' };
const MEMBER = { username: 'sam', password: 'sams long password' };

/** The certificate the hub's HTTPS port presents (read without trusting it). */
function presentedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerX509Certificate()!);
      socket.end();
    });
    socket.once('error', reject);
  });
}

/**
 * Settings → "Encryption on the home network" in real Chromium against the real hub: the owner
 * turns plain-MQTT integrations off on http and https-only on from the https address (Chromium
 * trusts the hub's key, as a person does after comparing the fingerprint); the hub's answers
 * change accordingly. An admin sees the switches but cannot use them; a member does not see them.
 */
describe('transport security switches in Settings', () => {
  let home: TestHome;
  let browser: Browser;
  let other: Browser;
  let token: string;
  let pem: string;
  /** Read over https, pinning the hub's certificate: with strict on, plain http only redirects. */
  const settings = async () =>
    (await pinnedRequest(home.hub.https, pem, 'GET', '/api/v1/settings/transport', { token })).body as {
      httpStrict: boolean;
      plainIntegrations: boolean;
    };

  beforeAll(async () => {
    home = await startTestHub();
    token = (await createOwner(home.hub)).body.accessToken;
    for (const [who, role] of [
      [ADMIN, 'admin'],
      [MEMBER, 'member'],
    ] as const)
      expect((await api(home.hub.baseUrl, 'POST', '/api/v1/users', { token, body: { ...who, role } })).status).toBe(
        201,
      );
    pem = (await api(home.hub.baseUrl, 'GET', '/api/v1/broker/certificate', { token })).body.pem;
    const cert = await presentedCertificate(home.hub.https);
    const spki = createHash('sha256')
      .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64');
    browser = await openBrowser(undefined, [`--ignore-certificate-errors-spki-list=${spki}`]);
    other = await openBrowser();
  });

  afterAll(async () => {
    await other?.close();
    await browser?.close();
    await home?.cleanup();
  });

  const logIn = async (base: string, who: { username: string; password: string }, { page } = browser) => {
    await page.goto(`${base}/#/settings`);
    await page.getByLabel('Username').fill(who.username);
    await page.getByLabel('Password').fill(who.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page
      .getByTestId('me')
      .filter({ hasText: `Signed in as ${who.username}` })
      .waitFor();
  };

  it('a new home has plain-MQTT integrations off; the owner turns them on and off on http; https-only waits for the https address', async () => {
    const { page } = browser;
    await logIn(home.hub.baseUrl, OWNER);
    await page.getByRole('heading', { name: 'Encryption on the home network' }).waitFor();
    const strict = page.getByRole('switch', { name: 'Require https for this app' });
    const plain = page.getByRole('switch', { name: 'Let integrations use unencrypted MQTT' });
    expect(await plain.isChecked()).toBe(false);
    expect(await strict.isDisabled()).toBe(true);
    expect(await page.getByTestId('strict-hint').textContent()).toContain(`https://127.0.0.1:${home.hub.https}/`);
    // The switch shows what the hub answered, not the click: it turns once the PATCH came back.
    await plain.click();
    await expect.poll(async () => (await settings()).plainIntegrations).toBe(true);
    await expect.poll(() => plain.isChecked()).toBe(true);
    await plain.click();
    await expect.poll(async () => (await settings()).plainIntegrations).toBe(false);
    await expect.poll(() => plain.isChecked()).toBe(false);
    await page.reload();
    await page.getByRole('heading', { name: 'Encryption on the home network' }).waitFor();
    expect(await page.getByRole('switch', { name: 'Let integrations use unencrypted MQTT' }).isChecked()).toBe(false);
  });

  it('on the https address the owner turns https-only on: plain http then refuses a login', async () => {
    const { page } = browser;
    await logIn(`https://127.0.0.1:${home.hub.https}`, OWNER);
    const strict = page.getByRole('switch', { name: 'Require https for this app' });
    await strict.click();
    await expect.poll(async () => (await settings()).httpStrict).toBe(true);
    await expect.poll(() => strict.isChecked()).toBe(true);
    const login = await api(home.hub.baseUrl, 'POST', '/api/v1/auth/login', { body: OWNER });
    expect([login.status, login.body.error.code]).toEqual([403, 'https_required']);
    // And off again from the same page.
    await strict.click();
    await expect.poll(async () => (await settings()).httpStrict).toBe(false);
    await expect.poll(() => strict.isChecked()).toBe(false);
    expect((await api(home.hub.baseUrl, 'POST', '/api/v1/auth/login', { body: OWNER })).status).toBe(200);
  });

  it('an admin sees the switches but cannot use them; a member does not see them', async () => {
    const { page } = other;
    await logIn(home.hub.baseUrl, ADMIN, other);
    await page.getByRole('heading', { name: 'Encryption on the home network' }).waitFor();
    expect(await page.getByRole('switch', { name: 'Let integrations use unencrypted MQTT' }).isDisabled()).toBe(true);
    await page.getByText('Only the owner changes these.').waitFor();
    const third = await openBrowser();
    try {
      await logIn(home.hub.baseUrl, MEMBER, third);
      await third.page.getByRole('heading', { name: 'Keys for scripts' }).waitFor();
      expect(await third.page.getByRole('heading', { name: 'Encryption on the home network' }).count()).toBe(0);
    } finally {
      await third.close();
    }
  });
});
