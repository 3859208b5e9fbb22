import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_SIM, IN_NETNS, startSim, type SimProcess } from '../../../hub/test/plug-e2e/helpers.ts';
import { tempDir } from '../../../hub/test/helpers/temp.ts';
import { openBrowser, screenshots, type Browser } from '../helpers/browser.ts';
import { api, createOwner, OWNER, startTestHub, type TestHome } from '../helpers/home.ts';

const PLUG = { id: 'plug-d4d4d4d4d4d4', setupCode: '24681357' };

/**
 * Pairing a real plug in the browser: the C simulator announces itself over multicast DNS, the
 * hub discovers it, the wizard lists it; a wrong code is explained, the right one pairs it and
 * the new device page shows its live power. Multicast: only inside a loopback-only network
 * namespace (`scripts/netns-run`), skipped elsewhere.
 */
describe.skipIf(!IN_NETNS || !HAVE_SIM)('pairing a C-simulator plug in the browser', () => {
  let home: TestHome;
  let browser: Browser;
  let sim: SimProcess;
  const tmp = tempDir('hearth-ui-sim-');

  beforeAll(async () => {
    home = await startTestHub(['--mdns', 'lo']);
    await createOwner(home.hub);
    sim = await startSim({ ...PLUG, stateDir: join(tmp.dir, PLUG.id), loadWatts: 60 });
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${home.hub.baseUrl}/#/add`);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Add a device' }).waitFor();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await sim?.stop();
    await home?.cleanup();
    tmp.cleanup();
  });

  it('lists the discovered plug; a wrong code is explained (400 pairing_wrong_code)', async () => {
    const { page } = browser;
    const plug = page.getByRole('region', { name: 'Hearth plug' });
    await plug.getByRole('radio', { name: new RegExp(PLUG.id) }).check({ timeout: 30_000 });
    await plug.getByLabel('Setup code').fill('13572468');
    await plug.getByLabel('Name').fill('Kettle');
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/plugs/${PLUG.id}/pair`)),
      plug.getByRole('button', { name: 'Pair plug' }).click(),
    ]);
    expect(res.status()).toBe(400);
    await plug.getByRole('alert').filter({ hasText: 'The setup code does not match this plug' }).waitFor();
    await screenshots(page, 'pairing-error');
  });

  it('the right code pairs it; the device page shows it online with live power', async () => {
    const { page } = browser;
    const plug = page.getByRole('region', { name: 'Hearth plug' });
    await plug.getByLabel('Setup code').fill(PLUG.setupCode);
    await plug.getByRole('button', { name: 'Pair plug' }).click();
    await page.getByRole('heading', { name: 'Kettle' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('availability').filter({ hasText: 'Online' }).waitFor();
    await page.getByRole('region', { name: 'Now' }).getByRole('button').click();
    await page.getByRole('region', { name: 'Now' }).locator('[aria-pressed="true"]').waitFor();
    // The simulator meters its 60 W load once switched on.
    await page.locator('[data-reading="power"]').filter({ hasText: /^[1-9]\d*\.\d W$/ }).waitFor({ timeout: 30_000 });
    await screenshots(page, 'paired-plug');
  });
});
