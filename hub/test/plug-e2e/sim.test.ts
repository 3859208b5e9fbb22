import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plugPsk } from '../../src/broker/plug-psk.ts';
import { plainIntegrationsArgs, startHub, type HubProcess } from '../helpers/hub-process.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { connectMqtt, nextMessage } from '../helpers/mqtt.ts';
import { tempDir } from '../helpers/temp.ts';
import {
  HAVE_SIM,
  IN_NETNS,
  openEvents,
  startAvahi,
  startSim,
  waitFor,
  type Avahi,
  type EventsSocket,
  type SimProcess,
} from './helpers.ts';

const A = { id: 'plug-a1a1a1a1a1a1', setupCode: '11223344' };
const B = { id: 'plug-b2b2b2b2b2b2', setupCode: '55667788' };
const C = { id: 'plug-c3c3c3c3c3c3', setupCode: '90909090' };

/** The MQTT password a simulator keeps in its state directory (it is the plug's "flash"). */
function passwordIn(dir: string): string | undefined {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      const inner = passwordIn(path);
      if (inner) return inner;
      continue;
    }
    // The simulator keeps one file per storage key: `mq_pass` holds the password as text.
    if (name.startsWith('mq_pass')) return readFileSync(path, 'latin1').trim();
  }
  return undefined;
}

/**
 * The real thing, end to end, inside one loopback-only network namespace: the hub process, two
 * C plug simulators (scripts/plug-sim) announcing themselves over multicast DNS, Avahi, and
 * outside MQTT clients playing an integration and an attacker.
 */
