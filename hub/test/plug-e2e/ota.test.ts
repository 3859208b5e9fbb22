import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import nacl from 'tweetnacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ed25519Signer,
  encodeCommand,
  firmwareMessage,
  signCommand,
  type FirmwareManifest,
} from '../../src/drivers/plug/protocol.ts';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { connectMqtt } from '../helpers/mqtt.ts';
import { tempDir } from '../helpers/temp.ts';
import { HAVE_SIM, IN_NETNS, openEvents, startSim, waitFor, type EventsSocket, type SimProcess } from './helpers.ts';

/**
 * Firmware updates end to end (docs/plug-protocol.md "Firmware update"), inside the test
 * namespace: the hub process, the C simulator, images signed with the firmware TEST key (the
 * one compiled into the simulator). A → B with a restart; SIGKILL mid-transfer and resume;
 * bytes altered in transfer refused by the plug (bad_hash) and shown by the hub; a plug that
 * vanishes and stays away fails with timeout, and comes back on its old firmware.
 */
const vectors = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../firmware/test/vectors/plug-vectors.json', import.meta.url)), 'utf8'),
);
const fwKey = nacl.sign.keyPair.fromSeed(new Uint8Array(Buffer.from(vectors.firmware.signSeed, 'base64')));
const P = { id: 'plug-e5e5e5e5e5e5', setupCode: '24682468' };
const MODEL = 'hearth-plug-sim';
const TIMEOUT_S = 8;

interface Image {
  manifest: FirmwareManifest;
  sig: string;
  bytes: Buffer;
}
function image(version: string, size: number, key = fwKey): Image {
  const bytes = randomBytes(size);
  const manifest = { model: MODEL, version, size, sha256: createHash('sha256').update(bytes).digest('base64') };
  const sig = Buffer.from(
    nacl.sign.detached(new TextEncoder().encode(firmwareMessage(manifest)), key.secretKey),
  ).toString('base64');
  return { manifest, sig, bytes };
}
const uploadBody = (img: Image, bytes = img.bytes) => ({
  manifest: img.manifest,
  sig: img.sig,
  image: bytes.toString('base64'),
});

