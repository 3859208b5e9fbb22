import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client } from '../api/ws-client.ts';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { pollUntil } from '../helpers/poll.ts';
import { tempDir } from '../helpers/temp.ts';
import {
  encodeMtFrame,
  SUBSYS,
  ZStackCoordinator,
  type EmulatedDevice,
  type EmulatedDeviceSpec,
} from '../helpers/zstack-coordinator.ts';

/**
 * The real hub (`node hub/src/main.ts --zigbee tcp://...`) with zigbee-herdsman and the Zigbee
 * driver running for real against an emulated Z-Stack coordinator on a loopback socket: only
 * the radio is emulated (hub/test/helpers/zstack-coordinator.ts).
 */

const ON_OFF = 0x0006;
const ELECTRICAL = 0x0b04;
const METERING = 0x0702;
const ACTIVE_POWER = 0x050b;

function plugSpec(ieee: string, nwkAddr: number): EmulatedDeviceSpec {
  return {
    ieee,
    nwkAddr,
    manufacturerName: 'Acme',
    modelId: 'SP-120',
    inClusters: [0x0000, ON_OFF, ELECTRICAL, METERING],
    attributes: {
      [ON_OFF]: { 0x0000: { type: 0x10, value: false } },
      [ELECTRICAL]: {
        [ACTIVE_POWER]: { type: 0x29, value: 425 }, // 42.5 W with the divisor below
        0x0505: { type: 0x21, value: 2301 }, // rmsVoltage: 230.1 V
        0x0508: { type: 0x21, value: 190 }, // rmsCurrent: 0.19 A
        0x0600: { type: 0x21, value: 1 }, // acVoltageMultiplier
        0x0601: { type: 0x21, value: 10 }, // acVoltageDivisor
        0x0602: { type: 0x21, value: 1 }, // acCurrentMultiplier
        0x0603: { type: 0x21, value: 1000 }, // acCurrentDivisor
        0x0604: { type: 0x21, value: 1 }, // acPowerMultiplier
        0x0605: { type: 0x21, value: 10 }, // acPowerDivisor
      },
      [METERING]: {
        0x0000: { type: 0x25, value: 123_456 }, // currentSummDelivered: 1.23456 kWh, shown as 1.235
        0x0301: { type: 0x22, value: 1 },
        0x0302: { type: 0x22, value: 100_000 },
      },
    },
  };
}

