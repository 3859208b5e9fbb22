import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nacl from 'tweetnacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firmwareMessage } from '../../src/drivers/plug/protocol.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { tempDir } from '../helpers/temp.ts';

const vectors = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../firmware/test/vectors/plug-vectors.json', import.meta.url)), 'utf8'),
);
const fwKey = nacl.sign.keyPair.fromSeed(new Uint8Array(Buffer.from(vectors.firmware.signSeed, 'base64')));
const MODEL = 'hearth-plug-sim';

/**
 * Firmware rollouts' refusals on a real hub (no plugs needed; the rollout itself runs with the C
 * simulators in test/plug-e2e/rollout.test.ts): roles, bounds, unknown plugs and images, nothing
 * to resume or cancel.
 */
describe('plug rollout API refusals', () => {
  let tmp: { dir: string; cleanup: () => void };
  let hub: HubProcess;
  let owner: string;
  let member: string;
  const rollout = (body: unknown, token = owner) => api(hub.baseUrl, 'POST', '/api/v1/plugs/rollout', { token, body });

  beforeAll(async () => {
    tmp = tempDir('hearth-rollout-api-');
    const config = join(tmp.dir, 'hub.json');
    writeFileSync(config, JSON.stringify({ plugs: { firmwareKeys: [vectors.firmware.signPublicKey] } }));
    hub = await startHub(join(tmp.dir, 'data'), ['--config', config]);
    owner = await setupOwner(hub);
    expect(
      (
        await api(hub.baseUrl, 'POST', '/api/v1/users', {
          token: owner,
          body: { username: 'mia', password: 'a long enough password', role: 'member' },
        })
      ).status,
    ).toBe(201);
    member = (
      await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
        body: { username: 'mia', password: 'a long enough password' },
      })
    ).body.accessToken;
    const bytes = randomBytes(4096);
    const manifest = {
      model: MODEL,
      version: '1.1.0',
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('base64'),
    };
    const sig = Buffer.from(
      nacl.sign.detached(new TextEncoder().encode(firmwareMessage(manifest)), fwKey.secretKey),
    ).toString('base64');
    expect(
      (
        await api(hub.baseUrl, 'POST', '/api/v1/plugs/firmware', {
          token: owner,
          body: { manifest, sig, image: bytes.toString('base64') },
        })
      ).status,
    ).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await hub?.stop();
    tmp?.cleanup();
  });

  it('refuses members, bad bounds, unknown images and plugs, and a rollout with no plug; nothing to resume or cancel', async () => {
    const cases: [unknown, string | undefined, number, string][] = [
      [{ model: MODEL, version: '1.1.0' }, member, 403, 'forbidden'],
      [{ model: MODEL, version: '1.1.0', waveSize: 0 }, undefined, 400, 'validation_failed'],
      [{ model: MODEL, version: '1.1.0', waveSize: 51 }, undefined, 400, 'validation_failed'],
      [
        { model: MODEL, version: '1.1.0', plugs: Array.from({ length: 501 }, (_, i) => `plug-${i}`) },
        undefined,
        400,
        'validation_failed',
      ],
      [{ model: MODEL, version: '9.9.9' }, undefined, 404, 'firmware_not_found'],
      [{ model: MODEL, version: '1.1.0', plugs: ['plug-000000000000'] }, undefined, 404, 'device_not_found'],
      [{ model: MODEL, version: '1.1.0' }, undefined, 400, 'validation_failed'],
    ];
    for (const [body, token, status, code] of cases) {
      const res = await rollout(body, token);
      expect([JSON.stringify(body).slice(0, 80), res.status, res.body.error?.code]).toEqual([
        JSON.stringify(body).slice(0, 80),
        status,
        code,
      ]);
    }
    expect((await api(hub.baseUrl, 'GET', '/api/v1/plugs/rollout', { token: owner })).body).toEqual({ rollout: null });
    expect((await api(hub.baseUrl, 'GET', '/api/v1/plugs/rollout', { token: member })).status).toBe(403);
    for (const action of ['resume', 'cancel']) {
      const res = await api(hub.baseUrl, 'POST', `/api/v1/plugs/rollout/${action}`, { token: owner });
      expect([action, res.status, res.body.error.code]).toEqual([action, 409, 'rollout_not_paused']);
    }
  }, 60_000);
});
