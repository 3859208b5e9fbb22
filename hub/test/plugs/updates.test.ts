import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import nacl from 'tweetnacl';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COUNTER_RESERVE } from '../../src/drivers/plug/driver.ts';
import { firmwareMessage } from '../../src/drivers/plug/protocol.ts';
import { nextMessage } from '../helpers/mqtt.ts';
import { tempDir } from '../helpers/temp.ts';
import { FakePlug } from './fake-plug.ts';
import { owner, plugHarness, rejection, until, type PlugHarness } from './setup.ts';

/**
 * The hub's side of a firmware update against a plug played over MQTT (FakePlug's connection):
 * what the hub sends, which reports move the state, and the failures it must never leave
 * unsaid: the plug refusing the command, coming back without the transfer, going silent
 * (also across a hub restart). The real plug's side runs in hub/test/plug-e2e/ota.test.ts.
 */
const vectors = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../firmware/test/vectors/plug-vectors.json', import.meta.url)), 'utf8'),
);
const fwKey = nacl.sign.keyPair.fromSeed(new Uint8Array(Buffer.from(vectors.firmware.signSeed, 'base64')));
const TIMEOUT = 60_000;

function image(model: string, version: string, size: number) {
  const bytes = randomBytes(size);
  const manifest = { model, version, size, sha256: createHash('sha256').update(bytes).digest('base64') };
  const sig = Buffer.from(
    nacl.sign.detached(new TextEncoder().encode(firmwareMessage(manifest)), fwKey.secretKey),
  ).toString('base64');
  return { manifest, sig, image: bytes.toString('base64'), bytes };
}

