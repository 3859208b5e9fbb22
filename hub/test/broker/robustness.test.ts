import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { Broker } from '../../src/broker/broker.ts';
import { EventBus } from '../../src/core/bus.ts';
import { systemClock } from '../../src/core/clock.ts';
import { validateConfig } from '../../src/core/config.ts';
import { createLogger } from '../../src/core/logger.ts';
import { Store } from '../../src/store/store.ts';
import { connectMqtt, mosquitto, nextMessage } from '../helpers/mqtt.ts';
import { tempDir } from '../helpers/temp.ts';
import {
  closed,
  eventually,
  packetReader,
  rawConnect,
  remainingLength,
  startBroker,
  writePacket,
  type Harness,
} from './harness.ts';

describe('broker robustness', () => {
  let h: Harness | undefined;
  const clients: MqttClient[] = [];
  const track = (c: MqttClient): MqttClient => (clients.push(c), c);

  afterEach(async () => {
    for (const c of clients.splice(0)) c.end(true);
    await h?.close();
    h = undefined;
  });

  /** A publisher/subscriber pair proving the broker still works for everyone else. */
  async function pair(
    harness: Harness,
  ): Promise<{ pub: MqttClient; sub: MqttClient; roundTrip: (payload: string) => Promise<void> }> {
    const sub = track(
      await connectMqtt(
        harness.port,
        harness.broker.credentials.createIntegrationUser({
          username: `s${clients.length}`,
          scope: 'read',
          topics: ['#'],
        }),
      ),
    );
    await sub.subscribeAsync('check/#', { qos: 1 });
    const pub = track(
      await connectMqtt(
        harness.port,
        harness.broker.credentials.createIntegrationUser({
          username: `p${clients.length}`,
          scope: 'readwrite',
          topics: ['#'],
        }),
      ),
    );
    return {
      pub,
      sub,
      roundTrip: async (payload) => {
        const got = nextMessage(sub, (_t, p) => p.toString() === payload);
        await pub.publishAsync('check/x', payload, { qos: 1 });
        await got;
      },
    };
  }

  it('garbage bytes close only that connection', async () => {
    h = await startBroker();
    const { roundTrip } = await pair(h);
    const before = rawConnect(h.port);
    const garbage = await before;
    garbage.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef]));
    await closed(garbage);

    // Garbage after a valid CONNECT, too.
    const creds = h.device('plug-a');
    const socket = await rawConnect(h.port);
    const reader = packetReader(socket);
    writePacket(socket, {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId: 'plug-a',
      keepalive: 30,
      username: creds.username,
      password: Buffer.from(creds.password),
    });
    await reader.next('connack');
    socket.write(Buffer.from([0x30, 0x05, 0x00, 0x09, 0x61, 0x62, 0x63])); // PUBLISH whose topic length overruns the packet
    await closed(socket);

    await roundTrip('still working');
    expect(h.broker.stats().connectionErrors).toBe(2);
  });

  it('a packet over maxPacketBytes closes that connection, as soon as its header says so', async () => {
    h = await startBroker({ mqtt: { maxPacketBytes: 4096 } });
    const { roundTrip } = await pair(h);
    const big = track(await connectMqtt(h.port, h.device('plug-a')));
    const gone = new Promise<void>((resolve) => big.once('close', () => resolve()));
    big.publish('hearth/plug-a/telemetry', Buffer.alloc(10_000, 0x61), { qos: 0 });
    await gone;

    // Only the header of a 200 MB packet is needed to refuse it: no body is ever sent.
    const creds = h.device('plug-b');
    const socket = await rawConnect(h.port);
    const reader = packetReader(socket);
    writePacket(socket, {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId: 'plug-b',
      keepalive: 30,
      username: creds.username,
      password: Buffer.from(creds.password),
    });
    await reader.next('connack');
    socket.write(Buffer.concat([Buffer.from([0x30]), remainingLength(200 * 1024 * 1024)]));
    await closed(socket);

    await roundTrip('after oversized');
    expect(h.broker.stats().oversizedPackets).toBe(2);
  });

  it('a stuck subscriber neither stalls delivery to others nor holds unbounded memory', async () => {
    h = await startBroker({ mqtt: { maxClientQueue: 200 } });
    const pub = track(
      await connectMqtt(
        h.port,
        h.broker.credentials.createIntegrationUser({ username: 'pub', scope: 'readwrite', topics: ['#'] }),
      ),
    );
    const reader = h.broker.credentials.createIntegrationUser({ username: 'reader', scope: 'read', topics: ['#'] });

    // A subscriber that never reads what it is sent.
    const creds = h.broker.credentials.createIntegrationUser({ username: 'stuck', scope: 'read', topics: ['#'] });
    const stuck = await rawConnect(h.port);
    const packets = packetReader(stuck);
    writePacket(stuck, {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId: 'stuck',
      keepalive: 0,
      username: creds.username,
      password: Buffer.from(creds.password),
    });
    await packets.next('connack');
    writePacket(stuck, { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'check/#', qos: 0 }] });
    await packets.next('suback');
    stuck.pause();
    stuck.removeAllListeners('data');

    // A healthy subscriber in its own process (this one is busy being the broker).
    const total = 600;
    const healthy = mosquitto(
      'mosquitto_sub',
      [
        '-p',
        String(h.port),
        '-u',
        'reader',
        '-P',
        reader.password,
        '-t',
        'check/#',
        '-C',
        String(total),
        '-F',
        '%t',
        '-W',
        '60',
      ],
      70_000,
    );
    await eventually(() => h!.broker.stats().subscriptionsGranted === 2, 10_000, 'mosquitto_sub subscribed');

    const payload = Buffer.alloc(64 * 1024, 0x62); // 600 × 64 KiB ≈ 38 MiB: far beyond socket buffers
    for (let i = 0; i < total; i++) pub.publish('check/big', payload, { qos: 0 });
    const result = await healthy;
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(total);
    await eventually(() => h!.broker.stats().slowClientDisconnects === 1, 10_000, 'stuck client dropped');
    // The stuck socket sees its end once it reads what was already in flight.
    stuck.resume();
    await closed(stuck);
  }, 90_000);

  it('clients churning through new ids leave nothing behind; persistent sessions are bounded per credential', async () => {
    // (A device may only use its own id; an integration user may use any other.)
    h = await startBroker({ limits: { sessionsPerIntegration: 3 } });
    const creds = h.broker.credentials.createIntegrationUser({
      username: 'script',
      scope: 'read',
      topics: ['hearth/#'],
    });
    for (let i = 0; i < 50; i++) {
      const c = await connectMqtt(h.port, { ...creds, clientId: `churn-${i}`, clean: true });
      await c.subscribeAsync('hearth/plug-a/cmd', { qos: 1 });
      await c.endAsync();
    }
    await eventually(() => h!.broker.stats().clients === 0, 10_000, 'all gone');
    expect(h.broker.stats()).toMatchObject({ persistentSessions: 0, queuedMessages: 0 });

    for (let i = 0; i < 10; i++) {
      const c = await connectMqtt(h.port, { ...creds, clientId: `persist-${i}`, clean: false });
      await c.subscribeAsync('hearth/plug-a/cmd', { qos: 1 });
      await c.endAsync();
      await eventually(() => h!.broker.stats().clients === 0, 10_000, 'gone');
    }
    await h.broker.publish('hearth/plug-a/cmd', 'x', { qos: 1 });
    const stats = h.broker.stats();
    expect(stats.persistentSessions).toBe(3);
    expect(stats.queuedMessages).toBe(3); // one per remaining session, not ten
    await eventually(
      () =>
        (h!.store.db.prepare('SELECT count(DISTINCT client_id) AS n FROM mqtt_subscriptions').get() as { n: number })
          .n === 3,
      10_000,
      'rows on disk',
    );
    // The most recent sessions survived.
    const ids = (
      h.store.db.prepare('SELECT client_id FROM mqtt_sessions ORDER BY client_id').all() as { client_id: string }[]
    ).map((r) => r.client_id);
    expect(ids).toEqual(['persist-7', 'persist-8', 'persist-9']);
  });

  it('revoking a credential drops its persistent sessions; sessions unseen for too long expire at start', async () => {
    h = await startBroker({ limits: { sessionExpiryMs: 60_000 } });
    const a = h.device('plug-a');
    const b = h.device('plug-b');
    for (const [creds, id] of [
      [a, 'plug-a'],
      [b, 'plug-b'],
    ] as const) {
      const c = await connectMqtt(h.port, { ...creds, clientId: id, clean: false });
      await c.subscribeAsync(`hearth/${id}/cmd`, { qos: 1 });
      await c.endAsync();
    }
    await eventually(() => h!.broker.stats().clients === 0, 10_000, 'gone');
    await h.broker.publish('hearth/plug-a/cmd', 'x', { qos: 1 });
    expect(h.broker.stats()).toMatchObject({ persistentSessions: 2, queuedMessages: 1 });

    h.broker.credentials.revokeDevice('plug-a');
    expect(h.broker.stats()).toMatchObject({ persistentSessions: 1, queuedMessages: 0 });

    // plug-b was last seen long ago (as far as the table says): dropped when the broker starts.
    h.store.db.prepare("UPDATE mqtt_sessions SET last_seen = 0 WHERE client_id = 'plug-b'").run();
    await h.restart();
    expect(h.broker.stats().persistentSessions).toBe(0);
    await eventually(
      () => (h!.store.db.prepare('SELECT count(*) AS n FROM mqtt_subscriptions').get() as { n: number }).n === 0,
      10_000,
      'rows gone',
    );
  });

  it('start() fails with a clear error when the port is taken, and leaves nothing running', async () => {
    h = await startBroker();
    const { dir, cleanup } = tempDir('hearth-broker-taken-');
    const store = Store.open(dir);
    const log = createLogger({ level: 'silent' });
    const second = new Broker({
      store,
      bus: new EventBus(log),
      log,
      clock: systemClock,
      config: validateConfig({ mqtt: { host: '127.0.0.1', port: h.port, tlsPort: 0, maxClientQueue: 100 } }).mqtt,
    });
    try {
      await expect(second.start()).rejects.toMatchObject({ code: 'internal_error' });
      expect(second.healthy()).toBe(false);
      await second.stop();
      expect(h.broker.healthy()).toBe(true);
    } finally {
      store.close();
      cleanup();
    }
  });

  it('stop() closes connections that never sent CONNECT, and is idempotent', async () => {
    h = await startBroker();
    const idle = await rawConnect(h.port);
    const idleClosed = closed(idle);
    const plug = track(await connectMqtt(h.port, h.device('plug-a')));
    const plugClosed = new Promise<void>((resolve) => plug.once('close', () => resolve()));
    await Promise.all([h.broker.stop(), h.broker.stop()]);
    await idleClosed;
    await plugClosed;
    expect(h.broker.healthy()).toBe(false);
    await expect(h.broker.publish('a', 'b')).rejects.toMatchObject({ code: 'not_ready' });
  });
});