describe.skipIf(!IN_NETNS || !HAVE_SIM)('Hearth plugs end to end with the C simulator', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: HubProcess;
  let token: string;
  let avahi: Avahi;
  let events: EventsSocket;
  const sims = new Map<string, SimProcess>();
  const clients: MqttClient[] = [];
  const stateDir = (id: string) => join(tmp.dir, 'sims', id);

  const sim = async (plug: { id: string; setupCode: string }, noClock = false) => {
    const s = await startSim({ ...plug, stateDir: stateDir(plug.id), loadWatts: 60, noClock });
    sims.set(plug.id, s);
    return s;
  };
  const discovered = async () =>
    (await api(hub.baseUrl, 'GET', '/api/v1/plugs/discovered', { token })).body as {
      id: string;
      port: number;
      address: string;
    }[];
  const device = async (id: string) => (await api(hub.baseUrl, 'GET', `/api/v1/devices/${id}`, { token })).body;
  const command = (id: string, value: boolean) =>
    api(hub.baseUrl, 'POST', `/api/v1/devices/${id}/commands`, { token, body: { capability: 'switch', value } });

  beforeAll(async () => {
    tmp = tempDir();
    hub = await startHub(join(tmp.dir, 'hub'), ['--mdns', 'lo', ...plainIntegrationsArgs(tmp.dir)]);
    token = await setupOwner(hub);
    avahi = await startAvahi(join(tmp.dir, 'avahi'));
    events = await openEvents(hub.baseUrl, token);
    await sim(A);
    await sim(B);
  }, 180_000);
  afterAll(async () => {
    for (const c of clients) c.end(true);
    events?.close();
    for (const s of sims.values()) await s.stop();
    await hub?.stop();
    await avahi?.stop();
    tmp?.cleanup();
  });

  it('discovers both unclaimed plugs with their pairing address', async () => {
    for (const plug of [A, B]) {
      const entry = await waitFor(
        async () => (await discovered()).find((p) => p.id === plug.id),
        `${plug.id} in /plugs/discovered`,
      );
      expect(entry).toMatchObject({ id: plug.id, address: '127.0.0.1', port: sims.get(plug.id)!.httpPort });
    }
  });

  it('Avahi resolves a plug and the hub', async () => {
    const plug = await waitFor(
      async () => (await avahi.resolve('hearth-plug')).find((s) => s.name === A.id),
      'the plug in avahi-browse',
    );
    expect(plug).toMatchObject({ address: '127.0.0.1', port: sims.get(A.id)!.httpPort });
    expect(plug.txt).toContain(`"id=${A.id}"`);
    const hubService = await waitFor(
      async () => (await avahi.resolve('hearth')).find((s) => s.port === hub.http),
      'the hub in avahi-browse',
    );
    expect(hubService.address).toBe('127.0.0.1');
  });

  it('refuses a wrong code with pairing_wrong_code; the plug stays unclaimed and nothing is made', async () => {
    const res = await api(hub.baseUrl, 'POST', `/api/v1/plugs/${A.id}/pair`, {
      token,
      body: { setupCode: '99999999', name: 'Nope' },
    });
    expect([res.status, res.body.error.code]).toEqual([400, 'pairing_wrong_code']);
    expect((await api(hub.baseUrl, 'GET', `/api/v1/devices/${A.id}`, { token })).status).toBe(404);
    expect((await discovered()).map((p) => p.id)).toContain(A.id);
  });

  it('pairs both with the right code (A from its QR text): online, then gone from the discovered list', async () => {
    const a = await api(hub.baseUrl, 'POST', `/api/v1/plugs/${A.id}/pair`, {
      token,
      body: { setupCode: `HEARTH:${A.id}:${A.setupCode}`, name: 'Kettle' },
    });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({
      id: A.id,
      name: 'Kettle',
      driver: 'plug',
      available: true,
      capabilities: ['switch', 'power', 'voltage', 'current', 'energy'],
    });
    const b = await api(hub.baseUrl, 'POST', `/api/v1/plugs/${B.id}/pair`, {
      token,
      body: { setupCode: B.setupCode, name: 'Heater' },
    });
    expect(b.status).toBe(201);
    await waitFor(
      async () => ((await discovered()).some((p) => p.id === A.id || p.id === B.id) ? undefined : true),
      'claimed plugs to leave the list',
    );
    const again = await api(hub.baseUrl, 'POST', `/api/v1/plugs/${A.id}/pair`, {
      token,
      body: { setupCode: A.setupCode, name: 'Twice' },
    });
    // Claimed (TXT claimed=1, and the hub has the device): a distinct refusal, never a second pairing.
    expect([again.status, again.body.error.code]).toEqual([409, 'already_claimed']);
  });

  it('toggles from the API: 200 once confirmed, and the state event arrives on /api/v1/events', async () => {
    const on = await command(A.id, true);
    expect(on.status).toBe(200);
    expect(on.body.state.switch).toBe(true);
    await events.next(
      (e) => e.type === 'device.state' && e.deviceId === A.id && e.capability === 'switch' && e.value === true,
      'the switch-on state event',
    );
    const off = await command(A.id, false);
    expect([off.status, off.body.state.switch]).toEqual([200, false]);
    await events.next(
      (e) => e.type === 'device.state' && e.deviceId === A.id && e.capability === 'switch' && e.value === false,
      'the switch-off state event',
    );
  });

  it('power readings arrive as state and as telemetry samples', async () => {
    expect((await command(B.id, true)).status).toBe(200);
    await events.next(
      (e) => e.type === 'telemetry.sample' && e.deviceId === B.id && e.capability === 'power' && e.value > 0,
      'a power sample above 0 W',
    );
    const view = await waitFor(async () => {
      const d = await device(B.id);
      return ['power', 'voltage', 'current', 'energy'].every((k) => typeof d.state[k] === 'number') ? d : undefined;
    }, 'all four readings');
    expect(view.state.voltage).toBeGreaterThan(0);
  });

  it("a plug with no clock (no SNTP: internet down) takes the hub's signed time and obeys commands", async () => {
    const c = await sim(C, true);
    await waitFor(async () => (await discovered()).find((p) => p.id === C.id), `${C.id} in /plugs/discovered`);
    const paired = await api(hub.baseUrl, 'POST', `/api/v1/plugs/${C.id}/pair`, {
      token,
      body: { setupCode: C.setupCode, name: 'Porch' },
    });
    expect(paired.status).toBe(201);
    await waitFor(
      async () => (c.lines.some((l) => l.event === 'time' && l.result === 'ok') ? true : undefined),
      'the simulator to take the hub time',
    );
    const on = await command(C.id, true);
    expect([on.status, on.body.state.switch]).toEqual([200, true]);
    expect(c.lines.filter((l) => l.event === 'command').map((l) => l.result)).toEqual(['accepted']);
    expect((await api(hub.baseUrl, 'DELETE', `/api/v1/devices/${C.id}`, { token })).status).toBe(204);
  }, 120_000);

  it('rejects a replayed and a forged command published straight to the plug topic; the relay does not move', async () => {
    const created = await api(hub.baseUrl, 'POST', '/api/v1/integrations/mqtt-users', {
      token,
      body: { username: 'intruder', scope: 'readwrite', topics: ['hearth/#'] },
    });
    expect(created.status).toBe(201);
    const intruder = await connectMqtt(hub.mqtt, { username: 'intruder', password: created.body.password });
    clients.push(intruder);
    await intruder.subscribeAsync([`hearth/${A.id}/cmd`, `hearth/${A.id}/event`, `hearth/${A.id}/state`], { qos: 1 });
    const captured = nextMessage(intruder, (t) => t === `hearth/${A.id}/cmd`);
    expect((await command(A.id, true)).status).toBe(200);
    const genuine = (await captured).payload;
    expect((await command(A.id, false)).status).toBe(200);

    // Replay the captured "switch on".
    const replayRejected = nextMessage(
      intruder,
      (t, p) => t === `hearth/${A.id}/event` && JSON.parse(String(p)).type === 'cmd_rejected',
    );
    await intruder.publishAsync(`hearth/${A.id}/cmd`, genuine, { qos: 1 });
    expect(JSON.parse(String((await replayRejected).payload))).toMatchObject({
      type: 'cmd_rejected',
      reason: 'replay',
    });

    // A fresh counter and time, but not signed by the hub.
    const forged = JSON.parse(String(genuine));
    const forgedRejected = nextMessage(
      intruder,
      (t, p) => t === `hearth/${A.id}/event` && JSON.parse(String(p)).type === 'cmd_rejected',
    );
    await intruder.publishAsync(
      `hearth/${A.id}/cmd`,
      JSON.stringify({
        ...forged,
        c: forged.c + 1000,
        t: Date.now(),
        v: true,
        sig: Buffer.alloc(64, 7).toString('base64'),
      }),
      { qos: 1 },
    );
    expect(JSON.parse(String((await forgedRejected).payload))).toMatchObject({
      type: 'cmd_rejected',
      reason: 'bad_signature',
    });

    expect((await device(A.id)).state.switch).toBe(false);
    const audit = await waitFor(async () => {
      const list = (await api(hub.baseUrl, 'GET', '/api/v1/audit?limit=200', { token })).body.entries as {
        action: string;
        target: string;
        details: any;
      }[];
      const rejected = list.filter((r) => r.action === 'plug.cmd_rejected' && r.target === A.id);
      return rejected.length >= 2 ? rejected : undefined;
    }, 'two plug.cmd_rejected audit rows');
    expect(audit.map((r) => r.details.reason).sort()).toEqual(['bad_signature', 'replay']);
    // And the hub's own next command still goes through.
    expect((await command(A.id, true)).status).toBe(200);
  });

  it("plug A's credentials cannot publish as plug B nor read B's commands", async () => {
    const password = passwordIn(stateDir(A.id));
    expect(password, 'the MQTT password in the simulator state dir').toBeDefined();
    // A device may use only its own client id: this connection takes A's over from the simulator,
    // which comes back after its reconnect back-off (at least 500 ms; the probe needs far less).
    // A plug paired with TLS is refused on cleartext: this goes where A goes, TLS with A's PSK.
    const asA = await connectMqtt(hub.mqtts, {
      protocol: 'mqtts',
      clientId: A.id,
      username: A.id,
      password: password!,
      pskCallback: () => ({ psk: plugPsk(password!), identity: A.id }),
      ciphers: 'TLS_AES_128_GCM_SHA256',
      checkServerIdentity: () => undefined,
    } as Parameters<typeof connectMqtt>[1]);
    clients.push(asA);
    const before = (await device(B.id)).state.switch;
    await asA.publishAsync(`hearth/${B.id}/state`, JSON.stringify({ switch: !before }), { qos: 1 });
    await asA.publishAsync(`hearth/${B.id}/status`, 'offline', { qos: 1, retain: true });
    // SUBACK 0x80 (failure) for B's command topic; mqtt.js turns it into an error.
    const refused = await asA.subscribeAsync(`hearth/${B.id}/cmd`, { qos: 1 }).then(
      () => undefined,
      (e: { packet?: { granted?: number[] } }) => e,
    );
    expect(refused?.packet?.granted).toEqual([128]);
    // Give the broker a round trip: a ping-like publish on A's own topic comes back first.
    const echo = nextMessage(asA, (t) => t === `hearth/${A.id}/probe`);
    await asA.subscribeAsync(`hearth/${A.id}/probe`, { qos: 1 });
    await asA.publishAsync(`hearth/${A.id}/probe`, 'x', { qos: 1 });
    await echo;
    const after = await device(B.id);
    expect([after.state.switch, after.available]).toEqual([before, true]);
    asA.end(true);
    await waitFor(async () => ((await device(A.id)).available === true ? true : undefined), 'A back online', 40_000);
  });

  it('kill -9 a simulator: offline within the keepalive; restarted on the same state: online again, no re-pairing', async () => {
    await sims.get(A.id)!.kill9();
    await waitFor(async () => ((await device(A.id)).available === false ? true : undefined), 'A offline', 40_000);
    await events.next(
      (e) => e.type === 'device.availability' && e.deviceId === A.id && e.available === false,
      'the offline event',
    );
    await sim(A);
    await waitFor(async () => ((await device(A.id)).available === true ? true : undefined), 'A online again', 40_000);
    // Still paired with the same counter history: the next signed command is accepted.
    const res = await command(A.id, false);
    expect([res.status, res.body.state.switch]).toEqual([200, false]);
    expect((await discovered()).some((p) => p.id === A.id)).toBe(false);
  }, 120_000);

  it('removing a plug revokes its credentials at once', async () => {
    expect((await api(hub.baseUrl, 'DELETE', `/api/v1/devices/${B.id}`, { token })).status).toBe(204);
    const password = passwordIn(stateDir(B.id));
    const err = await connectMqtt(hub.mqtt, {
      clientId: `${B.id}-probe`,
      username: B.id,
      password: password ?? 'x',
    }).then(
      (c) => {
        c.end(true);
        return undefined;
      },
      (e: { code?: number }) => e,
    );
    expect(err?.code).toBe(4);
  });

  it('a hub restart on the same ports: the paired plug reconnects and takes signed commands again', async () => {
    const { http, mqtt, mqtts } = hub;
    events.close();
    expect(await hub.stop()).toBe(0);
    // The plugs dial the TLS port they were given at pairing.
    hub = await startHub(join(tmp.dir, 'hub'), [
      ...plainIntegrationsArgs(tmp.dir),
      '--mdns',
      'lo',
      '--http-port',
      String(http),
      '--mqtt-port',
      String(mqtt),
      '--mqtts-port',
      String(mqtts),
    ]);
    const login = await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
      body: { username: 'owner', password: 'correct horse battery' },
    });
    token = login.body.accessToken;
    await waitFor(
      async () => ((await device(A.id)).available === true ? true : undefined),
      'A online after the hub restart',
      90_000,
    );
    // The counter came back from the database: the plug accepts the next one.
    const res = await command(A.id, true);
    expect([res.status, res.body.state.switch]).toEqual([200, true]);
  }, 120_000);
});
