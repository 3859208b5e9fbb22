import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nacl from 'tweetnacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firmwareMessage } from '../../../hub/src/drivers/plug/protocol.ts';
import { HAVE_SIM, IN_NETNS, startSim, waitFor, type SimProcess } from '../../../hub/test/plug-e2e/helpers.ts';
import { tempDir } from '../../../hub/test/helpers/temp.ts';
import { openBrowser, screenshots, type Browser } from '../helpers/browser.ts';
import { api, createOwner, OWNER, ownerToken, startTestHub, type TestHome } from '../helpers/home.ts';

const MODEL = 'hearth-plug-sim';
const PLUGS = [
  { id: 'plug-b7b7b7b7b701', setupCode: '97531864' },
  { id: 'plug-b7b7b7b7b702', setupCode: '97531865' },
];
const vectors = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../firmware/test/vectors/plug-vectors.json', import.meta.url)), 'utf8'),
);
const fwKey = nacl.sign.keyPair.fromSeed(new Uint8Array(Buffer.from(vectors.firmware.signSeed, 'base64')));

function image(version: string) {
  const bytes = randomBytes(32 * 1024);
  const manifest = {
    model: MODEL,
    version,
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('base64'),
  };
  const sig = Buffer.from(
    nacl.sign.detached(new TextEncoder().encode(firmwareMessage(manifest)), fwKey.secretKey),
  ).toString('base64');
  return { manifest, sig, image: bytes.toString('base64') };
}

/**
 * Settings → Update plugs in waves, with two paired C simulators in the namespace: the admin
 * starts a rollout and sees each plug updated; with a plug off power the rollout pauses, the card
 * names the plug and why, and stopping it skips the rest.
 */
describe.skipIf(!IN_NETNS || !HAVE_SIM)('plug rollout in the browser', () => {
  let home: TestHome;
  let browser: Browser;
  let token: string;
  const sims: SimProcess[] = [];
  const tmp = tempDir('hearth-ui-rollout-');

  beforeAll(async () => {
    const config = join(tmp.dir, 'hub.json');
    writeFileSync(
      config,
      JSON.stringify({ plugs: { firmwareKeys: [vectors.firmware.signPublicKey], updateTimeoutS: 30 } }),
    );
    home = await startTestHub(['--mdns', 'lo', '--config', config]);
    await createOwner(home.hub);
    token = await ownerToken(home.hub.baseUrl);
    for (const p of PLUGS) {
      sims.push(await startSim({ ...p, stateDir: join(tmp.dir, p.id), loadWatts: 5 }));
      await waitFor(
        async () =>
          ((await api(home.hub.baseUrl, 'GET', '/api/v1/plugs/discovered', { token })).body as { id: string }[]).find(
            (d) => d.id === p.id,
          ),
        `${p.id} discovered`,
        60_000,
      );
      expect(
        (
          await api(home.hub.baseUrl, 'POST', `/api/v1/plugs/${p.id}/pair`, {
            token,
            body: { setupCode: p.setupCode, name: p.id },
          })
        ).status,
      ).toBe(201);
      await waitFor(
        async () =>
          (await api(home.hub.baseUrl, 'GET', `/api/v1/plugs/${p.id}/update`, { token })).body.firmware === '1.0.0'
            ? true
            : undefined,
        `${p.id} on 1.0.0`,
        30_000,
      );
    }
    expect(
      (await api(home.hub.baseUrl, 'POST', '/api/v1/plugs/firmware', { token, body: image('1.1.0') })).status,
    ).toBe(201);
    browser = await openBrowser();
    const { page } = browser;
    await page.goto(`${home.hub.baseUrl}/#/settings`);
    await page.getByLabel('Username').fill(OWNER.username);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Log in' }).click();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    for (const s of sims) await s.stop();
    await home?.cleanup();
    tmp.cleanup();
  });

  it('starts a rollout and shows each plug updated', async () => {
    const { page } = browser;
    const card = page.getByRole('form', { name: 'Update plugs in waves' });
    await card.getByLabel('Image').selectOption(`${MODEL}@1.1.0`);
    await card.getByLabel('Plugs per wave after the first').fill('1');
    await card.getByRole('button', { name: 'Start the rollout' }).click();
    await card.getByText(`Finished: ${MODEL} 1.1.0`).waitFor({ timeout: 120_000 });
    for (const p of PLUGS)
      await card.getByRole('list', { name: 'Plugs in the rollout' }).getByText(`${p.id}: updated`).waitFor();
    for (const p of PLUGS)
      expect((await api(home.hub.baseUrl, 'GET', `/api/v1/plugs/${p.id}/update`, { token })).body.firmware).toBe(
        '1.1.0',
      );
    await screenshots(page, 'settings-plug-rollout');
  }, 180_000);

  it('pauses at a plug that is off power, says which and why; stopping skips the rest', async () => {
    expect(
      (await api(home.hub.baseUrl, 'POST', '/api/v1/plugs/firmware', { token, body: image('1.2.0') })).status,
    ).toBe(201);
    await sims[0]!.kill9();
    await waitFor(
      async () =>
        (await api(home.hub.baseUrl, 'GET', `/api/v1/devices/${PLUGS[0]!.id}`, { token })).body.available === false
          ? true
          : undefined,
      'plug 1 offline',
      60_000,
    );
    const { page } = browser;
    await page.reload();
    const card = page.getByRole('form', { name: 'Update plugs in waves' });
    await card.getByLabel('Image').selectOption(`${MODEL}@1.2.0`);
    await card.getByRole('button', { name: 'Start the rollout' }).click();
    await card.getByText(`Paused: ${MODEL} 1.2.0`).waitFor({ timeout: 60_000 });
    await card.getByText(`${PLUGS[0]!.id}: failed (device_unavailable)`).waitFor();
    await card.getByText(`${PLUGS[1]!.id}: waiting`).waitFor();
    await card.getByRole('button', { name: 'Stop the rollout' }).click();
    await card.getByText(`Cancelled: ${MODEL} 1.2.0`).waitFor();
    await card.getByText(`${PLUGS[1]!.id}: skipped`).waitFor();
    expect((await api(home.hub.baseUrl, 'GET', `/api/v1/plugs/${PLUGS[1]!.id}/update`, { token })).body.firmware).toBe(
      '1.1.0',
    );
  }, 180_000);
});
