import { createHash, type X509Certificate } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSetupCode } from '../../hub/test/helpers/http.ts';
import { openBrowser, type Browser } from './helpers/browser.ts';
import { OWNER, startTestHub, type TestHome } from './helpers/home.ts';

/** The certificate the hub's HTTPS port presents (read without trusting it, as a browser's first visit does). */
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
 * `http.strict` in real Chromium (issue 17): the first-run screen on plain http shows the
 * fingerprint; once the owner exists the app moves to the hub's https address, where the person
 * logs in over TLS. Chromium trusts the hub's certificate by its key's hash, as a person does by
 * comparing the fingerprint and accepting it.
 */
describe('first run with http.strict', () => {
  let home: TestHome;
  let browser: Browser;
  let cert: X509Certificate;
  let config: string;

  beforeAll(async () => {
    config = join(process.env.TMPDIR ?? '/tmp', `hearth-strict-${process.pid}.json`);
    writeFileSync(config, JSON.stringify({ http: { strict: true } }));
    home = await startTestHub(['--config', config]);
    cert = await presentedCertificate(home.hub.https);
    const spki = createHash('sha256')
      .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64');
    browser = await openBrowser(undefined, [`--ignore-certificate-errors-spki-list=${spki}`]);
  });

  afterAll(async () => {
    await browser?.close();
    await home?.cleanup();
    rmSync(config, { force: true });
  });

  it('shows the fingerprint on plain http, creates the owner there, then continues on https', async () => {
    const { page } = browser;
    await page.goto(home.hub.baseUrl);
    await page.getByRole('heading', { name: 'Create the owner account' }).waitFor();
    expect(await page.getByTestId('https-fingerprint').textContent()).toBe(cert.fingerprint256);
    const secure = `https://127.0.0.1:${home.hub.https}/`;
    expect(await page.getByTestId('https-address').getAttribute('href')).toBe(secure);

    const form = page.locator('form[aria-labelledby="welcome-title"]');
    await form.getByLabel('Setup code').fill(readSetupCode(home.dataDir));
    await form.getByLabel('Username').fill(OWNER.username);
    await form.getByLabel('Password', { exact: true }).fill(OWNER.password);
    await form.getByLabel('Repeat password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Create account' }).click();

    // A new origin: the app there asks for the password, sent over TLS.
    await page.waitForURL(secure);
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Home' }).waitFor();

    // The plain http address now sends the browser to https.
    await page.goto(home.hub.baseUrl);
    expect(page.url()).toBe(secure);
    await page.getByRole('heading', { name: 'Home' }).waitFor();
  });
});
