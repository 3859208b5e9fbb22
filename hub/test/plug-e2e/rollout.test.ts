import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nacl from 'tweetnacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firmwareMessage } from '../../src/drivers/plug/protocol.ts';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { tempDir } from '../helpers/temp.ts';
import { HAVE_SIM, IN_NETNS, openEvents, startSim, waitFor, type EventsSocket, type SimProcess } from './helpers.ts';

/**
 * Firmware to many plugs in waves (hub/src/drivers/plug/rollout.ts), with four C simulators in
 * the test namespace: one plug first, then groups; a wave starts only after the one before it
 * ended; the first failure pauses the rollout with each plug's outcome; resume carries on.
 */
const vectors = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../firmware/test/vectors/plug-vectors.json', import.meta.url)), 'utf8'),
);
const fwKey = nacl.sign.keyPair.fromSeed(new Uint8Array(Buffer.from(vectors.firmware.signSeed, 'base64')));
const MODEL = 'hearth-plug-sim';
const PLUGS = ['plug-0a0a0a0a0a01', 'plug-0a0a0a0a0a02', 'plug-0a0a0a0a0a03', 'plug-0a0a0a0a0a04'].map((id, i) => ({
  id,
  setupCode: `1357246${i}`,
}));

function image(version: string, size: number) {
  const bytes = randomBytes(size);
  const manifest = { model: MODEL, version, size, sha256: createHash('sha256').update(bytes).digest('base64') };
  const sig = Buffer.from(
    nacl.sign.detached(new TextEncoder().encode(firmwareMessage(manifest)), fwKey.secretKey),
  ).toString('base64');
  return { manifest, sig, image: bytes.toString('base64') };
}

