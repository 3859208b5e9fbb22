import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nacl from 'tweetnacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firmwareMessage, type FirmwareManifest } from '../../../hub/src/drivers/plug/protocol.ts';
import { HAVE_SIM, IN_NETNS, startSim, waitFor, type SimProcess } from '../../../hub/test/plug-e2e/helpers.ts';
import { tempDir } from '../../../hub/test/helpers/temp.ts';
import { openBrowser, screenshots, type Browser } from '../helpers/browser.ts';
import { api, createOwner, OWNER, ownerToken, startTestHub, type TestHome } from '../helpers/home.ts';

const PLUG = { id: 'plug-f6f6f6f6f6f6', setupCode: '13572460' };
const MODEL = 'hearth-plug-sim';
const UPDATE_TIMEOUT_S = 10;
/** The firmware TEST key (its seed is public: firmware/test/vectors/generate.ts), compiled into the simulator. */
const vectors = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../firmware/test/vectors/plug-vectors.json', import.meta.url)), 'utf8'),
);
const fwKey = nacl.sign.keyPair.fromSeed(new Uint8Array(Buffer.from(vectors.firmware.signSeed, 'base64')));

interface Release {
  manifest: FirmwareManifest;
  sig: string;
  bytes: Buffer;
}
/** A release as the release process hands it out: the image and its signed manifest. */
function release(version: string, size: number, key = fwKey): Release {
  const bytes = randomBytes(size);
  const manifest = { model: MODEL, version, size, sha256: createHash('sha256').update(bytes).digest('base64') };
  const sig = Buffer.from(
    nacl.sign.detached(new TextEncoder().encode(firmwareMessage(manifest)), key.secretKey),
  ).toString('base64');
  return { manifest, sig, bytes };
}
const files = (r: Release, bytes = r.bytes) => ({
  image: { name: `${MODEL}-${r.manifest.version}.bin`, mimeType: 'application/octet-stream', buffer: bytes },
  manifest: {
    name: `${MODEL}-${r.manifest.version}.json`,
    mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify({ manifest: r.manifest, sig: r.sig })),
  },
});

/**
 * Plug firmware updates in the browser, against the hub and a paired C simulator (firmware
 * 1.0.0) inside the loopback-only namespace (`scripts/netns-run`; multicast DNS), skipped
 * elsewhere. The admin uploads signed image B in Settings (a tampered one and one signed by an
 * unknown key are refused with their reason), then updates the plug from its page: progress,
 * "Updated to B", and the plug runs B after its restart; an older stored image only after an
 * explicit confirmation (downgrade).
 */
