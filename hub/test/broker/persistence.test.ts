import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectMqtt, connectWithInbox, mosquitto, nextMessage } from '../helpers/mqtt.ts';
import { eventually, packetReader, rawConnect, startBroker, writePacket, type Harness } from './harness.ts';

const count = (h: Harness, table: string): number =>
  (h.store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('broker persistence across restarts (same SQLite file)', () => {
  let h: Harness | undefined;
  const clients: MqttClient[] = [];
  const track = (c: MqttClient): MqttClient => (clients.push(c), c);

  afterEach(async () => {
    for (const c of clients.splice(0)) c.end(true);
    await h?.close();
    h = undefined;
  });

  it('a QoS 1 message queued for an offline persistent client is delivered after a restart (mqtt.js)', async () => {
    h = await startBroker();
    const creds = h.device('plug-a');
    const first = track(await connectMqtt(h.port, { ...creds, clientId: 'plug-a', clean: false }));
    await first.subscribeAsync('hearth/plug-a/cmd', { qos: 1 });
    await first.endAsync();
    await eventually(() => h!.broker.stats().clients === 0, 10_000, 'client gone');

    await h.broker.publish('hearth/plug-a/cmd', '{"id":"c1","on":true}', { qos: 1 });
    // The queued message reaches the disk (rows, not timings).
    await eventually(() => count(h!, 'mqtt_outgoing') === 1, 10_000, 'queued row on disk');

    await h.restart();
    const again = await connectWithInbox(h.port, { ...creds, clientId: 'plug-a', clean: false });
    track(again.client);
    const msg = await again.next((t) => t === 'hearth/plug-a/cmd');
    expect(msg.payload.toString()).toBe('{"id":"c1","on":true}');
    // Acknowledged, so it leaves the queue and the disk.
    await eventually(() => count(h!, 'mqtt_outgoing') === 0, 10_000, 'acked row removed');
  });

  it('a QoS 1 message queued for an offline persistent client is delivered after a restart (mosquitto_sub)', async () => {
    h = await startBroker();
    const creds = h.device('plug-b');
    const args = () => [
      '-p',
      String(h!.port),
      '-u',
      creds.username,
      '-P',
      creds.password,
      '-i',
      'plug-b',
      '-c',
      '-q',
      '1',
      '-t',
      'hearth/plug-b/cmd',
    ];
    // Creates the persistent session and leaves (no message within 1 s).
    await mosquitto('mosquitto_sub', [...args(), '-W', '1']);
    const integration = h.broker.credentials.createIntegrationUser({
      username: 'nodered',
      scope: 'readwrite',
      topics: ['hearth/+/cmd'],
    });
    const pub = await mosquitto('mosquitto_pub', [
      '-p',
      String(h.port),
      '-u',
      'nodered',
      '-P',
      integration.password,
      '-q',
      '1',
      '-t',
      'hearth/plug-b/cmd',
      '-m',
      'toggle',
    ]);
    expect(pub.code).toBe(0);
    await h.restart();
    const sub = await mosquitto('mosquitto_sub', [...args(), '-C', '1', '-W', '5']); // new port after the restart
    expect(sub.stdout.trim()).toBe('toggle');
  });

  it('keeps retained messages and persistent subscriptions across a restart', async () => {
    h = await startBroker();
    const creds = h.device('plug-a');
    const plug = track(await connectMqtt(h.port, { ...creds, clientId: 'plug-a', clean: false }));
    await plug.subscribeAsync('hearth/plug-a/#', { qos: 1 });
    await plug.publishAsync('hearth/plug-a/state', '{"switch":true}', { qos: 1, retain: true });
    await plug.endAsync();
    await h.restart();

    // The session is present and its subscription works without subscribing again.
    const again = track(await connectMqtt(h.port, { ...creds, clientId: 'plug-a', clean: false }));
    const cmd = nextMessage(again, (t) => t === 'hearth/plug-a/cmd');
    await h.broker.publish('hearth/plug-a/cmd', 'x', { qos: 1 });
    expect((await cmd).payload.toString()).toBe('x');

    const reader = track(
      await connectMqtt(
        h.port,
        h.broker.credentials.createIntegrationUser({ username: 'ha', scope: 'read', topics: ['hearth/#'] }),
      ),
    );
    const retained = nextMessage(reader, (t) => t === 'hearth/plug-a/state');
    await reader.subscribeAsync('hearth/+/state');
    const msg = await retained;
    expect(msg.retain).toBe(true);
    expect(msg.payload.toString()).toBe('{"switch":true}');
  });

  it('keeps the incoming QoS 2 state across a restart: a retransmitted PUBLISH is not delivered twice', async () => {
    h = await startBroker();
    const creds = h.device('plug-a');
    const reader = track(
      await connectMqtt(
        h.port,
        h.broker.credentials.createIntegrationUser({ username: 'ha', scope: 'read', topics: ['hearth/#'] }),
      ),
    );
    await reader.subscribeAsync('hearth/plug-a/energy', { qos: 2 });
    const seen: string[] = [];
    reader.on('message', (_t, p) => seen.push(p.toString()));

    const connect = {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: false,
      clientId: 'plug-a',
      keepalive: 30,
      username: creds.username,
      password: Buffer.from(creds.password),
    } as const;
    const publish = {
      cmd: 'publish',
      topic: 'hearth/plug-a/energy',
      payload: Buffer.from('42'),
      qos: 2,
      messageId: 7,
      retain: false,
      dup: false,
    } as const;
    let socket = await rawConnect(h.port);
    let reader2 = packetReader(socket);
    writePacket(socket, connect);
    await reader2.next('connack');
    writePacket(socket, publish);
    expect(await reader2.next('pubrec')).toMatchObject({ messageId: 7 });
    await eventually(() => seen.length === 1, 10_000, 'first delivery');
    socket.destroy(); // PUBREL never sent
    await eventually(() => count(h!, 'mqtt_incoming') === 1, 10_000, 'QoS 2 state on disk');

    reader.end(true);
    await h.restart();
    const watcher = track(
      await connectMqtt(
        h.port,
        h.broker.credentials.createIntegrationUser({ username: 'ha2', scope: 'read', topics: ['hearth/#'] }),
      ),
    );
    await watcher.subscribeAsync('hearth/plug-a/#', { qos: 2 });
    const after: string[] = [];
    watcher.on('message', (t, p) => t === 'hearth/plug-a/energy' && after.push(p.toString()));

    socket = await rawConnect(h.port);
    reader2 = packetReader(socket);
    writePacket(socket, connect);
    expect(await reader2.next('connack')).toMatchObject({ returnCode: 0 });
    writePacket(socket, { ...publish, dup: true }); // the retransmission [MQTT-4.3.3-2]
    expect(await reader2.next('pubrec')).toMatchObject({ messageId: 7 });
    writePacket(socket, { cmd: 'pubrel', messageId: 7 });
    expect(await reader2.next('pubcomp')).toMatchObject({ messageId: 7 });
    // A fresh message afterwards arrives, and it is the only one.
    writePacket(socket, { ...publish, messageId: 8, payload: Buffer.from('43') });
    await reader2.next('pubrec');
    await eventually(() => after.length >= 1, 10_000, 'fresh message');
    expect(after).toEqual(['43']);
    socket.destroy();
  });

  it('bounds the queue of an offline session: the oldest messages are dropped', async () => {
    h = await startBroker({ mqtt: { maxClientQueue: 16 } });
    const creds = h.device('plug-a');
    const first = track(await connectMqtt(h.port, { ...creds, clientId: 'plug-a', clean: false }));
    await first.subscribeAsync('hearth/plug-a/cmd', { qos: 1 });
    await first.endAsync();
    for (let i = 0; i < 30; i++) await h.broker.publish('hearth/plug-a/cmd', String(i), { qos: 1 });
    expect(h.broker.stats().queuedMessages).toBe(16);
    expect(h.broker.stats().droppedQueuedMessages).toBe(14);
    const got: string[] = [];
    const again = await connectWithInbox(h.port, { ...creds, clientId: 'plug-a', clean: false });
    track(again.client);
    await eventually(() => again.all.length === 16, 10_000, '16 messages');
    got.push(...again.all.map((m) => m.payload.toString()));
    expect(got).toEqual(Array.from({ length: 16 }, (_, i) => String(i + 14)));
  });
});
