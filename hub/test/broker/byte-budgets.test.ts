import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectMqtt, connectWithInbox, mosquitto, nextMessage } from '../helpers/mqtt.ts';
import { closed, eventually, packetReader, rawConnect, startBroker, writePacket, type Harness } from './harness.ts';

/**
 * Issue 12: the broker's limits counted messages, not bytes, and one budget was shared, so one
 * device could fill the global retained cap or a queue with megabytes. These check the byte
 * budgets per client and what the refusals look like on the wire.
 */
describe('broker byte budgets', () => {
  let h: Harness | undefined;
  const clients: MqttClient[] = [];
  const track = (c: MqttClient): MqttClient => (clients.push(c), c);

  afterEach(async () => {
    for (const c of clients.splice(0)) c.end(true);
    await h?.close();
    h = undefined;
  });

  const integration = (username: string, scope: 'read' | 'readwrite' = 'readwrite', topics = ['#']) =>
    h!.broker.credentials.createIntegrationUser({ username, scope, topics });

  /** Every retained message a new subscriber to `filter` gets (mosquitto_sub, its own process): topic → payload length. */
  async function retained(filter: string): Promise<Map<string, number>> {
    const peek = integration(`peek${Math.random().toString(36).slice(2, 8)}`, 'read');
    const sub = await mosquitto('mosquitto_sub', [
      '-p',
      String(h!.port),
      '-u',
      peek.username,
      '-P',
      peek.password,
      '-t',
      filter,
      '--retained-only',
      '-W',
      '2',
      '-F',
      '%t %l',
    ]);
    const out = new Map<string, number>();
    for (const line of sub.stdout.trim().split('\n').filter(Boolean)) {
      const [topic, length] = line.split(' ');
      out.set(topic!, Number(length));
    }
    return out;
  }

  it('a device may send packets up to 64 KiB (bigger: disconnected, counted); an integration up to mqtt.maxPacketBytes', async () => {
    h = await startBroker();
    const watch = track(await connectMqtt(h.port, integration('watch', 'read')));
    await watch.subscribeAsync('#', { qos: 0 });
    const plug = track(await connectMqtt(h.port, h.device('plug-a')));
    // What a device legitimately sends fits.
    const fits = nextMessage(watch, (t) => t === 'hearth/plug-a/telemetry');
    await plug.publishAsync('hearth/plug-a/telemetry', Buffer.alloc(60 * 1024, 0x61), { qos: 1 });
    expect((await fits).payload.length).toBe(60 * 1024);
    const gone = new Promise<void>((resolve) => plug.once('close', () => resolve()));
    plug.publish('hearth/plug-a/telemetry', Buffer.alloc(70 * 1024, 0x61), { qos: 0 });
    await gone;
    expect(h.broker.stats().oversizedPackets).toBe(1);

    const script = track(await connectMqtt(h.port, integration('script')));
    const big = nextMessage(watch, (t) => t === 'scripts/big');
    await script.publishAsync('scripts/big', Buffer.alloc(512 * 1024, 0x62), { qos: 1 });
    expect((await big).payload.length).toBe(512 * 1024);
    expect(h.broker.stats().oversizedPackets).toBe(1);
  });

  it("a device's retained messages beyond 64 KiB are delivered but not kept (counted); its status and other clients' retained messages are", async () => {
    h = await startBroker();
    const other = track(await connectMqtt(h.port, h.device('plug-b')));
    await other.publishAsync('hearth/plug-b/state', '{"switch":true}', { qos: 1, retain: true });
    const watch = track(await connectMqtt(h.port, integration('watch', 'read')));
    await watch.subscribeAsync('hearth/plug-a/#', { qos: 1 });
    let live = 0;
    watch.on('message', (t) => t.startsWith('hearth/plug-a/big/') && live++);

    // Twenty retained messages of 16 KiB (320 KiB) from one device, on the wire as usual: every PUBACK comes.
    const plug = track(await connectMqtt(h.port, h.device('plug-a')));
    for (let i = 0; i < 20; i++)
      await plug.publishAsync(`hearth/plug-a/big/${i}`, Buffer.alloc(16 * 1024, 0x61), { qos: 1, retain: true });
    await plug.publishAsync('hearth/plug-a/status', 'online', { qos: 1, retain: true });
    expect(plug.connected).toBe(true);
    await eventually(() => live === 20, 10_000, 'every message delivered live');

    const kept = await retained('hearth/#');
    const big = [...kept.keys()].filter((t) => t.startsWith('hearth/plug-a/big/'));
    expect(big.length).toBeGreaterThan(0);
    expect(big.length * 16 * 1024).toBeLessThanOrEqual(64 * 1024);
    expect(kept.get('hearth/plug-a/status')).toBe('online'.length);
    expect(kept.get('hearth/plug-b/state')).toBe('{"switch":true}'.length);
    expect(h.broker.stats().droppedRetainedMessages).toBe(20 - big.length);

    // Clearing one makes room again [MQTT-3.3.1-10].
    await plug.publishAsync(big[0]!, Buffer.alloc(0), { qos: 1, retain: true });
    await plug.publishAsync('hearth/plug-a/big/again', Buffer.alloc(16 * 1024, 0x61), { qos: 1, retain: true });
    expect((await retained('hearth/plug-a/big/again')).get('hearth/plug-a/big/again')).toBe(16 * 1024);
  });

  it("with the retained store full (topics and bytes), a device's status and will still get in", async () => {
    h = await startBroker({
      limits: {
        maxRetained: 10,
        retainedBytes: { device: 64 * 1024, integration: 4 * 1024 * 1024, total: 256 * 1024 },
      },
    });
    const filler = track(await connectMqtt(h.port, integration('filler')));
    for (let i = 0; i < 30; i++)
      await filler.publishAsync(`fill/${i}`, Buffer.alloc(1024, 0x61), { qos: 1, retain: true });
    expect((await retained('fill/#')).size).toBe(10);
    expect(h.broker.stats().droppedRetainedMessages).toBe(20);

    // A new device: its status goes in, its other retained messages do not; its will (offline) too.
    const creds = h.device('plug-a');
    const plug = track(
      await connectMqtt(h.port, {
        ...creds,
        will: { topic: 'hearth/plug-a/status', payload: Buffer.from('offline'), qos: 1, retain: true },
      }),
    );
    await plug.publishAsync('hearth/plug-a/status', 'online', { qos: 1, retain: true });
    await plug.publishAsync('hearth/plug-a/state', '{}', { qos: 1, retain: true });
    let kept = await retained('hearth/#');
    expect([...kept.keys()]).toEqual(['hearth/plug-a/status']);
    expect(kept.get('hearth/plug-a/status')).toBe('online'.length);
    const watch = track(await connectMqtt(h.port, integration('watch', 'read')));
    await watch.subscribeAsync('hearth/plug-a/status', { qos: 1 });
    const offline = nextMessage(watch, (t, p) => t === 'hearth/plug-a/status' && p.toString() === 'offline');
    plug.stream.destroy(); // its will goes out
    await offline;
    kept = await retained('hearth/plug-a/status');
    expect(kept.get('hearth/plug-a/status')).toBe('offline'.length);
    expect((await retained('fill/#')).size).toBe(10);
  });

  it("a session's queue holds at most its byte budget (oldest dropped, counted); the newest are delivered on its return", async () => {
    h = await startBroker({ limits: { queuedBytes: { device: 1024 * 1024, integration: 1024 * 1024 } } });
    const svc = integration('svc', 'read');
    const first = await connectMqtt(h.port, { ...svc, clientId: 'svc-1', clean: false });
    await first.subscribeAsync('big/#', { qos: 1 });
    await first.endAsync();
    await eventually(() => h!.broker.stats().clients === 0, 10_000, 'offline');

    // 40 × 64 KiB = 2.5 MiB for a session allowed 1 MiB.
    const pub = track(await connectMqtt(h.port, integration('pub')));
    for (let i = 0; i < 40; i++) await pub.publishAsync(`big/${i}`, Buffer.alloc(64 * 1024, 0x61), { qos: 1 });
    const stats = h.broker.stats();
    const queued = stats.queuedMessages!;
    expect(queued).toBeLessThanOrEqual(16);
    expect(queued).toBeGreaterThan(10);
    expect(stats.droppedQueuedMessages).toBe(40 - queued);

    const back = await connectWithInbox(h.port, { ...svc, clientId: 'svc-1', clean: false });
    clients.push(back.client);
    const expected = Array.from({ length: queued }, (_, i) => `big/${40 - queued + i}`);
    for (const topic of expected) await back.next((t) => t === topic);
    expect(back.all.map((m) => m.topic)).toEqual(expected);
  });

  it('a subscriber that stops reading is disconnected once its send buffer holds sendBufferBytes, whatever the message count', async () => {
    h = await startBroker({ mqtt: { maxClientQueue: 100_000 }, limits: { sendBufferBytes: 1024 * 1024 } });
    const creds = integration('stuck', 'read');
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
    writePacket(stuck, { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'big/#', qos: 0 }] });
    await packets.next('suback');
    stuck.pause();
    stuck.removeAllListeners('data');

    const pub = track(await connectMqtt(h.port, integration('pub')));
    // 200 × 64 KiB = 12.5 MiB: far beyond socket buffers and the 1 MiB send budget, far below 100,000 messages.
    for (let i = 0; i < 200 && h.broker.stats().slowClientDisconnects === 0; i++)
      await pub.publishAsync('big/x', Buffer.alloc(64 * 1024, 0x62), { qos: 1 });
    await eventually(() => h!.broker.stats().slowClientDisconnects === 1, 10_000, 'stuck client dropped');
    stuck.resume();
    await closed(stuck);
  });
});