describe('plug firmware updates (hub side)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let h: PlugHarness;
  let p: FakePlug;
  let model: string;

  beforeEach(async () => {
    tmp = tempDir();
    h = await plugHarness({
      firmware: { dataDir: tmp.dir, keys: [vectors.firmware.signPublicKey], timeoutMs: TIMEOUT },
    });
    p = await new FakePlug().start();
    h.directory.seen(p.sighting());
    await h.service.pair(p.id, { setupCode: '12345678', name: 'Heater' }, owner);
    await until(() => h.registry.get(p.id, owner).available);
    model = h.registry.get(p.id, owner).model;
    await report({ state: 'idle', firmware: '1.0.0' });
    await until(() => h.service.update(p.id, owner).firmware === '1.0.0');
  });
  afterEach(async () => {
    await p.stop();
    await h.close();
    tmp.cleanup();
  });

  const report = (r: Record<string, unknown>) =>
    p.client!.publishAsync(`hearth/${p.id}/event`, JSON.stringify({ type: 'ota', ...r }), { qos: 1 });
  const state = () => h.service.update(p.id, owner).update;
  const updateEvents = () =>
    h.events.filter((e) => e.type === 'plug.update').map((e) => [e.payload.state, e.payload.error]);

  it('sends ota_begin on the counter path, serves the chunks asked for, follows the reports to done', async () => {
    const img = image(model, '1.1.0', 10_000);
    h.service.addFirmware(img, owner);
    const started = await h.service.startUpdate(p.id, { version: '1.1.0' }, owner);
    expect(started.update).toMatchObject({
      state: 'sending',
      version: '1.1.0',
      from: '1.0.0',
      size: 10_000,
      offset: 0,
    });
    await until(() => p.accepted.length === 1);
    expect(p.accepted[0]).toEqual({ c: 1, v: { manifest: img.manifest, sig: img.sig, downgrade: false } });
    expect(h.broker.store.devices.byId(p.id)!.config.counter).toBe(COUNTER_RESERVE);
    await report({ state: 'downloading', firmware: '1.0.0', version: '1.1.0', offset: 0, size: 10_000 });
    await p.client!.subscribeAsync(`hearth/${p.id}/ota`, { qos: 0 });
    for (const offset of [0, 4096, 8192]) {
      const chunk = nextMessage(p.client!, (t) => t === `hearth/${p.id}/ota`);
      await p.client!.publishAsync(`hearth/${p.id}/ota/req`, JSON.stringify({ offset, sha256: img.manifest.sha256 }), {
        qos: 0,
      });
      const got = (await chunk).payload;
      expect(got.readUInt32BE(0)).toBe(offset);
      expect(got.subarray(4, 36).toString('base64')).toBe(img.manifest.sha256);
      expect(got.subarray(36).equals(img.bytes.subarray(offset, offset + 4096))).toBe(true);
    }
    expect(state()).toMatchObject({ state: 'downloading', offset: 8192 });
    // Another image's hash is not answered.
    const unexpected = nextMessage(p.client!, (t) => t === `hearth/${p.id}/ota`, 300);
    await p.client!.publishAsync(
      `hearth/${p.id}/ota/req`,
      JSON.stringify({ offset: 0, sha256: Buffer.alloc(32).toString('base64') }),
      { qos: 0 },
    );
    expect((await rejection(unexpected as Promise<unknown>)).message).toMatch(/no matching MQTT message/);
    await report({ state: 'rebooting', firmware: '1.0.0', version: '1.1.0', offset: 10_000, size: 10_000 });
    await report({ state: 'done', firmware: '1.1.0', version: '1.1.0', offset: 10_000, size: 10_000 });
    await until(() => state()?.state === 'done');
    expect(h.service.update(p.id, owner)).toMatchObject({
      firmware: '1.1.0',
      update: { state: 'done', error: null, progress: 1 },
    });
    expect(updateEvents()).toEqual([
      ['sending', null],
      ['downloading', null],
      ['rebooting', null],
      ['done', null],
    ]);
    expect((await rejection(h.service.startUpdate(p.id, { version: '1.1.0' }, owner))).code).toBe('firmware_current');
  });

  it('refuses what cannot start: no image, one in progress, older without downgrade, offline', async () => {
    expect((await rejection(h.service.startUpdate(p.id, { version: '2.0.0' }, owner))).code).toBe('firmware_not_found');
    h.service.addFirmware(image(model, '0.9.0', 100), owner);
    expect((await rejection(h.service.startUpdate(p.id, { version: '0.9.0' }, owner))).code).toBe('validation_failed');
    h.service.addFirmware(image(model, '1.1.0', 100), owner);
    await h.service.startUpdate(p.id, { version: '1.1.0' }, owner);
    expect((await rejection(h.service.startUpdate(p.id, { version: '1.1.0' }, owner))).code).toBe('update_in_progress');
    await report({ state: 'failed', firmware: '1.0.0', version: '1.1.0', offset: 0, size: 100, error: 'wrong_model' });
    await until(() => state()?.state === 'failed');
    expect(state()?.error).toBe('wrong_model');
    p.client!.stream.destroy();
    await until(() => !h.registry.get(p.id, owner).available);
    expect((await rejection(h.service.startUpdate(p.id, { version: '1.1.0' }, owner))).code).toBe('device_unavailable');
  });

  it('the plug refusing the command itself fails the update with command_<reason>', async () => {
    h.service.addFirmware(image(model, '1.1.0', 100), owner);
    p.lastCounter = 99; // the hub's next counter looks like a replay to the plug
    await h.service.startUpdate(p.id, { version: '1.1.0' }, owner);
    await until(() => state()?.state === 'failed');
    expect(state()?.error).toBe('command_replay');
  });

  it('a plug back without its transfer (idle while downloading) is interrupted, not left hanging', async () => {
    h.service.addFirmware(image(model, '1.1.0', 100), owner);
    await h.service.startUpdate(p.id, { version: '1.1.0' }, owner);
    await report({ state: 'downloading', firmware: '1.0.0', version: '1.1.0', offset: 0, size: 100 });
    await until(() => state()?.state === 'downloading');
    await report({ state: 'idle', firmware: '1.0.0' });
    await until(() => state()?.state === 'failed');
    expect(state()?.error).toBe('interrupted');
  });

  it('no progress for the timeout fails it with timeout, also when the hub restarted in between', async () => {
    h.service.addFirmware(image(model, '1.1.0', 100), owner);
    await h.service.startUpdate(p.id, { version: '1.1.0' }, owner);
    await report({ state: 'downloading', firmware: '1.0.0', version: '1.1.0', offset: 0, size: 100 });
    await until(() => state()?.state === 'downloading');
    h.clock.advance(TIMEOUT - 1000);
    await h.restartRegistry();
    expect(state()).toMatchObject({ state: 'downloading', version: '1.1.0' });
    h.clock.advance(TIMEOUT - 1000);
    expect(state()?.state).toBe('downloading'); // the restarted hub gives it a full timeout again
    h.clock.advance(2000);
    await until(() => state()?.state === 'failed');
    expect(state()?.error).toBe('timeout');
    expect(h.broker.store.devices.byId(p.id)!.config.ota).toMatchObject({ state: 'failed', error: 'timeout' });
    // The plug had every byte: back later, it finishes on its own and says so. The hub follows.
    await report({ state: 'done', firmware: '1.1.0', version: '1.1.0', offset: 100, size: 100 });
    await until(() => state()?.state === 'done');
    expect(h.service.update(p.id, owner)).toMatchObject({ firmware: '1.1.0', update: { state: 'done', error: null } });
  });
});