describe.skipIf(!IN_NETNS || !HAVE_SIM)('plug firmware update in the browser', () => {
  let home: TestHome;
  let browser: Browser;
  let sim: SimProcess;
  let token: string;
  const tmp = tempDir('hearth-ui-ota-');
  const B = release('1.1.0', 256 * 1024);

  beforeAll(async () => {
    const config = join(tmp.dir, 'hub.json');
    // A short update timeout for the last test (a plug that vanishes mid-update); well above the
    // time the plug is held (SIGSTOP) while the running update is looked at.
    writeFileSync(
      config,
      JSON.stringify({ plugs: { firmwareKeys: [vectors.firmware.signPublicKey], updateTimeoutS: UPDATE_TIMEOUT_S } }),
    );
    home = await startTestHub(['--mdns', 'lo', '--config', config]);
    await createOwner(home.hub);
    token = await ownerToken(home.hub.baseUrl);
    sim = await startSim({ ...PLUG, stateDir: join(tmp.dir, PLUG.id), loadWatts: 60 });
    // Pairing in the browser is ui/test/plug-e2e/pairing.test.ts; here it is only the setup.
    await waitFor(
      async () =>
        ((await api(home.hub.baseUrl, 'GET', '/api/v1/plugs/discovered', { token })).body as { id: string }[]).find(
          (p) => p.id === PLUG.id,
        ),
      'the plug in /plugs/discovered',
      30_000,
    );
    const paired = await api(home.hub.baseUrl, 'POST', `/api/v1/plugs/${PLUG.id}/pair`, {
      token,
      body: { setupCode: PLUG.setupCode, name: 'Desk lamp' },
    });
    expect(paired.status).toBe(201);
    await waitFor(
      async () =>
        (await api(home.hub.baseUrl, 'GET', `/api/v1/plugs/${PLUG.id}/update`, { token })).body.firmware === '1.0.0'
          ? true
          : undefined,
      'the plug to report firmware 1.0.0',
    );
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
  }, 180_000);

  afterAll(async () => {
    if (sim && sim.proc.exitCode === null && sim.proc.signalCode === null) sim.proc.kill('SIGCONT');
    await browser?.close();
    await sim?.stop();
    await home?.cleanup();
    tmp.cleanup();
  });

  const upload = async (f: ReturnType<typeof files>) => {
    const { page } = browser;
    const section = page.getByRole('region', { name: 'Plug firmware' });
    await section.getByLabel('Firmware image', { exact: true }).setInputFiles(f.image);
    await section.getByLabel('Signed manifest', { exact: true }).setInputFiles(f.manifest);
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/plugs/firmware') && r.request().method() === 'POST'),
      section.getByRole('button', { name: 'Upload firmware' }).click(),
    ]);
    return { section, res };
  };

  it('Settings → Plug firmware: a tampered image and one signed by an unknown key are refused with their reason', async () => {
    const altered = Buffer.from(B.bytes);
    altered[4096]! ^= 1;
    const tampered = await upload(files(B, altered));
    expect([tampered.res.status(), (await tampered.res.json()).error.details.reason]).toEqual([400, 'bad_hash']);
    await tampered.section.getByRole('alert').filter({ hasText: 'does not match its signed manifest' }).waitFor();
    await screenshots(browser.page, 'plug-firmware-tampered');

    const foreign = await upload(files(release('1.1.0', 4096, nacl.sign.keyPair())));
    expect([foreign.res.status(), (await foreign.res.json()).error.details.reason]).toEqual([400, 'bad_signature']);
    await foreign.section.getByRole('alert').filter({ hasText: 'not signed by a trusted Hearth key' }).waitFor();
    expect((await api(home.hub.baseUrl, 'GET', '/api/v1/plugs/firmware', { token })).body).toEqual([]);
  });

  it('uploads signed image B: it is listed with model, version and size', async () => {
    const { section, res } = await upload(files(B));
    expect(res.status()).toBe(201);
    await section
      .getByRole('status')
      .filter({ hasText: `Stored ${MODEL} 1.1.0` })
      .waitFor();
    const row = section.getByTestId('firmware-images').getByRole('row').filter({ hasText: '1.1.0' });
    await row.filter({ hasText: MODEL }).filter({ hasText: '256.0 KB' }).waitFor();
    await expect(section.getByRole('alert').count()).resolves.toBe(0);
    await screenshots(browser.page, 'plug-firmware-stored');
  });

  it('the plug page updates it to B: progress, "Updated to 1.1.0", and firmware 1.1.0 after its restart', async () => {
    const { page } = browser;
    await page.goto(`${home.hub.baseUrl}/#/devices/${PLUG.id}`);
    const card = page.getByRole('region', { name: 'Firmware' });
    await card.getByTestId('firmware-version').filter({ hasText: '1.0.0' }).waitFor();
    const updateButton = card.getByRole('button', { name: 'Update to 1.1.0' });
    await updateButton.waitFor();
    await screenshots(page, 'plug-update-offered');

    // The plug is held (SIGSTOP) so the update is seen under way: the hub has sent ota_begin,
    // the plug has not answered yet.
    sim.proc.kill('SIGSTOP');
    try {
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith(`/plugs/${PLUG.id}/update`) && r.request().method() === 'POST'),
        updateButton.click(),
      ]);
      expect(res.status()).toBe(202);
      const bar = card.getByRole('progressbar', { name: 'Update to 1.1.0' });
      await bar.waitFor();
      expect(Number(await bar.getAttribute('aria-valuenow'))).toBeLessThan(100);
      await card
        .getByTestId('update-status')
        .filter({ hasText: 'Asking the plug to start the update to 1.1.0' })
        .waitFor();
      // One update at a time: the button is disabled while it runs, and the hub says so too.
      expect(await updateButton.isDisabled()).toBe(true);
      const again = await api(home.hub.baseUrl, 'POST', `/api/v1/plugs/${PLUG.id}/update`, {
        token,
        body: { version: '1.1.0' },
      });
      expect([again.status, again.body.error.code]).toEqual([409, 'update_in_progress']);
      await screenshots(page, 'plug-update-running');
    } finally {
      sim.proc.kill('SIGCONT');
    }

    await card.getByTestId('update-status').filter({ hasText: 'Updated to 1.1.0.' }).waitFor({ timeout: 60_000 });
    expect(await card.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    await card.getByTestId('firmware-version').filter({ hasText: '1.1.0' }).waitFor();
    await expect(card.getByRole('button', { name: /^Update to/ }).count()).resolves.toBe(0);
    await screenshots(page, 'plug-update-done');
    // The simulator restarted into the new image and says so.
    const restart = sim.lines.findIndex((l) => l.event === 'restarting');
    expect(restart).toBeGreaterThan(0);
    expect(sim.lines.slice(restart).find((l) => l.event === 'started')).toMatchObject({ firmware: '1.1.0' });

    // A fresh page load shows what the plug runs now.
    await page.reload();
    await page
      .getByRole('region', { name: 'Firmware' })
      .getByTestId('firmware-version')
      .filter({ hasText: '1.1.0' })
      .waitFor();
    await page.getByTestId('availability').filter({ hasText: 'Online' }).waitFor();
  }, 120_000);

  it('an older stored version installs only after an explicit confirmation (downgrade)', async () => {
    const { page } = browser;
    const older = release('1.0.5', 64 * 1024);
    expect(
      (
        await api(home.hub.baseUrl, 'POST', '/api/v1/plugs/firmware', {
          token,
          body: { manifest: older.manifest, sig: older.sig, image: older.bytes.toString('base64') },
        })
      ).status,
    ).toBe(201);
    await page.reload();
    const card = page.getByRole('region', { name: 'Firmware' });
    await card.getByTestId('firmware-version').filter({ hasText: '1.1.0' }).waitFor();
    await card.getByText('Install another stored version').click();
    await card.getByLabel('Stored version').selectOption('1.0.5');
    await card.getByRole('button', { name: 'Install', exact: true }).click();
    const confirm = card.getByRole('group', { name: /older 1\.0\.5/ });
    await confirm.waitFor();
    await screenshots(page, 'plug-update-downgrade-confirm');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await expect(confirm.count()).resolves.toBe(0);
    expect((await api(home.hub.baseUrl, 'GET', `/api/v1/plugs/${PLUG.id}/update`, { token })).body.update.version).toBe(
      '1.1.0',
    );

    await card.getByRole('button', { name: 'Install', exact: true }).click();
    await confirm.getByRole('button', { name: 'Yes, install 1.0.5' }).click();
    await card.getByTestId('update-status').filter({ hasText: 'Updated to 1.0.5.' }).waitFor({ timeout: 60_000 });
    await card.getByTestId('firmware-version').filter({ hasText: '1.0.5' }).waitFor();
    await card.getByRole('button', { name: 'Update to 1.1.0' }).waitFor();
  }, 120_000);

  it('a plug that vanishes during an update: the page says so in plain words; offline, nothing is offered', async () => {
    const { page } = browser;
    const c = release('1.2.0', 64 * 1024);
    expect(
      (
        await api(home.hub.baseUrl, 'POST', '/api/v1/plugs/firmware', {
          token,
          body: { manifest: c.manifest, sig: c.sig, image: c.bytes.toString('base64') },
        })
      ).status,
    ).toBe(201);
    await page.reload();
    const card = page.getByRole('region', { name: 'Firmware' });
    const updateButton = card.getByRole('button', { name: 'Update to 1.2.0' });
    await updateButton.waitFor();
    // Held before it reads the request, then gone for good (power cut): no progress, no report.
    sim.proc.kill('SIGSTOP');
    await updateButton.click();
    await card
      .getByTestId('update-status')
      .filter({ hasText: 'Asking the plug to start the update to 1.2.0' })
      .waitFor();
    await sim.kill9();
    await card
      .getByTestId('update-status')
      .filter({ hasText: 'The plug stopped answering during the update; it keeps its old firmware.' })
      .waitFor({ timeout: (UPDATE_TIMEOUT_S + 30) * 1000 });
    expect(
      (await api(home.hub.baseUrl, 'GET', `/api/v1/plugs/${PLUG.id}/update`, { token })).body.update,
    ).toMatchObject({ version: '1.2.0', state: 'failed', error: 'timeout' });
    await card.getByTestId('firmware-version').filter({ hasText: '1.0.5' }).waitFor();
    await expect(card.getByRole('progressbar').count()).resolves.toBe(0);
    // Offered again, once the plug is back (it is offline now: the hub would refuse).
    await page.getByTestId('availability').filter({ hasText: 'Offline' }).waitFor();
    await card.getByTestId('update-offline').waitFor();
    expect(await updateButton.isDisabled()).toBe(true);
    await screenshots(page, 'plug-update-timeout');
  }, 120_000);
});