describe.skipIf(!IN_NETNS || !HAVE_SIM)('plug firmware update end to end with the C simulator', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: HubProcess;
  let token: string;
  let events: EventsSocket;
  let sim: SimProcess;
  let config: string;
  const clients: MqttClient[] = [];
  const stateDir = () => join(tmp.dir, 'sims', P.id);
  const startPlug = async () => (sim = await startSim({ ...P, stateDir: stateDir(), loadWatts: 60 }));
  const status = async () => (await api(hub.baseUrl, 'GET', `/api/v1/plugs/${P.id}/update`, { token })).body;
  const upload = (body: unknown) => api(hub.baseUrl, 'POST', '/api/v1/plugs/firmware', { token, body });
  const update = (version: string) =>
    api(hub.baseUrl, 'POST', `/api/v1/plugs/${P.id}/update`, { token, body: { version } });
  const until = (state: string, timeoutMs = 60_000) =>
    waitFor(
      async () => {
        const s = await status();
        return s.update?.state === state ? s : undefined;
      },
      `update state ${state}`,
      timeoutMs,
    );
  /** The simulator's `{"event":"ota"}` lines from index `from` on. */
  const otaLine = (pred: (l: Record<string, any>) => boolean, from = 0): Promise<Record<string, any>> =>
    waitFor(
      () => sim.lines.slice(from).find((l) => l.event === 'ota' && pred(l)),
      'a matching ota line on the simulator',
    );
  const booted = () =>
    existsSync(join(stateDir(), 'ota-boot')) ? readFileSync(join(stateDir(), 'ota-boot'), 'utf8') : null;

  beforeAll(async () => {
    tmp = tempDir();
    config = join(tmp.dir, 'hub.json');
    writeFileSync(
      config,
      JSON.stringify({
        plugs: { firmwareKeys: [vectors.firmware.signPublicKey], updateTimeoutS: TIMEOUT_S },
        mqtt: { plainIntegrations: true },
      }),
    );
    hub = await startHub(join(tmp.dir, 'hub'), ['--mdns', 'lo', '--config', config]);
    token = await setupOwner(hub);
    events = await openEvents(hub.baseUrl, token);
    await startPlug();
    await waitFor(
      async () =>
        ((await api(hub.baseUrl, 'GET', '/api/v1/plugs/discovered', { token })).body as { id: string }[]).find(
          (p) => p.id === P.id,
        ),
      'the plug in /plugs/discovered',
    );
    const paired = await api(hub.baseUrl, 'POST', `/api/v1/plugs/${P.id}/pair`, {
      token,
      body: { setupCode: P.setupCode, name: 'Lamp' },
    });
    expect(paired.status).toBe(201);
    await waitFor(
      async () => ((await status()).firmware === '1.0.0' ? true : undefined),
      'the plug to report firmware 1.0.0',
    );
  }, 180_000);
  afterAll(async () => {
    for (const c of clients) c.end(true);
    events?.close();
    await sim?.stop();
    await hub?.stop();
    tmp?.cleanup();
  });

  it('keeps only images signed by a trusted key whose bytes match: tampered uploads are refused', async () => {
    const b = image('1.1.0', 256 * 1024);
    const altered = Buffer.from(b.bytes);
    altered[1000]! ^= 1;
    const bad = await upload(uploadBody(b, altered));
    expect([bad.status, bad.body.error.code, bad.body.error.details?.reason]).toEqual([
      400,
      'firmware_invalid',
      'bad_hash',
    ]);
    const otherKey = image('1.1.0', 1024, nacl.sign.keyPair());
    const unsigned = await upload(uploadBody(otherKey));
    expect([unsigned.status, unsigned.body.error.code, unsigned.body.error.details?.reason]).toEqual([
      400,
      'firmware_invalid',
      'bad_signature',
    ]);
    expect((await api(hub.baseUrl, 'GET', '/api/v1/plugs/firmware', { token })).body).toEqual([]);
    expect((await update('1.1.0')).body.error.code).toBe('firmware_not_found');
  });

  it('updates 1.0.0 -> 1.1.0: chunks, verify, restart, reports 1.1.0; progress on /events', async () => {
    const b = image('1.1.0', 256 * 1024);
    expect((await upload(uploadBody(b))).status).toBe(201);
    const started = Date.now();
    const res = await update('1.1.0');
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      deviceId: P.id,
      firmware: '1.0.0',
      update: { version: '1.1.0', from: '1.0.0', state: 'sending', size: b.bytes.length },
    });
    const done = await until('done');
    const ms = Date.now() - started;
    console.log(JSON.stringify({ figure: 'ota_update', kb: b.bytes.length / 1024, ms }));
    expect(done).toMatchObject({
      firmware: '1.1.0',
      update: { state: 'done', error: null, offset: b.bytes.length, progress: 1 },
    });
    // It restarted (same process, re-executed) and came back running 1.1.0.
    const restart = sim.lines.findIndex((l) => l.event === 'restarting');
    expect(restart).toBeGreaterThan(0);
    expect(sim.lines.slice(restart).find((l) => l.event === 'started')).toMatchObject({ firmware: '1.1.0' });
    expect(readFileSync(join(stateDir(), 'ota-active.bin')).equals(b.bytes)).toBe(true);
    const states = events.events.filter((e) => e.type === 'plug.update' && e.deviceId === P.id).map((e) => e.state);
    expect(states[0]).toBe('sending');
    expect(states).toContain('downloading');
    expect(states.slice(-2)).toEqual(['rebooting', 'done']);
    expect((await api(hub.baseUrl, 'GET', `/api/v1/devices/${P.id}`, { token })).body.available).toBe(true);
    // Installing what runs is refused before anything is sent.
    expect((await update('1.1.0')).body.error.code).toBe('firmware_current');
  }, 120_000);

  it('SIGKILL mid-transfer: the restarted plug resumes at its stored offset and completes; never boots half an image', async () => {
    const c = image('1.2.0', 1024 * 1024);
    expect((await upload(uploadBody(c))).status).toBe(201);
    const from = sim.lines.length;
    expect((await update('1.2.0')).status).toBe(202);
    const progress = await otaLine(
      (l) => l.state === 'downloading' && l.version === '1.2.0' && l.offset >= 128 * 1024,
      from,
    );
    await sim.kill9();
    // Killed: the hub says the update is still under way (not done, not silently dropped).
    expect((await status()).update).toMatchObject({ version: '1.2.0', state: 'downloading' });
    expect(booted()).toBe('1.1.0');
    await startPlug();
    // It picks up where its flash says it was: not at 0.
    const resumed = await otaLine((l) => l.state === 'downloading' && l.version === '1.2.0');
    expect(resumed.offset).toBeGreaterThanOrEqual(progress.offset);
    expect(sim.lines.find((l) => l.event === 'started')).toMatchObject({ firmware: '1.1.0' });
    const done = await until('done');
    expect(done).toMatchObject({ firmware: '1.2.0', update: { version: '1.2.0', state: 'done' } });
    expect(readFileSync(join(stateDir(), 'ota-active.bin')).equals(c.bytes)).toBe(true);
    expect(booted()).toBe('1.2.0');
  }, 120_000);

  it('bytes altered in transfer: the plug hashes the slot, refuses (bad_hash), keeps running 1.2.0; the hub shows the code', async () => {
    const d = image('1.3.0', 64 * 1024);
    expect((await upload(uploadBody(d))).status).toBe(201);
    // Someone with the hub's signing key and write access to the plug's topics (the worst case)
    // starts the same image first and answers the first chunk with altered bytes.
    const db = new Database(join(tmp.dir, 'hub', 'hearth.db'), { readonly: true });
    const seed = JSON.parse(
      (db.prepare("SELECT value FROM settings WHERE key = 'plugs.hubSignSeed'").get() as { value: string }).value,
    ) as string;
    db.close();
    const hubKey = nacl.sign.keyPair.fromSeed(new Uint8Array(Buffer.from(seed, 'base64')));
    const created = await api(hub.baseUrl, 'POST', '/api/v1/integrations/mqtt-users', {
      token,
      body: { username: 'meddler', scope: 'readwrite', topics: ['hearth/#'] },
    });
    const meddler = await connectMqtt(hub.mqtt, { username: 'meddler', password: created.body.password });
    clients.push(meddler);
    await meddler.subscribeAsync(`hearth/${P.id}/ota/req`, { qos: 0 });
    const accepted = new Promise<void>((resolve) => {
      meddler.on('message', (_topic, payload) => {
        const req = JSON.parse(String(payload)) as { offset: number; sha256: string };
        if (req.offset === 0) {
          const chunk = Buffer.alloc(36 + 4096);
          Buffer.from(req.sha256, 'base64').copy(chunk, 4);
          d.bytes.copy(chunk, 36, 0, 4096);
          chunk[36 + 100]! ^= 0x80;
          void meddler.publishAsync(`hearth/${P.id}/ota`, chunk, { qos: 0 });
        } else if (req.offset === 4096) resolve();
      });
    });
    const last = Number(readFileSync(join(stateDir(), 'ctr'), 'utf8'));
    const value = { manifest: d.manifest, sig: d.sig, downgrade: false };
    await meddler.publishAsync(
      `hearth/${P.id}/cmd`,
      encodeCommand(signCommand(ed25519Signer(hubKey.secretKey), P.id, last + 1, Date.now(), 'ota_begin', value)),
      { qos: 1 },
    );
    await accepted;
    meddler.removeAllListeners('message');
    // The hub's next counter is the one the meddler used: that command is refused as a replay...
    expect(
      (
        await api(hub.baseUrl, 'POST', `/api/v1/devices/${P.id}/commands`, {
          token,
          body: { capability: 'switch', value: true },
        })
      ).body.error.code,
    ).toBe('device_rejected');
    // ...and the hub's own update of the same image continues the transfer the plug has.
    const from = sim.lines.length;
    expect((await update('1.3.0')).status).toBe(202);
    const failed = await until('failed');
    expect(failed).toMatchObject({
      firmware: '1.2.0',
      update: { version: '1.3.0', state: 'failed', error: 'bad_hash' },
    });
    expect(sim.lines.slice(from).some((l) => l.event === 'restarting')).toBe(false);
    expect(booted()).toBe('1.2.0');
    const e = await events.next(
      (x) => x.type === 'plug.update' && x.version === '1.3.0' && x.state === 'failed',
      'the failed plug.update event',
    );
    expect(e.error).toBe('bad_hash');
  }, 120_000);

  it('a plug that vanishes mid-update and stays away: failed with timeout; it comes back on its old firmware', async () => {
    const e = image('1.4.0', 1024 * 1024);
    expect((await upload(uploadBody(e))).status).toBe(201);
    const from = sim.lines.length;
    expect((await update('1.4.0')).status).toBe(202);
    await otaLine((l) => l.state === 'downloading' && l.version === '1.4.0' && l.offset >= 64 * 1024, from);
    await sim.kill9();
    const failed = await until('failed', (TIMEOUT_S + 20) * 1000);
    expect(failed.update).toMatchObject({ version: '1.4.0', state: 'failed', error: 'timeout' });
    await startPlug();
    expect(sim.lines.find((l) => l.event === 'started')).toMatchObject({ firmware: '1.2.0' });
    expect(booted()).toBe('1.2.0');
    // A new update of the same image, once the plug is back, continues what its flash holds.
    await waitFor(
      async () =>
        (await api(hub.baseUrl, 'GET', `/api/v1/devices/${P.id}`, { token })).body.available ? true : undefined,
      'the plug back online',
    );
    expect((await update('1.4.0')).status).toBe(202);
    expect(await until('done')).toMatchObject({ firmware: '1.4.0' });
  }, 120_000);

  it('a hub restart mid-update: the update state survives, the plug reconnects and resumes, done', async () => {
    const f = image('1.5.0', 1024 * 1024);
    expect((await upload(uploadBody(f))).status).toBe(201);
    const from = sim.lines.length;
    expect((await update('1.5.0')).status).toBe(202);
    await otaLine((l) => l.state === 'downloading' && l.version === '1.5.0' && l.offset >= 64 * 1024, from);
    const { http, mqtt, mqtts } = hub;
    events.close();
    expect(await hub.stop()).toBe(0);
    expect(booted()).toBe('1.4.0');
    hub = await startHub(join(tmp.dir, 'hub'), [
      '--mdns',
      'lo',
      '--config',
      config,
      '--http-port',
      String(http),
      '--mqtt-port',
      String(mqtt),
      '--mqtts-port',
      String(mqtts),
    ]);
    token = (
      await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
        body: { username: 'owner', password: 'correct horse battery' },
      })
    ).body.accessToken;
    events = await openEvents(hub.baseUrl, token);
    expect((await status()).update).toMatchObject({ version: '1.5.0' });
    const done = await until('done', 90_000);
    expect(done).toMatchObject({ firmware: '1.5.0', update: { version: '1.5.0', state: 'done', error: null } });
    expect(readFileSync(join(stateDir(), 'ota-active.bin')).equals(f.bytes)).toBe(true);
    // The transfer continued: on reconnecting to the restarted hub the plug reported an offset > 0.
    const lines = sim.lines.slice(from);
    const reconnected = lines.findIndex((l, i) => i > 0 && l.event === 'mqtt_connected');
    expect(reconnected).toBeGreaterThan(0);
    const resumed = lines.slice(reconnected).find((l) => l.event === 'ota' && l.state === 'downloading');
    expect(resumed?.offset).toBeGreaterThan(0);
  }, 150_000);
});
