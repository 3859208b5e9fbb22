import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client } from '../api/ws-client.ts';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { pollUntil } from '../helpers/poll.ts';
import { tempDir } from '../helpers/temp.ts';
import { ZStackCoordinator, type EmulatedDevice } from '../helpers/zstack-coordinator.ts';

/**
 * The devices people own beyond plugs (issue 19): a colour bulb (Gledopto GL-C-008P), a roller
 * blind (IKEA FYRTUR) and a button (SONOFF SNZB-01) whose press a rule acts on, known models whose zigbee-herdsman-converters definitions the hub loads,
 * joined to the real hub through the emulated Z-Stack coordinator. Asserts the ZCL frames that
 * leave for each command and the states the devices' reports bring back.
 */

const ON_OFF = 0x0006;
const COLOUR = 0x0300;
const COVERING = 0x0102;

describe('Zigbee colour bulb, blind and remote against the emulated Z-Stack coordinator', () => {
  const tmp = tempDir();
  const emulator = new ZStackCoordinator();
  let hub: HubProcess;
  let token: string;
  let events: Client;
  let bulb: EmulatedDevice;
  let blind: EmulatedDevice;
  const bulbId = 'zb-00124b0001c0a801';
  const blindId = 'zb-000d6ffffe0b0c01';

  const device = async (id: string) => (await api(hub.baseUrl, 'GET', `/api/v1/devices/${id}`, { token })).body;
  const command = (id: string, capability: string, value: unknown) =>
    api(hub.baseUrl, 'POST', `/api/v1/devices/${id}/commands`, { token, body: { capability, value } });
  const stateOf = (id: string, capability: string, want: unknown) =>
    pollUntil(`${id} ${capability} = ${String(want)}`, async () => {
      const value = (await device(id)).state?.[capability];
      return value === want ? { value } : undefined; // wrapped: 0 and false are answers too
    });
  /** The cluster commands sent to a device's cluster since message `since`, as [command id, payload hex]. */
  const sentTo = (clusterId: number, nwkAddr: number, since: number) =>
    emulator.sent
      .slice(since)
      .filter((s) => s.clusterId === clusterId && s.nwkAddr === nwkAddr && s.zcl.clusterSpecific)
      .map((s) => [s.zcl.commandId, s.zcl.payload.toString('hex')]);

  beforeAll(async () => {
    await emulator.listen();
    hub = await startHub(join(tmp.dir, 'data'), ['--zigbee', emulator.url]);
    token = await setupOwner(hub);
    await pollUntil(
      'the zigbee coordinator to run',
      async () => (await api(hub.baseUrl, 'GET', '/api/v1/zigbee', { token })).body?.state === 'running' || undefined,
    );
    events = connect(`ws://127.0.0.1:${hub.http}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } });
    await events.next('ready');
    await api(hub.baseUrl, 'POST', '/api/v1/zigbee/permit-join', { token, body: { seconds: 120 } });
  }, 60_000);

  afterAll(async () => {
    events?.ws.close();
    await hub?.stop();
    await emulator.close();
    tmp.cleanup();
  });

  it('a colour bulb joins with colour (xy, hue/saturation), colour temperature and power-on behaviour', async () => {
    bulb = emulator.join({
      ieee: '00124b0001c0a801',
      nwkAddr: 0x5a01,
      manufacturerName: 'GLEDOPTO',
      modelId: 'GL-C-008P',
      inClusters: [0x0000, 0x0003, 0x0004, 0x0005, ON_OFF, 0x0008, COLOUR],
      attributes: {
        [ON_OFF]: { 0x0000: { type: 0x10, value: true } },
        0x0008: { 0x0000: { type: 0x20, value: 254 } },
        [COLOUR]: {
          0x0003: { type: 0x21, value: 20_493 }, // x 0.3127
          0x0004: { type: 0x21, value: 21_561 }, // y 0.329
          0x0007: { type: 0x21, value: 250 }, // 4000 K
          0x0008: { type: 0x30, value: 1 },
          0x400a: { type: 0x19, value: 0x001f }, // hue/saturation, enhanced hue, loop, xy, temperature
        },
      },
    });
    const added = await events.next('zigbee.device', (m) => m.status === 'added' && m.deviceId === bulbId);
    expect(added.model).toBe('GL-C-008P');
    const dev = await device(bulbId);
    expect([...dev.capabilities].sort()).toEqual([
      'brightness',
      'color_hue',
      'color_saturation',
      'color_temp',
      'color_x',
      'color_y',
      'power_on_behavior',
      'switch',
    ]);
  });

  it('colour temperature goes out as Move to Color Temperature in mireds; the report brings back Kelvin', async () => {
    const since = emulator.sent.length;
    const res = await command(bulbId, 'color_temp', 2700);
    expect(res.status).toBe(200);
    const [[commandId, payload]] = sentTo(COLOUR, 0x5a01, since) as [[number, string]];
    expect(commandId).toBe(0x0a);
    expect(Buffer.from(payload, 'hex').readUInt16LE(0)).toBe(370); // 1,000,000 / 2700
    expect(bulb.get(COLOUR, 0x0007)!.value).toBe(370);
    // The bulb asks for no default response: its report of 370 mireds (2703 K) confirms 2700 K.
    expect(res.body.state.color_temp).toBe(2700);
    await stateOf(bulbId, 'color_temp', 2700);
  });

  it('outside the bulb’s own range (2000–6329 K) is refused with value_out_of_range, nothing sent', async () => {
    const since = emulator.sent.length;
    const res = await command(bulbId, 'color_temp', 7000); // fits the model (1000–10000), not this bulb
    expect([res.status, res.body.error.code]).toEqual([400, 'value_out_of_range']);
    const beyondModel = await command(bulbId, 'color_x', 1.2);
    expect([beyondModel.status, beyondModel.body.error.code]).toEqual([400, 'value_out_of_range']);
    expect(sentTo(COLOUR, 0x5a01, since)).toEqual([]);
  });

  it('colour x goes out as Move to Color keeping y; the report brings back both', async () => {
    const since = emulator.sent.length;
    const res = await command(bulbId, 'color_x', 0.6);
    expect(res.status).toBe(200);
    const [[commandId, payload]] = sentTo(COLOUR, 0x5a01, since) as [[number, string]];
    expect(commandId).toBe(0x07);
    const frame = Buffer.from(payload, 'hex');
    expect(frame.readUInt16LE(0)).toBe(39_321); // 0.6 × 65535
    expect(Math.abs(frame.readUInt16LE(2) - 21_561)).toBeLessThanOrEqual(7); // y as it was (0.329)
    await stateOf(bulbId, 'color_x', 0.6);
    expect((await device(bulbId)).state.color_y).toBeCloseTo(0.329, 3);
  });

  it('hue goes out as a Color Control hue/saturation command', async () => {
    const since = emulator.sent.length;
    const res = await command(bulbId, 'color_hue', 120);
    expect(res.status).toBe(200);
    const sent = sentTo(COLOUR, 0x5a01, since);
    expect(sent.length).toBe(1);
    expect([0x06, 0x43]).toContain(sent[0]![0]);
  });

  it('power-on behaviour is written to the On/Off cluster’s StartUpOnOff attribute', async () => {
    const since = emulator.sent.length;
    const res = await command(bulbId, 'power_on_behavior', 'previous');
    expect([res.status, res.body.state.power_on_behavior]).toEqual([200, 'previous']);
    const write = emulator.sent.slice(since).find((s) => s.clusterId === ON_OFF && !s.zcl.clusterSpecific);
    expect(write?.zcl.commandId).toBe(0x02); // write attributes
    expect(write!.zcl.payload.toString('hex')).toBe('034030ff'); // 0x4003, enum8, 0xff (previous)
    expect(bulb.get(ON_OFF, 0x4003)!.value).toBe(0xff);
    const bad = await command(bulbId, 'power_on_behavior', 'sometimes');
    expect([bad.status, bad.body.error.code]).toEqual([400, 'value_not_allowed']);
  });

  it('a blind joins with cover and position; a position goes out as Go to Lift Percentage and comes back', async () => {
    blind = emulator.join({
      ieee: '000d6ffffe0b0c01',
      nwkAddr: 0x5a02,
      manufacturerName: 'IKEA of Sweden',
      modelId: 'FYRTUR block-out roller blind',
      manufacturerCode: 0x117c,
      inClusters: [0x0000, 0x0001, 0x0003, 0x0004, 0x0005, COVERING, 0x1000],
      attributes: {
        0x0001: { 0x0021: { type: 0x20, value: 180 } },
        [COVERING]: { 0x0008: { type: 0x20, value: 100 } }, // closed
      },
    });
    const added = await events.next('zigbee.device', (m) => m.status === 'added' && m.deviceId === blindId);
    expect(added.model).toBe('E1757');
    expect([...(await device(blindId)).capabilities].sort()).toEqual(['battery', 'cover', 'cover_position']);

    const since = emulator.sent.length;
    const res = await command(blindId, 'cover_position', 30);
    expect(res.status).toBe(200);
    // Hearth's 30 % open is ZCL's 70 % lift (0 is fully open there).
    expect(sentTo(COVERING, 0x5a02, since)).toEqual([[0x05, '46']]);
    expect(blind.get(COVERING, 0x0008)!.value).toBe(70);
    await stateOf(blindId, 'cover_position', 30);
  });

  it('open, stop and close go out as Up/Open, Stop and Down/Close; a value off the list is refused', async () => {
    const since = emulator.sent.length;
    expect((await command(blindId, 'cover', 'open')).status).toBe(200);
    await stateOf(blindId, 'cover_position', 100);
    expect((await command(blindId, 'cover', 'stop')).status).toBe(200);
    expect((await command(blindId, 'cover', 'close')).status).toBe(200);
    await stateOf(blindId, 'cover_position', 0);
    expect(sentTo(COVERING, 0x5a02, since).map(([id]) => id)).toEqual([0x00, 0x02, 0x01]);
    const bad = await command(blindId, 'cover', 'up');
    expect([bad.status, bad.body.error.code]).toEqual([400, 'value_not_allowed']);
  });

  it('a remote (SONOFF SNZB-01) press is an event: a rule on its double press closes the blind over Zigbee', async () => {
    const remoteId = 'zb-00124b0022d0e501';
    const remote = emulator.join({
      ieee: '00124b0022d0e501',
      nwkAddr: 0x5a03,
      manufacturerName: 'eWeLink',
      modelId: 'WB01',
      endDevice: true,
      inClusters: [0x0000, 0x0001, 0x0003],
      outClusters: [0x0003, ON_OFF],
      attributes: { 0x0001: { 0x0021: { type: 0x20, value: 200 } } },
    });
    const added = await events.next('zigbee.device', (m) => m.status === 'added' && m.deviceId === remoteId);
    expect(added.model).toBe('SNZB-01');
    expect((await device(remoteId)).capabilities).toContain('button');
    const rule = await api(hub.baseUrl, 'POST', '/api/v1/rules', {
      token,
      body: {
        name: 'Double press closes the blind',
        mode: 'queued',
        triggers: [{ type: 'action', device: remoteId, press: 'double' }],
        actions: [{ type: 'command', device: blindId, capability: 'cover', value: 'close' }],
      },
    });
    expect(rule.status).toBe(201);
    const since = emulator.sent.length;
    // The button's firmware sends On/Off commands from its client cluster: Toggle is a single
    // press, On a double (the converters' SNZB-01 mapping). Client to server, no default response.
    emulator.deliver(remote, ON_OFF, Buffer.from([0x11, 0x21, 0x02]));
    await events.next('device.state', (m) => m.deviceId === remoteId && m.value === 'single');
    emulator.deliver(remote, ON_OFF, Buffer.from([0x11, 0x22, 0x01]));
    await events.next('device.state', (m) => m.deviceId === remoteId && m.value === 'double');
    const close = await emulator.nextSent((s) => s.clusterId === COVERING && s.zcl.clusterSpecific, since);
    expect([close.nwkAddr, close.zcl.commandId]).toEqual([0x5a02, 0x01]); // Down/Close, once: the single press did nothing
    const traces = await pollUntil('the rule trace', async () => {
      const list = (await api(hub.baseUrl, 'GET', `/api/v1/rules/${rule.body.id}/traces`, { token })).body;
      return Array.isArray(list) && list.length > 0 ? list : undefined;
    });
    expect(traces).toHaveLength(1);
    expect(sentTo(COVERING, 0x5a02, since)).toEqual([[0x01, '']]);
  });

  it('a door lock (Yale YRD226) unlocks with Unlock Door, answered by its response and its lock state report', async () => {
    const lockId = 'zb-000d6f000f1e2d01';
    const lock = emulator.join({
      ieee: '000d6f000f1e2d01',
      nwkAddr: 0x5a04,
      manufacturerName: 'Yale',
      modelId: 'YRD226 TSDB',
      inClusters: [0x0000, 0x0001, 0x0101],
      attributes: {
        0x0001: { 0x0021: { type: 0x20, value: 160 } },
        0x0101: { 0x0000: { type: 0x30, value: 1 } }, // locked
      },
    });
    const added = await events.next('zigbee.device', (m) => m.status === 'added' && m.deviceId === lockId);
    expect(added.model).toBe('YRD226HA2619');
    expect((await device(lockId)).capabilities).toEqual(expect.arrayContaining(['lock', 'battery']));
    const since = emulator.sent.length;
    const res = await command(lockId, 'lock', false);
    expect([res.status, res.body.state?.lock]).toEqual([200, false]);
    expect(sentTo(0x0101, 0x5a04, since).map(([id]) => id)).toEqual([0x01]); // Unlock Door
    expect(lock.get(0x0101, 0x0000)!.value).toBe(2);
    const bad = await command(lockId, 'lock', 'open');
    expect([bad.status, bad.body.error.code]).toEqual([400, 'validation_failed']);
  });

  it('a thermostat (definition generated from its clusters): setpoint and mode are attribute writes, its reports come back', async () => {
    const trvId = 'zb-00158d0003f4a501';
    const THERMOSTAT = 0x0201;
    const trv = emulator.join({
      ieee: '00158d0003f4a501',
      nwkAddr: 0x5a05,
      manufacturerName: 'Acme',
      modelId: 'TRV-1',
      inClusters: [0x0000, THERMOSTAT],
      attributes: {
        [THERMOSTAT]: {
          0x0000: { type: 0x29, value: 1950 }, // local temperature 19.5 °C
          0x0012: { type: 0x29, value: 2000 }, // occupied heating setpoint 20 °C
          0x0015: { type: 0x29, value: 500 }, // min heat setpoint limit
          0x0016: { type: 0x29, value: 3000 }, // max heat setpoint limit
          0x001b: { type: 0x30, value: 2 }, // control sequence: heating only
          0x001c: { type: 0x30, value: 4 }, // system mode: heat
        },
      },
    });
    await events.next('zigbee.device', (m) => m.status === 'added' && m.deviceId === trvId);
    expect((await device(trvId)).capabilities).toEqual(
      expect.arrayContaining(['temperature', 'setpoint', 'climate_mode']),
    );
    const since = emulator.sent.length;
    const res = await command(trvId, 'setpoint', 21.5);
    expect([res.status, res.body.state?.setpoint]).toEqual([200, 21.5]);
    const writes = emulator.sent.slice(since).filter((s) => s.clusterId === THERMOSTAT && s.zcl.commandId === 0x02);
    expect(writes.map((s) => s.zcl.payload.toString('hex'))).toEqual(['1200296608']); // 0x0012, int16, 2150
    expect(trv.get(THERMOSTAT, 0x0012)!.value).toBe(2150);
    const off = await command(trvId, 'climate_mode', 'off');
    expect([off.status, off.body.state?.climate_mode]).toEqual([200, 'off']);
    expect(trv.get(THERMOSTAT, 0x001c)!.value).toBe(0);
    // The room warms up: the thermostat reports its local temperature.
    trv.set(THERMOSTAT, 0x0000, { type: 0x29, value: 2050 });
    emulator.report(trv, THERMOSTAT, [0x0000]);
    await stateOf(trvId, 'temperature', 20.5);
    const tooHot = await command(trvId, 'setpoint', 31); // the model allows 35, this thermostat 30
    expect([tooHot.status, tooHot.body.error.code]).toEqual([400, 'value_out_of_range']);
  });
});