describe('Zigbee driver against an emulated Z-Stack coordinator', () => {
  const tmp = tempDir();
  const emulator = new ZStackCoordinator();
  let hub: HubProcess;
  let token: string;
  let events: Client;
  let plug: EmulatedDevice;
  const plugId = 'zb-00158d0000aabb01';
  const configFile = join(tmp.dir, 'hub.json');

  const boot = async () => {
    hub = await startHub(join(tmp.dir, 'data'), ['--zigbee', emulator.url, '--config', configFile]);
    await pollUntil(
      'the zigbee coordinator to run',
      async () => (await api(hub.baseUrl, 'GET', '/api/v1/zigbee', { token })).body?.state === 'running' || undefined,
    );
  };
  /** The first event of `type` matching, received at or after message number `from`. */
  const nextEvent = (type: string, match: (m: Record<string, unknown>) => boolean, from = 0) =>
    pollUntil(
      `a ${type} event`,
      async () => events.messages.slice(from).find((m) => m.type === type && match(m)),
      10_000,
      20,
    );
  const device = async (id: string) => (await api(hub.baseUrl, 'GET', `/api/v1/devices/${id}`, { token })).body;
  const command = (id: string, value: boolean) =>
    api(hub.baseUrl, 'POST', `/api/v1/devices/${id}/commands`, { token, body: { capability: 'switch', value } });

  beforeAll(async () => {
    await emulator.listen();
    writeFileSync(
      configFile,
      JSON.stringify({ devices: { commandTimeoutMs: 3000 }, zigbee: { availabilityTimeoutS: 10 } }),
    );
    hub = await startHub(join(tmp.dir, 'data'), ['--zigbee', emulator.url, '--config', configFile]);
    token = await setupOwner(hub);
    await pollUntil(
      'the zigbee coordinator to run',
      async () => (await api(hub.baseUrl, 'GET', '/api/v1/zigbee', { token })).body?.state === 'running' || undefined,
    );
    events = connect(`ws://127.0.0.1:${hub.http}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } });
    await events.next('ready');
  }, 60_000);

  afterAll(async () => {
    events?.ws.close();
    await hub?.stop();
    await emulator.close();
    tmp.cleanup();
  });

  it('formed a network on the coordinator and keeps herdsman’s files in the data dir', async () => {
    const status = (await api(hub.baseUrl, 'GET', '/api/v1/zigbee', { token })).body;
    expect(status).toMatchObject({ state: 'running', adapter: 'zstack', channel: 11, permitJoin: false });
    // The coordinator holds the network the hub generated (network.json): PAN ID and key.
    const network = JSON.parse(readFileSync(join(tmp.dir, 'data', 'zigbee', 'network.json'), 'utf8'));
    expect(emulator.nv.get(131)!.readUInt16LE(0)).toBe(network.panId);
    expect([...emulator.nv.get(98)!]).toEqual(network.networkKey);
    expect(existsSync(join(tmp.dir, 'data', 'zigbee', 'coordinator_backup.json'))).toBe(true);
    // Endpoints registered through AF_REGISTER.
    expect(emulator.endpoints.has(1)).toBe(true);
    const health = (await api(hub.baseUrl, 'GET', '/api/v1/health')).body;
    expect([health.status, health.parts.zigbee]).toEqual(['ok', 'ok']);
  });

  it('permit join is for admins, validated, and opens the network', async () => {
    expect((await api(hub.baseUrl, 'POST', '/api/v1/zigbee/permit-join', { body: { seconds: 60 } })).status).toBe(401);
    const bad = await api(hub.baseUrl, 'POST', '/api/v1/zigbee/permit-join', { token, body: { seconds: 255 } });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'validation_failed']);
    const res = await api(hub.baseUrl, 'POST', '/api/v1/zigbee/permit-join', { token, body: { seconds: 120 } });
    expect(res.status).toBe(200);
    expect(res.body.permitJoin).toBe(true);
    expect(emulator.permitJoinSeconds).toBe(120);
    await events.next('zigbee.permit_join', (m) => m.permitted === true);
  });

  it('a plug that joins becomes a device (converters definition) with switch, power, energy and its current state', async () => {
    plug = emulator.join(plugSpec('00158d0000aabb01', 0x4a01));
    await events.next('zigbee.device', (m) => m.status === 'joined' && m.ieee === '0x00158d0000aabb01');
    const added = await events.next('zigbee.device', (m) => m.status === 'added');
    expect(added).toMatchObject({ deviceId: plugId, model: 'SP-120' });
    await events.next('device.added', (m) => m.deviceId === plugId);

    const dev = await pollUntil('the plug state', async () => {
      const d = await device(plugId);
      return d?.state?.switch === false && d.state.power === 42.5 && d.state.energy === 1.235 ? d : undefined;
    });
    expect(dev).toMatchObject({ id: plugId, driver: 'zigbee', model: 'SP-120', available: true });
    // An unknown model: zigbee-herdsman-converters generated its definition from its clusters.
    // Power-on behaviour: a config expose of every On/Off device, offered since issue 19.
    expect([...dev.capabilities].sort()).toEqual([
      'current',
      'energy',
      'power',
      'power_on_behavior',
      'switch',
      'voltage',
    ]);
    await pollUntil('voltage and current', async () => {
      const d = await device(plugId);
      return (d.state.voltage === 230.1 && d.state.current === 0.19) || undefined;
    });
    const list = (await api(hub.baseUrl, 'GET', '/api/v1/devices', { token })).body;
    expect(list.map((d: { id: string }) => d.id)).toContain(plugId);
  });

  it('a switch command goes out as ZCL On/Off and answers 200 once the plug confirmed', async () => {
    const since = emulator.sent.length;
    const res = await command(plugId, true);
    expect(res.status).toBe(200);
    expect(res.body.state.switch).toBe(true);
    const on = await emulator.nextSent((s) => s.clusterId === ON_OFF && s.zcl.clusterSpecific, since);
    expect(on).toMatchObject({ nwkAddr: 0x4a01, endpoint: 1, zcl: { commandId: 0x01 } });
    expect(plug.get(ON_OFF, 0)!.value).toBe(true);

    const off = await command(plugId, false);
    expect([off.status, off.body.state.switch]).toEqual([200, false]);
    expect(
      emulator.sent
        .slice(since)
        .filter((s) => s.clusterId === ON_OFF && s.zcl.clusterSpecific)
        .map((s) => s.zcl.commandId),
    ).toEqual([0x01, 0x00]);
  });

  it('reports from the plug update its state (events stream and GET)', async () => {
    plug.set(ELECTRICAL, ACTIVE_POWER, { type: 0x29, value: 1207 });
    emulator.report(plug, ELECTRICAL, [ACTIVE_POWER]);
    const ev = await nextEvent(
      'device.state',
      (m) => m.deviceId === plugId && m.capability === 'power' && m.value === 120.7,
    );
    expect(ev.previous).toBe(42.5);
    // Someone pressed the button on the plug.
    plug.set(ON_OFF, 0, { type: 0x10, value: true });
    const mark = events.messages.length;
    emulator.report(plug, ON_OFF, [0]);
    await nextEvent(
      'device.state',
      (m) => m.deviceId === plugId && m.capability === 'switch' && m.value === true,
      mark,
    );
    expect((await device(plugId)).state).toMatchObject({ switch: true, power: 120.7 });
  });

  it('a known model gets its own converters definition (IKEA control outlet) and works the same', async () => {
    const id = 'zb-000d6ffffe0a0b03';
    const outlet = emulator.join({
      ieee: '000d6ffffe0a0b03',
      nwkAddr: 0x4a03,
      manufacturerName: 'IKEA of Sweden',
      modelId: 'TRADFRI control outlet',
      manufacturerCode: 0x117c,
      inClusters: [0x0000, 0x0003, 0x0004, 0x0005, ON_OFF, 0x0008, 0x1000, 0xfc7c],
      attributes: { [ON_OFF]: { 0x0000: { type: 0x10, value: false } } },
    });
    const added = await nextEvent('zigbee.device', (m) => m.status === 'added' && m.deviceId === id);
    expect(added.model).toBe('E160x/E170x/E190x');
    const dev = await device(id);
    expect(dev).toMatchObject({ model: 'E160x/E170x/E190x', name: 'IKEA TRADFRI control outlet' });
    expect(dev.capabilities).toContain('switch');
    const res = await command(id, true);
    expect([res.status, res.body.state.switch]).toEqual([200, true]);
    expect(outlet.get(ON_OFF, 0)!.value).toBe(true);
  });

  it('a battery sensor (end device) joins with temperature, humidity, occupancy and battery, and reports', async () => {
    const id = 'zb-00158d0000aabb04';
    const sensor = emulator.join({
      ieee: '00158d0000aabb04',
      nwkAddr: 0x4a04,
      manufacturerName: 'Acme',
      modelId: 'MS-3',
      endDevice: true,
      inClusters: [0x0000, 0x0001, 0x0402, 0x0405, 0x0406],
      attributes: {
        0x0001: { 0x0021: { type: 0x20, value: 180 } }, // batteryPercentageRemaining: 90 %
        0x0402: { 0x0000: { type: 0x29, value: 2137 } }, // 21.37 °C
        0x0405: { 0x0000: { type: 0x21, value: 4550 } }, // 45.5 %
        0x0406: { 0x0000: { type: 0x18, value: 0 } }, // unoccupied
      },
    });
    await nextEvent('zigbee.device', (m) => m.status === 'added' && m.deviceId === id);
    const dev = await device(id);
    expect([...dev.capabilities].sort()).toEqual(['battery', 'humidity', 'occupancy', 'temperature']);
    sensor.set(0x0402, 0x0000, { type: 0x29, value: 1988 });
    emulator.report(sensor, 0x0402, [0x0000]);
    sensor.set(0x0406, 0x0000, { type: 0x18, value: 1 });
    emulator.report(sensor, 0x0406, [0x0000]);
    emulator.report(sensor, 0x0405, [0x0000]);
    emulator.report(sensor, 0x0001, [0x0021]);
    await pollUntil('the sensor readings', async () => {
      const d = await device(id);
      return (
        (d.state.temperature === 19.88 &&
          d.state.occupancy === true &&
          d.state.humidity === 45.5 &&
          d.state.battery === 90) ||
        undefined
      );
    });
  });

  it('an IAS contact sensor (SONOFF SNZB-04) is enrolled at the interview and reports open/closed', async () => {
    const id = 'zb-00124b0022aabb05';
    const sensor = emulator.join({
      ieee: '00124b0022aabb05',
      nwkAddr: 0x4a05,
      manufacturerName: 'eWeLink',
      modelId: 'DS01',
      endDevice: true,
      inClusters: [0x0000, 0x0001, 0x0003, 0x0500],
      attributes: {
        0x0001: { 0x0021: { type: 0x20, value: 200 } },
        0x0500: {
          0x0000: { type: 0x30, value: 0 }, // zoneState: not enrolled
          0x0001: { type: 0x31, value: 0x0015 }, // zoneType: contact switch
          0x0002: { type: 0x19, value: 0 }, // zoneStatus
          0x0010: { type: 0xf0, value: '0000000000000000' }, // iasCieAddr
        },
      },
    });
    const added = await nextEvent('zigbee.device', (m) => m.status === 'added' && m.deviceId === id);
    expect(added.model).toBe('SNZB-04');
    // Enrolled: herdsman wrote the coordinator as CIE and sent the enroll response.
    expect(sensor.get(0x0500, 0x0010)!.value).toBe(emulator.ieee);
    expect(sensor.get(0x0500, 0x0000)!.value).toBe(1);
    expect((await device(id)).capabilities).toEqual(expect.arrayContaining(['contact', 'battery']));
    emulator.zoneStatusChange(sensor, 0x0001); // opened
    await pollUntil('contact open', async () => (await device(id)).state.contact === false || undefined);
    emulator.zoneStatusChange(sensor, 0x0000); // closed
    await pollUntil('contact closed', async () => (await device(id)).state.contact === true || undefined);
  }, 30_000);

  it('a plug that refuses a command (failure in its default response): 502 device_rejected', async () => {
    plug.refuseWith = 0x01; // FAILURE
    const res = await command(plugId, false);
    expect([res.status, res.body.error.code]).toEqual([502, 'device_rejected']);
    plug.refuseWith = undefined;
    expect((await device(plugId)).state.switch).toBe(true);
  });

  it('a device that stops answering: the command gets 504 device_timeout', async () => {
    const quiet = emulator.join(plugSpec('00158d0000aabb02', 0x4a02));
    const id = 'zb-00158d0000aabb02';
    await events.next('zigbee.device', (m) => m.status === 'added' && m.deviceId === id);
    await pollUntil('the second plug state', async () => (await device(id))?.state?.switch === false || undefined);
    quiet.silent = true;
    const since = emulator.sent.length;
    const res = await command(id, true);
    expect([res.status, res.body.error.code]).toEqual([504, 'device_timeout']);
    // It did go out on the radio; nobody answered.
    await emulator.nextSent((s) => s.nwkAddr === 0x4a02 && s.clusterId === ON_OFF && s.zcl.commandId === 0x01, since);
    expect((await device(id)).state.switch).toBe(false);
  });

  it('availability follows last seen: the silent plug goes unavailable, the live one (pinged) stays', async () => {
    const id = 'zb-00158d0000aabb02';
    await pollUntil(
      'the silent plug to be unavailable',
      async () => (await device(id)).available === false || undefined,
      40_000,
      500,
    );
    await nextEvent('device.availability', (m) => m.deviceId === id && m.available === false);
    expect((await device(plugId)).available).toBe(true);
    const res = await command(id, true);
    expect([res.status, res.body.error.code]).toEqual([503, 'device_unavailable']);
    // Pinged, it answered a Basic cluster read.
    expect(emulator.sent.some((s) => s.nwkAddr === 0x4a01 && s.clusterId === 0x0000 && s.zcl.commandId === 0x00)).toBe(
      true,
    );
  }, 60_000);

  it('malformed frames from the coordinator do not crash the hub', async () => {
    emulator.writeRaw(Buffer.from([0x00, 0x13, 0x37, 0xfe])); // noise, then a SOF with nothing after
    emulator.writeRaw(Buffer.from([0x05, 0x45, 0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x00])); // completes it: wrong FCS
    emulator.writeRaw(encodeMtFrame({ type: 2, subsystem: 0x1e, id: 0x99, data: Buffer.from([1, 2, 3]) })); // unknown subsystem
    emulator.writeRaw(encodeMtFrame({ type: 2, subsystem: SUBSYS.AF, id: 0x81, data: Buffer.from([0, 0, 6]) })); // AF_INCOMING_MSG cut short
    emulator.writeRaw(encodeMtFrame({ type: 2, subsystem: SUBSYS.ZDO, id: 0xc1, data: Buffer.from([0x01]) })); // device announce cut short
    // A well-formed AF_INCOMING_MSG from the plug carrying a truncated ZCL frame and one with garbage.
    emulator.deliver(plug, ON_OFF, Buffer.from([0x18]));
    emulator.deliver(plug, ON_OFF, Buffer.from([0x18, 0x01, 0x0a, 0x00, 0x00, 0x10]));
    emulator.deliver(plug, 0xfc00, Buffer.from([0xff, 0xff, 0xff, 0xff]));
    emulator.writeRaw(encodeMtFrame({ type: 3, subsystem: SUBSYS.SYS, id: 0x01, data: Buffer.from([]) })); // an SRSP nobody asked for

    const health = await api(hub.baseUrl, 'GET', '/api/v1/health');
    expect(health.status).toBe(200);
    expect(hub.proc.exitCode).toBe(null);
    // Still works end to end afterwards.
    const res = await command(plugId, false);
    expect([res.status, res.body.state.switch]).toEqual([200, false]);
  });

  it('the coordinator connection drops: devices go unavailable, the hub reconnects and carries on', async () => {
    const mark = events.messages.length;
    emulator.disconnect();
    await nextEvent('device.availability', (m) => m.deviceId === plugId && m.available === false, mark);
    await pollUntil(
      'the coordinator to be back',
      async () => (await api(hub.baseUrl, 'GET', '/api/v1/zigbee', { token })).body?.state === 'running' || undefined,
      30_000,
    );
    expect(emulator.connected).toBe(true);
    emulator.report(plug, ON_OFF, [0]);
    await nextEvent('device.availability', (m) => m.deviceId === plugId && m.available === true, mark);
    const res = await command(plugId, true);
    expect([res.status, res.body.state.switch]).toEqual([200, true]);
  }, 60_000);

  it('a hub restart keeps the joined device (herdsman database in the data dir) and the network', async () => {
    expect(readFileSync(join(tmp.dir, 'data', 'zigbee', 'database.db'), 'utf8')).toContain('0x00158d0000aabb01');
    events.ws.close();
    expect(await hub.stop()).toBe(0);
    await boot();
    events = connect(`ws://127.0.0.1:${hub.http}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } });
    await events.next('ready');
    // Resumed, not re-formed: no second commissioning on the coordinator.
    expect(emulator.requests.filter((r) => r === 'bdbStartCommissioning')).toHaveLength(1);
    const list = (await api(hub.baseUrl, 'GET', '/api/v1/devices', { token })).body;
    expect(list.find((d: { id: string }) => d.id === plugId)).toMatchObject({ driver: 'zigbee', model: 'SP-120' });
    // The plug speaks up (any frame marks it available) and takes commands again.
    emulator.report(plug, ELECTRICAL, [ACTIVE_POWER]);
    await pollUntil('the plug to be available', async () => (await device(plugId)).available === true || undefined);
    const res = await command(plugId, true);
    expect([res.status, res.body.state.switch]).toEqual([200, true]);
  }, 60_000);

  it('removing the device makes it leave the network', async () => {
    const res = await api(hub.baseUrl, 'DELETE', `/api/v1/devices/${plugId}`, { token });
    expect(res.status).toBe(204);
    expect(plug.left).toBe(true);
    expect((await api(hub.baseUrl, 'GET', `/api/v1/devices/${plugId}`, { token })).status).toBe(404);
    await events.next('zigbee.device', (m) => m.status === 'left' && m.ieee === '0x00158d0000aabb01');
  });
});

describe('Zigbee coordinator missing at start', () => {
  it('the hub starts anyway (health degraded, permit join 503) and takes the coordinator once it answers', async () => {
    const tmp = tempDir();
    const emulator = new ZStackCoordinator();
    await emulator.listen();
    emulator.refuseConnections = true;
    const hub = await startHub(join(tmp.dir, 'data'), ['--zigbee', emulator.url]);
    try {
      const token = await setupOwner(hub);
      await pollUntil(
        'the first attempt to fail',
        async () => (await api(hub.baseUrl, 'GET', '/api/v1/zigbee', { token })).body.state === 'failed' || undefined,
      );
      const health = (await api(hub.baseUrl, 'GET', '/api/v1/health')).body;
      expect([health.status, health.parts.zigbee]).toEqual(['degraded', 'failed']);
      // Counted until it runs, so a client tells a retry's `starting` from a first start.
      expect((await api(hub.baseUrl, 'GET', '/api/v1/zigbee', { token })).body.failures).toBeGreaterThanOrEqual(1);
      const res = await api(hub.baseUrl, 'POST', '/api/v1/zigbee/permit-join', { token, body: { seconds: 30 } });
      expect([res.status, res.body.error.code]).toEqual([503, 'not_ready']);
      emulator.refuseConnections = false;
      await pollUntil(
        'the coordinator to run',
        async () => (await api(hub.baseUrl, 'GET', '/api/v1/zigbee', { token })).body.state === 'running' || undefined,
        40_000,
        500,
      );
      expect(
        (await api(hub.baseUrl, 'POST', '/api/v1/zigbee/permit-join', { token, body: { seconds: 30 } })).body,
      ).toMatchObject({ state: 'running', permitJoin: true, failures: 0 });
      expect(emulator.permitJoinSeconds).toBe(30);
    } finally {
      await hub.stop();
      await emulator.close();
      tmp.cleanup();
    }
  }, 60_000);
});

describe('Zigbee off (no --zigbee)', () => {
  it('the hub runs without a radio: status off, permit join 503 not_ready, no zigbee files', async () => {
    const tmp = tempDir();
    const hub = await startHub(join(tmp.dir, 'data'));
    try {
      const token = await setupOwner(hub);
      expect((await api(hub.baseUrl, 'GET', '/api/v1/zigbee', { token })).body).toEqual({
        state: 'off',
        permitJoin: false,
      });
      const res = await api(hub.baseUrl, 'POST', '/api/v1/zigbee/permit-join', { token, body: { seconds: 30 } });
      expect([res.status, res.body.error.code]).toEqual([503, 'not_ready']);
      const health = (await api(hub.baseUrl, 'GET', '/api/v1/health')).body;
      expect(health.status).toBe('ok');
      expect(health.parts.zigbee).toBeUndefined();
      expect(existsSync(join(tmp.dir, 'data', 'zigbee'))).toBe(false);
    } finally {
      await hub.stop();
      tmp.cleanup();
    }
  });
});