describe.skipIf(!IN_NETNS || !HAVE_SIM)('plug firmware rollout in waves with the C simulator', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: HubProcess;
  let token: string;
  let member: string;
  let events: EventsSocket;
  const sims = new Map<string, SimProcess>();
  const rollout = async () => (await api(hub.baseUrl, 'GET', '/api/v1/plugs/rollout', { token })).body.rollout;
  const until = (state: string) =>
    waitFor(
      async () => {
        const r = await rollout();
        return r?.state === state ? r : undefined;
      },
      `rollout ${state}`,
      120_000,
    );
  const firmwareOf = async (id: string) =>
    (await api(hub.baseUrl, 'GET', `/api/v1/plugs/${id}/update`, { token })).body.firmware as string;
  /** When each plug's update was sent and when it ended, in the order the events came. */
  const order = (version: string) =>
    events.events
      .filter(
        (e) =>
          e.type === 'plug.update' &&
          e.version === version &&
          (e.state === 'sending' || e.state === 'done' || e.state === 'failed'),
      )
      .map((e) => `${e.deviceId}:${e.state}`);

  beforeAll(async () => {
    tmp = tempDir();
    const config = join(tmp.dir, 'hub.json');
    writeFileSync(
      config,
      JSON.stringify({ plugs: { firmwareKeys: [vectors.firmware.signPublicKey], updateTimeoutS: 30 } }),
    );
    hub = await startHub(join(tmp.dir, 'hub'), ['--mdns', 'lo', '--config', config]);
    token = await setupOwner(hub);
    expect(
      (
        await api(hub.baseUrl, 'POST', '/api/v1/users', {
          token,
          body: { username: 'mia', password: 'a long enough password', role: 'member' },
        })
      ).status,
    ).toBe(201);
    member = (
      await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
        body: { username: 'mia', password: 'a long enough password' },
      })
    ).body.accessToken;
    events = await openEvents(hub.baseUrl, token);
    for (const p of PLUGS) {
      sims.set(p.id, await startSim({ ...p, stateDir: join(tmp.dir, 'sims', p.id), loadWatts: 10 }));
      await waitFor(
        async () =>
          ((await api(hub.baseUrl, 'GET', '/api/v1/plugs/discovered', { token })).body as { id: string }[]).find(
            (d) => d.id === p.id,
          ),
        `${p.id} discovered`,
        60_000,
      );
      const paired = await api(hub.baseUrl, 'POST', `/api/v1/plugs/${p.id}/pair`, {
        token,
        body: { setupCode: p.setupCode, name: p.id },
      });
      expect(paired.status, JSON.stringify(paired.body)).toBe(201);
      await waitFor(
        async () => ((await firmwareOf(p.id)) === '1.0.0' ? true : undefined),
        `${p.id} reports 1.0.0`,
        30_000,
      );
    }
  }, 300_000);
  afterAll(async () => {
    events?.close();
    for (const s of sims.values()) await s.stop();
    await hub?.stop();
    tmp?.cleanup();
  });

  it('updates all four in waves of one, two, one; each wave after the last one ended', async () => {
    expect(
      (await api(hub.baseUrl, 'POST', '/api/v1/plugs/firmware', { token, body: image('1.1.0', 64 * 1024) })).status,
    ).toBe(201);
    const asMember = await api(hub.baseUrl, 'POST', '/api/v1/plugs/rollout', {
      token: member,
      body: { model: MODEL, version: '1.1.0' },
    });
    expect([asMember.status, asMember.body.error.code]).toEqual([403, 'forbidden']);
    const started = await api(hub.baseUrl, 'POST', '/api/v1/plugs/rollout', {
      token,
      body: { model: MODEL, version: '1.1.0', waveSize: 2 },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body.plugs.map((p: { deviceId: string; wave: number }) => [p.deviceId, p.wave])).toEqual([
      [PLUGS[0]!.id, 0],
      [PLUGS[1]!.id, 1],
      [PLUGS[2]!.id, 1],
      [PLUGS[3]!.id, 2],
    ]);
    const again = await api(hub.baseUrl, 'POST', '/api/v1/plugs/rollout', {
      token,
      body: { model: MODEL, version: '1.1.0' },
    });
    expect([again.status, again.body.error.code]).toEqual([409, 'rollout_in_progress']);

    const done = await until('done');
    expect(done.plugs.map((p: { state: string; error: string | null }) => [p.state, p.error])).toEqual(
      PLUGS.map(() => ['done', null]),
    );
    for (const p of PLUGS) expect(await firmwareOf(p.id)).toBe('1.1.0');
    // The waves, as the plugs' update events show them: the canary ends before the second wave
    // is sent anything, the second wave ends before the third is.
    const seen = order('1.1.0');
    const at = (s: string) => seen.indexOf(s);
    expect(at(`${PLUGS[0]!.id}:done`)).toBeLessThan(at(`${PLUGS[1]!.id}:sending`));
    expect(at(`${PLUGS[0]!.id}:done`)).toBeLessThan(at(`${PLUGS[2]!.id}:sending`));
    expect(Math.max(at(`${PLUGS[1]!.id}:done`), at(`${PLUGS[2]!.id}:done`))).toBeLessThan(
      at(`${PLUGS[3]!.id}:sending`),
    );
    expect(seen.filter((s) => s.endsWith(':sending'))).toHaveLength(4);
  }, 300_000);

  it("pauses on the first failure with each plug's outcome, sends nothing further; resume carries on", async () => {
    expect(
      (await api(hub.baseUrl, 'POST', '/api/v1/plugs/firmware', { token, body: image('1.2.0', 64 * 1024) })).status,
    ).toBe(201);
    // The second plug (in the second wave) loses power before the rollout reaches it.
    await sims.get(PLUGS[1]!.id)!.kill9();
    await waitFor(
      async () =>
        (await api(hub.baseUrl, 'GET', `/api/v1/devices/${PLUGS[1]!.id}`, { token })).body.available === false
          ? true
          : undefined,
      'plug 2 offline',
      60_000,
    );
    const started = await api(hub.baseUrl, 'POST', '/api/v1/plugs/rollout', {
      token,
      body: { model: MODEL, version: '1.2.0', waveSize: 2 },
    });
    expect(started.status).toBe(202);
    const paused = await until('paused');
    expect(
      paused.plugs.map((p: { deviceId: string; state: string; error: string | null }) => [
        p.deviceId,
        p.state,
        p.error,
      ]),
    ).toEqual([
      [PLUGS[0]!.id, 'done', null],
      [PLUGS[1]!.id, 'failed', 'device_unavailable'],
      [PLUGS[2]!.id, 'done', null],
      [PLUGS[3]!.id, 'pending', null],
    ]);
    expect(paused.pausedReason).toContain(PLUGS[1]!.id);
    // Nothing was sent to the fourth plug: it still runs 1.1.0.
    expect(order('1.2.0').filter((s) => s.startsWith(PLUGS[3]!.id))).toEqual([]);
    expect(await firmwareOf(PLUGS[3]!.id)).toBe('1.1.0');
    const other = await api(hub.baseUrl, 'POST', '/api/v1/plugs/rollout', {
      token,
      body: { model: MODEL, version: '1.2.0' },
    });
    expect([other.status, other.body.error.code]).toEqual([409, 'rollout_in_progress']);

    expect((await api(hub.baseUrl, 'POST', '/api/v1/plugs/rollout/resume', { token })).status).toBe(200);
    const done = await until('done');
    expect(done.plugs.map((p: { state: string }) => p.state)).toEqual(['done', 'failed', 'done', 'done']);
    expect(await firmwareOf(PLUGS[3]!.id)).toBe('1.2.0');
    const resumeAgain = await api(hub.baseUrl, 'POST', '/api/v1/plugs/rollout/resume', { token });
    expect([resumeAgain.status, resumeAgain.body.error.code]).toEqual([409, 'rollout_not_paused']);
  }, 300_000);
});
