import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  findPlug,
  hello,
  PLUG_CAPABILITIES,
  readCode,
  deriveKeys,
  type PairingState,
} from '../../src/drivers/plug/pairing.ts';
import { settle } from '../helpers/settle.ts';
import { connectMqtt } from '../helpers/mqtt.ts';
import { FakePlug, type FakePlugOptions } from './fake-plug.ts';
import { owner, plugHarness, rejection, until, type PlugHarness } from './setup.ts';

const ALL_STEPS = [
  'find_plug',
  'read_code',
  'hello',
  'derive_keys',
  'listen',
  'create_credentials',
  'seal_claim',
  'send_claim',
  'wait_online',
];

describe('plug pairing flow', () => {
  let h: PlugHarness;
  const plugs: FakePlug[] = [];
  const plug = async (options: FakePlugOptions = {}) => {
    const p = await new FakePlug(options).start();
    plugs.push(p);
    h.directory.seen(p.sighting());
    return p;
  };
  /** Nothing half-paired: no device row, no credentials, no device in the registry. */
  const nothingLeft = (id: string) => {
    expect(h.broker.store.devices.byId(id)).toBeUndefined();
    expect(h.broker.store.mqttCredentials.byUsername(id)).toBeUndefined();
    expect(h.registry.list(owner).map((d) => d.id)).not.toContain(id);
    expect(h.events.filter((e) => e.type === 'device.added')).toEqual([]);
  };

  beforeEach(async () => {
    h = await plugHarness();
  });
  afterEach(async () => {
    for (const p of plugs.splice(0)) await p.stop();
    await h.close();
  });

  it('pairs with the right code: every step, a device with the plug id, credentials the plug connects with', async () => {
    const p = await plug({ model: 'HP-2' });
    const result = await h.pair({ plugId: p.id, setupCode: '12345678', name: 'Kettle' });
    expect(result.trace).toEqual(ALL_STEPS);
    expect(result.device).toMatchObject({
      id: p.id,
      name: 'Kettle',
      driver: 'plug',
      model: 'HP-2',
      capabilities: PLUG_CAPABILITIES,
    });
    // What the plug got, sealed: its own id, the broker, the hub's signing key, counter 0.
    expect(p.claim).toMatchObject({
      deviceId: p.id,
      mqtt: { host: '127.0.0.1', port: h.broker.port, username: p.id },
      hubSignPublicKey: Buffer.from(h.signKey.publicKey).toString('base64'),
      counter: 0,
    });
    expect(h.broker.store.mqttCredentials.byUsername(p.id)).toMatchObject({ kind: 'device', deviceId: p.id });
    expect(h.broker.store.devices.byId(p.id)?.config).toMatchObject({ counter: 0 });
    expect(h.events.filter((e) => e.type === 'device.added').map((e) => e.payload.deviceId)).toEqual([p.id]);
  });

  it('through the service: the device is online with the state the plug reported while pairing', async () => {
    const p = await plug();
    const device = await h.service.pair(p.id, { setupCode: `HEARTH:${p.id}:12345678`, name: 'Lamp' }, owner);
    expect(device).toMatchObject({ id: p.id, available: true });
    // The plug publishes its state right after `online`: during pairing or just after it.
    await until(() => h.registry.get(p.id, owner).state.switch === false);
  });

  it('refuses a wrong code at send_claim: the plug checks the hub confirmation (one online guess); nothing is left', async () => {
    const p = await plug();
    const err = await rejection(h.pair({ plugId: p.id, setupCode: '87654321', name: 'X' }));
    expect({ code: err.code, step: err.details?.step }).toEqual({ code: 'pairing_wrong_code', step: 'send_claim' });
    // The plug refused the claim it could not confirm, and so never saw the credentials.
    expect([p.claims, p.claimed, p.claim]).toEqual([1, false, undefined]);
    nothingLeft(p.id);
    expect(h.events.filter((e) => e.type === 'audit').map((e) => [e.payload.action, e.payload.details])).toEqual([
      ['plug.pair_failed', { code: 'pairing_wrong_code', step: 'send_claim' }],
    ]);
  });

  it('refuses a plug that runs the PAKE with a different code (not the plug on the label)', async () => {
    const p = await plug({ proveWith: '11112222' });
    const err = await rejection(h.pair({ plugId: p.id, setupCode: '12345678', name: 'X' }));
    expect({ code: err.code, step: err.details?.step }).toEqual({ code: 'pairing_wrong_code', step: 'send_claim' });
    expect(p.claimed).toBe(false);
    nothingLeft(p.id);
  });

  it('refuses an impostor that accepts the claim without the plug confirmation, and revokes what it made', async () => {
    const p = await plug({ claimStatus: 200 }); // answers 200 without checking (and without `confirm`)
    const err = await rejection(h.pair({ plugId: p.id, setupCode: '12345678', name: 'X' }));
    expect({ code: err.code, step: err.details?.step, reason: err.details?.reason }).toEqual({
      code: 'pairing_wrong_code',
      step: 'send_claim',
      reason: 'plug_confirm',
    });
    nothingLeft(p.id);
  });

  it('a plug of the other protocol version: pairing_version_mismatch (409) from its mDNS pv or its hello answer', async () => {
    const old = await plug();
    h.directory.seen({ ...old.sighting(), txt: { ...old.sighting().txt, pv: '1' } });
    let err = await rejection(h.pair({ plugId: old.id, setupCode: '12345678', name: 'X' }));
    expect({ code: err.code, step: err.details?.step, plugVersion: err.details?.plugVersion }).toEqual({
      code: 'pairing_version_mismatch',
      step: 'find_plug',
      plugVersion: 1,
    });
    // A plug whose TXT said 2 but whose firmware answers the hello as a version-1 hub's would.
    const p = await plug({ helloRefusal: { status: 400, error: 'unsupported_version' } });
    err = await rejection(h.pair({ plugId: p.id, setupCode: '12345678', name: 'X' }));
    expect({ code: err.code, step: err.details?.step }).toEqual({ code: 'pairing_version_mismatch', step: 'hello' });
    expect(p.claims).toBe(0);
    nothingLeft(p.id);
  });

  it('answers plug_not_found for a plug mDNS does not see', async () => {
    const err = await rejection(h.pair({ plugId: 'plug-000000000000', setupCode: '12345678', name: 'X' }));
    expect({ code: err.code, step: err.details?.step }).toEqual({ code: 'plug_not_found', step: 'find_plug' });
  });

  it('answers already_claimed when the TXT says claimed=1, or the plug says so at hello', async () => {
    const p = await plug();
    h.directory.seen(p.sighting(true));
    let err = await rejection(h.pair({ plugId: p.id, setupCode: '12345678', name: 'X' }));
    expect({ code: err.code, step: err.details?.step }).toEqual({ code: 'already_claimed', step: 'find_plug' });
    h.directory.seen(p.sighting(false));
    p.claimed = true; // the TXT update has not reached us yet
    err = await rejection(h.pair({ plugId: p.id, setupCode: '12345678', name: 'X' }));
    expect({ code: err.code, step: err.details?.step }).toEqual({ code: 'already_claimed', step: 'hello' });
    nothingLeft(p.id);
  });

  it('answers plug_unreachable when the plug vanished before hello', async () => {
    const p = await plug();
    await p.stop();
    const err = await rejection(h.pair({ plugId: p.id, setupCode: '12345678', name: 'X' }));
    expect({ code: err.code, step: err.details?.step }).toEqual({ code: 'plug_unreachable', step: 'hello' });
    nothingLeft(p.id);
  });

  it('a plug outside its pairing window or over its hello rate: plug_not_in_pairing_mode (409), pairing_rate_limited (429)', async () => {
    const cases: [{ status: number; error: string }, string][] = [
      [{ status: 403, error: 'not_in_pairing_mode' }, 'plug_not_in_pairing_mode'],
      [{ status: 429, error: 'rate_limited' }, 'pairing_rate_limited'],
    ];
    for (const [helloRefusal, code] of cases) {
      const p = await plug({ helloRefusal });
      const err = await rejection(h.pair({ plugId: p.id, setupCode: '12345678', name: 'X' }));
      expect({ code: err.code, step: err.details?.step }).toEqual({ code, step: 'hello' });
      expect(p.claims).toBe(0);
      nothingLeft(p.id);
    }
  });

  it('maps each claim refusal to its code and revokes the credentials it made', async () => {
    const cases: [number, string][] = [
      [403, 'pairing_wrong_code'],
      [409, 'already_claimed'],
      [410, 'pairing_timeout'],
      [429, 'pairing_locked'],
      [400, 'plug_protocol_error'],
      [500, 'plug_protocol_error'],
    ];
    for (const [status, code] of cases) {
      const p = await plug({ claimStatus: status });
      const err = await rejection(h.pair({ plugId: p.id, setupCode: '12345678', name: 'X' }));
      expect({ status, code: err.code, step: err.details?.step }).toEqual({ status, code, step: 'send_claim' });
      nothingLeft(p.id);
    }
  });

  it('times out at wait_online when the plug never connects; nothing is left and the credentials no longer work', async () => {
    h = await (async () => {
      await h.close();
      return plugHarness({ onlineTimeoutMs: 3000 });
    })();
    const p = await plug({ neverConnect: true });
    const err = await rejection(settle(h.pair({ plugId: p.id, setupCode: '12345678', name: 'X' }), h.clock));
    expect({ code: err.code, step: err.details?.step }).toEqual({ code: 'pairing_timeout', step: 'wait_online' });
    nothingLeft(p.id);
    // The plug took the claim; what it got is worthless now: CONNACK 4 (bad user name or password).
    const refused = await rejection(
      connectMqtt(h.broker.port, {
        clientId: p.id,
        username: p.id,
        password: p.claim!.mqtt.password,
      }) as Promise<never>,
    );
    expect((refused as unknown as { code: number }).code).toBe(4);
  });

  it('does not take a stale retained online (from an earlier pairing) as the plug coming online', async () => {
    h = await (async () => {
      await h.close();
      return plugHarness({ onlineTimeoutMs: 3000 });
    })();
    const p = await plug({ neverConnect: true });
    await h.broker.broker.publish(`hearth/${p.id}/status`, 'online', { qos: 1, retain: true });
    const err = await rejection(settle(h.pair({ plugId: p.id, setupCode: '12345678', name: 'X' }), h.clock));
    expect({ code: err.code, step: err.details?.step }).toEqual({ code: 'pairing_timeout', step: 'wait_online' });
    nothingLeft(p.id);
  });

  it('refuses a second pairing of the same plug while one runs, and plug devices made without pairing', async () => {
    const p = await plug();
    const first = h.pair({ plugId: p.id, setupCode: '12345678', name: 'A' });
    const err = await rejection(h.pair({ plugId: p.id, setupCode: '12345678', name: 'B' }));
    expect(err.code).toBe('pairing_in_progress');
    await first;
    const direct = await rejection(
      h.registry.create({ name: 'Fake', driver: 'plug', capabilities: ['switch'] }, owner),
    );
    expect(direct.code).toBe('validation_failed');
    expect(h.registry.list(owner).map((d) => d.name)).toEqual(['A']);
  });

  it('removes at the next start a plug whose pairing the hub did not finish (it died in the middle)', async () => {
    const p = await plug();
    await h.service.pair(p.id, { setupCode: '12345678', name: 'Lamp' }, owner);
    expect(h.broker.store.devices.byId(p.id)?.config.pairing).toBeUndefined();
    expect(await h.service.recover()).toEqual([]);
    // What a crash during wait_online leaves: the row (marked) and its credentials.
    const row = h.broker.store.devices.byId(p.id)!;
    h.broker.store.devices.setConfig(p.id, { ...row.config, pairing: true }, Date.now());
    await h.restartRegistry();
    expect(await h.service.recover()).toEqual([p.id]);
    expect(h.broker.store.devices.byId(p.id)).toBeUndefined();
    expect(h.broker.store.mqttCredentials.byUsername(p.id)).toBeUndefined();
  });

  it('reads the QR text, and refuses a QR of another plug or a code that is not 8 digits', async () => {
    const state = (setupCode: string): PairingState => ({
      request: { plugId: 'plug-0a1b2c3d4e5f', setupCode, name: 'X' },
      trace: [],
      armed: false,
      online: false,
      lastState: {},
    });
    const deps = h.pairingDeps();
    const ok = state('HEARTH:plug-0a1b2c3d4e5f:12345678');
    readCode.run(ok, deps);
    expect(ok.code).toBe('12345678');
    for (const bad of ['HEARTH:plug-ffffffffffff:12345678', '1234567', 'abcdefgh', 'HEARTH:plug-0a1b2c3d4e5f:1234']) {
      expect(() => readCode.run(state(bad), deps)).toThrowError(expect.objectContaining({ code: 'validation_failed' }));
    }
  });

  it('runs find_plug, hello and derive_keys alone against the fake plug', async () => {
    const p = await plug();
    const deps = h.pairingDeps();
    const state: PairingState = {
      request: { plugId: p.id, setupCode: '12345678', name: 'X' },
      trace: [],
      armed: false,
      online: false,
      lastState: {},
    };
    await findPlug.run(state, deps);
    readCode.run(state, deps);
    await hello.run(state, deps);
    expect(state.hello).toMatchObject({ id: p.id, pv: 2, claimed: false });
    expect(state.hubAddress).toBe('127.0.0.1');
    deriveKeys.run(state, deps);
    expect(state.keys?.hubConfirm).toHaveLength(32);
    // A share that is not a valid point (the identity here) is a protocol error, not a code error.
    const bad = { ...state, hello: { ...state.hello!, share: Buffer.alloc(32).toString('base64') } };
    expect(() => deriveKeys.run(bad, deps)).toThrowError(expect.objectContaining({ code: 'plug_protocol_error' }));
  });
});
