import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorWithReasonCode, MqttClient } from 'mqtt';
import { connectMqtt, mosquitto, nextMessage } from '../helpers/mqtt.ts';
import {
  closed,
  connectBytes,
  eventually,
  packetReader,
  rawConnect,
  startBroker,
  writePacket,
  type Harness,
} from './harness.ts';

/** CONNACK return code of a refused mqtt.js connect. */
async function refusedWith(promise: Promise<MqttClient>): Promise<number | undefined> {
  try {
    const client = await promise;
    client.end(true);
  } catch (err) {
    return (err as ErrorWithReasonCode).code;
  }
  throw new Error('connect was accepted');
}

describe('broker authentication', () => {
  let h: Harness;
  const clients: MqttClient[] = [];
  const track = (c: MqttClient): MqttClient => (clients.push(c), c);

  beforeEach(async () => {
    h = await startBroker();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.end(true);
    await h.close();
  });

  it('refuses anonymous CONNECTs with 5 and wrong passwords with 4 (mqtt.js)', async () => {
    const creds = h.device('plug-a');
    expect(await refusedWith(connectMqtt(h.port))).toBe(5);
    expect(await refusedWith(connectMqtt(h.port, { username: 'plug-a', password: 'wrong' }))).toBe(4);
    expect(await refusedWith(connectMqtt(h.port, { username: 'nobody', password: creds.password }))).toBe(4);
    expect(await refusedWith(connectMqtt(h.port, { username: 'plug-a' }))).toBe(4);
    const ok = track(await connectMqtt(h.port, creds));
    expect(ok.connected).toBe(true);
    expect(h.broker.stats().refusedConnects).toBe(4);
  });

  it('refuses anonymous and wrong-password CONNECTs (mosquitto_pub)', async () => {
    h.device('plug-a');
    const anonymous = await mosquitto('mosquitto_pub', ['-p', String(h.port), '-t', 'hearth/plug-a/state', '-m', '{}']);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/not authori[sz]ed/i);
    const wrong = await mosquitto('mosquitto_pub', [
      '-p',
      String(h.port),
      '-u',
      'plug-a',
      '-P',
      'nope',
      '-t',
      'hearth/plug-a/state',
      '-m',
      '{}',
    ]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/bad user ?name or password/i);
  });

  it('accepts a device with its credentials (mosquitto_pub to a mosquitto_sub)', async () => {
    const creds = h.device('plug-a');
    const watcher = track(
      await connectMqtt(
        h.port,
        h.broker.credentials.createIntegrationUser({ username: 'ha', scope: 'read', topics: ['hearth/#'] }),
      ),
    );
    await watcher.subscribeAsync('hearth/+/state');
    const got = nextMessage(watcher);
    const pub = await mosquitto('mosquitto_pub', [
      '-p',
      String(h.port),
      '-i',
      creds.clientId,
      '-u',
      creds.username,
      '-P',
      creds.password,
      '-t',
      'hearth/plug-a/state',
      '-m',
      '{"switch":true}',
      '-q',
      '1',
    ]);
    expect(pub.code).toBe(0);
    const msg = await got;
    expect(msg.topic).toBe('hearth/plug-a/state');
    expect(msg.payload.toString()).toBe('{"switch":true}');
  });

  it('refuses an empty client id with a persistent session with CONNACK 2 [MQTT-3.1.3-8]', async () => {
    const creds = h.broker.credentials.createIntegrationUser({ username: 'script', scope: 'read', topics: ['#'] });
    const socket = await rawConnect(h.port);
    const reader = packetReader(socket);
    socket.write(connectBytes({ clientId: '', clean: false, username: creds.username, password: creds.password }));
    const connack = await reader.next('connack');
    expect(connack).toMatchObject({ cmd: 'connack', returnCode: 2 });
    await closed(socket);

    // The same with a clean session is fine: the broker assigns an id.
    const ok = await rawConnect(h.port);
    const okReader = packetReader(ok);
    ok.write(connectBytes({ clientId: '', clean: true, username: creds.username, password: creds.password }));
    expect(await okReader.next('connack')).toMatchObject({ returnCode: 0 });
    ok.destroy();
  });

  it('refuses client ids over 256 characters with CONNACK 2', async () => {
    const creds = h.broker.credentials.createIntegrationUser({ username: 'script', scope: 'read', topics: ['#'] });
    expect(await refusedWith(connectMqtt(h.port, { ...creds, clientId: 'x'.repeat(257) }))).toBe(2);
    track(await connectMqtt(h.port, { ...creds, clientId: 'x'.repeat(256) }));
  });

  it('refuses a client id already used by another credential (no takeover) with CONNACK 2', async () => {
    const a = h.broker.credentials.createIntegrationUser({ username: 'script-a', scope: 'read', topics: ['#'] });
    const b = h.broker.credentials.createIntegrationUser({ username: 'script-b', scope: 'read', topics: ['#'] });
    const victim = track(await connectMqtt(h.port, { ...b, clientId: 'svc' }));
    expect(await refusedWith(connectMqtt(h.port, { ...a, clientId: 'svc' }))).toBe(2);
    expect(victim.connected).toBe(true);
    // Its own credential may take its id over [MQTT-3.1.4-2].
    const again = track(await connectMqtt(h.port, { ...b, clientId: 'svc' }));
    expect(again.connected).toBe(true);
  });

  /** CONNECT on a raw socket; the CONNACK as sent, and the reader for what follows. */
  async function rawConnack(o: { clientId: string; clean: boolean; username: string; password: string }) {
    const socket = await rawConnect(h.port);
    const reader = packetReader(socket);
    socket.write(connectBytes(o));
    return {
      socket,
      reader,
      connack: (await reader.next('connack')) as { returnCode: number; sessionPresent: boolean },
    };
  }

  it("a device credential may use only its own id: another plug's id is refused (CONNACK 2) and that plug's session is untouched", async () => {
    const a = h.device('plug-a');
    const b = h.device('plug-b');
    // Plug ids are public (mDNS): plug A tries plug B's id before B ever connected, as a persistent session.
    const squat = await rawConnack({ ...a, clientId: 'plug-b', clean: false });
    expect(squat.connack.returnCode).toBe(2);
    await closed(squat.socket);
    // Nor any id that is not its own (a random one, or none).
    expect(await refusedWith(connectMqtt(h.port, { ...a, clientId: 'plug-a-2' }))).toBe(2);
    expect((await rawConnack({ ...a, clientId: '', clean: true })).connack.returnCode).toBe(2);

    // Plug B connects (persistent), subscribes to its commands and goes away: a command waits for it.
    const first = await rawConnack({ ...b, clean: false });
    expect(first.connack).toMatchObject({ returnCode: 0, sessionPresent: false });
    writePacket(first.socket, {
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: 'hearth/plug-b/cmd', qos: 1 }],
    });
    await first.reader.next('suback');
    first.socket.destroy();
    await eventually(() => h.broker.stats().clients === 0, 10_000, 'plug-b offline');
    await h.broker.publish('hearth/plug-b/cmd', 'while away', { qos: 1 });

    // A's attempts at B's id, offline and live, are refused and change nothing.
    const again = await rawConnack({ ...a, clientId: 'plug-b', clean: true });
    expect(again.connack.returnCode).toBe(2);
    const back = await rawConnack({ ...b, clean: false });
    expect(back.connack).toMatchObject({ returnCode: 0, sessionPresent: true });
    expect((await back.reader.next('publish')) as unknown).toMatchObject({ topic: 'hearth/plug-b/cmd' });
    const live = await rawConnack({ ...a, clientId: 'plug-b', clean: false });
    expect(live.connack.returnCode).toBe(2);
    writePacket(back.socket, { cmd: 'pingreq' });
    await back.reader.next('pingresp'); // plug B's connection is still up
    back.socket.destroy();
  });

  it("an integration user may not take a device's id; a device takes its id back from one that held it before the device existed", async () => {
    h.device('plug-a');
    const ha = h.broker.credentials.createIntegrationUser({ username: 'ha', scope: 'read', topics: ['#'] });
    expect(await refusedWith(connectMqtt(h.port, { ...ha, clientId: 'plug-a' }))).toBe(2);

    // Before plug-c is added, the integration holds its (public) id with a session subscribed to '#'.
    const early = await rawConnack({ ...ha, clientId: 'plug-c', clean: false });
    expect(early.connack.returnCode).toBe(0);
    writePacket(early.socket, { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 1 }] });
    await early.reader.next('suback');
    const c = h.device('plug-c');
    // The device gets its id: the other connection is closed, its session (and '#') is not handed over.
    const plug = await rawConnack({ ...c, clean: false });
    expect(plug.connack).toMatchObject({ returnCode: 0, sessionPresent: false });
    await closed(early.socket);
    await h.broker.publish('elsewhere/x', 'not for the plug', { qos: 1 });
    await h.broker.publish('hearth/plug-c/cmd', 'for the plug', { qos: 1 });
    writePacket(plug.socket, {
      cmd: 'subscribe',
      messageId: 2,
      subscriptions: [{ topic: 'hearth/plug-c/cmd', qos: 1 }],
    });
    await plug.reader.next('suback');
    await h.broker.publish('hearth/plug-c/cmd', 'after subscribe', { qos: 0 });
    const got = (await plug.reader.next('publish')) as unknown as { topic: string; payload: Buffer };
    expect([got.topic, got.payload.toString()]).toEqual(['hearth/plug-c/cmd', 'after subscribe']);
    expect(await refusedWith(connectMqtt(h.port, { ...ha, clientId: 'plug-c' }))).toBe(2);
    plug.socket.destroy();
  });

  it("refuses a will outside the client's own topics with CONNACK 5", async () => {
    const a = h.device('plug-a');
    h.device('plug-b');
    const code = await refusedWith(
      connectMqtt(h.port, {
        ...a,
        will: { topic: 'hearth/plug-b/status', payload: Buffer.from('offline'), qos: 1, retain: true },
      }),
    );
    expect(code).toBe(5);
  });

  it('revokeDevice disconnects the live client at once and refuses it afterwards', async () => {
    const creds = h.device('plug-a');
    const client = track(await connectMqtt(h.port, creds));
    const gone = new Promise<void>((resolve) => client.once('close', () => resolve()));
    h.broker.credentials.revokeDevice('plug-a');
    await gone;
    expect(await refusedWith(connectMqtt(h.port, creds))).toBe(4);
  });

  it('a new device credential replaces the old one and drops connections made with it', async () => {
    const first = h.device('plug-a');
    const client = track(await connectMqtt(h.port, first));
    const gone = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const second = { ...h.broker.credentials.createDeviceCredential('plug-a'), clientId: 'plug-a' };
    await gone;
    expect(second.password).not.toBe(first.password);
    expect(await refusedWith(connectMqtt(h.port, first))).toBe(4);
    track(await connectMqtt(h.port, second));
  });

  it('removing a device (bus event) revokes its credential even if nobody called revokeDevice', async () => {
    const creds = h.device('plug-a');
    const client = track(await connectMqtt(h.port, creds));
    const gone = new Promise<void>((resolve) => client.once('close', () => resolve()));
    h.store.devices.delete('plug-a'); // the credential row cascades away
    h.bus.emit('device.removed', { deviceId: 'plug-a', at: Date.now() });
    await gone;
    expect(await refusedWith(connectMqtt(h.port, creds))).toBe(4);
  });

  it('stores only a SHA-256 digest of the secret', () => {
    const creds = h.device('plug-a');
    const row = h.store.db.prepare('SELECT * FROM mqtt_credentials WHERE username = ?').get('plug-a') as Record<
      string,
      unknown
    >;
    expect(JSON.stringify(row)).not.toContain(creds.password);
    expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(Buffer.from(creds.password, 'base64url')).toHaveLength(32);
  });
});
