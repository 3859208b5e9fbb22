import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectMqtt, connectWithInbox, mosquitto, nextMessage } from '../helpers/mqtt.ts';
import { eventually, startBroker, type Harness } from './harness.ts';

/** MQTT 3.1.1 behaviour through our hooks and persistence. */
describe('MQTT 3.1.1 semantics', () => {
  let h: Harness;
  const clients: MqttClient[] = [];
  const track = (c: MqttClient): MqttClient => (clients.push(c), c);
  let n = 0;

  beforeEach(async () => {
    h = await startBroker();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.end(true);
    await h.close();
  });

  async function user(topics: string[] = ['#'], scope: 'read' | 'readwrite' = 'readwrite'): Promise<MqttClient> {
    return track(
      await connectMqtt(h.port, h.broker.credentials.createIntegrationUser({ username: `u${n++}`, scope, topics })),
    );
  }

  it('retained messages reach new wildcard subscriptions with the retain flag; live ones without', async () => {
    const pub = await user();
    await pub.publishAsync('home/kitchen/temp', '21', { qos: 1, retain: true });
    await pub.publishAsync('home/hall/temp', '19', { qos: 1, retain: true });
    await pub.publishAsync('home/hall/light', 'on', { qos: 1, retain: true });

    const sub = await user();
    const got: { topic: string; payload: string; retain: boolean }[] = [];
    sub.on('message', (topic, payload, packet) =>
      got.push({ topic, payload: payload.toString(), retain: packet.retain }),
    );
    await sub.subscribeAsync('home/+/temp', { qos: 1 });
    await eventually(() => got.length === 2, 10_000, 'two retained');
    expect(got.sort((a, b) => a.topic.localeCompare(b.topic))).toEqual([
      { topic: 'home/hall/temp', payload: '19', retain: true },
      { topic: 'home/kitchen/temp', payload: '21', retain: true },
    ]);

    const live = nextMessage(sub, (t) => t === 'home/hall/temp');
    await pub.publishAsync('home/hall/temp', '20', { qos: 1, retain: true });
    const msg = await live;
    expect(msg.retain).toBe(false); // [MQTT-3.3.1-9]
    expect(msg.payload.toString()).toBe('20');

    // An empty retained payload clears the topic [MQTT-3.3.1-10].
    await pub.publishAsync('home/hall/light', '', { qos: 1, retain: true });
    const viaMosquitto = await mosquitto('mosquitto_sub', [
      '-p',
      String(h.port),
      ...(await creds()),
      '-t',
      'home/#',
      '-v',
      '-W',
      '1',
    ]);
    expect(viaMosquitto.stdout.trim().split('\n').sort()).toEqual(['home/hall/temp 20', 'home/kitchen/temp 21']);
  });

  async function creds(): Promise<string[]> {
    const c = h.broker.credentials.createIntegrationUser({ username: `m${n++}`, scope: 'read', topics: ['#'] });
    return ['-u', c.username, '-P', c.password];
  }

  it('# and + at the first level do not match $ topics [MQTT-4.7.2-1]', async () => {
    const everything = track(
      await connectMqtt(
        h.port,
        h.broker.credentials.createIntegrationUser({ username: 'all', scope: 'read', topics: ['#', '$SYS/#'] }),
      ),
    );
    const topics: string[] = [];
    everything.on('message', (topic) => topics.push(topic));
    await everything.subscribeAsync(['#', '+/+/+/+'], { qos: 0 });
    const sys = track(
      await connectMqtt(
        h.port,
        h.broker.credentials.createIntegrationUser({ username: 'sys', scope: 'read', topics: ['$SYS/#'] }),
      ),
    );
    await sys.subscribeAsync('$SYS/#');
    const announced = nextMessage(sys, (t) => t.endsWith('/new/clients'));
    const pub = await user(); // its connect is announced on $SYS/<broker>/new/clients
    await announced;
    const marker = nextMessage(everything, (t) => t === 'marker');
    await pub.publishAsync('marker', 'x', { qos: 1 });
    await marker;
    expect(topics.filter((t) => t.startsWith('$'))).toEqual([]);
  });

  it('delivers a will when the connection drops, not after a clean DISCONNECT', async () => {
    const watch = await user(['clients/#'], 'read');
    await watch.subscribeAsync('clients/#', { qos: 1 });
    const seen: string[] = [];
    watch.on('message', (topic) => seen.push(topic));
    const willOf = (name: string) => ({
      topic: `clients/${name}/will`,
      payload: Buffer.from('gone'),
      qos: 1 as const,
      retain: false,
    });
    const rw = (name: string) =>
      h.broker.credentials.createIntegrationUser({ username: name, scope: 'readwrite', topics: ['clients/#'] });
    const dropped = track(await connectMqtt(h.port, { ...rw('dropped'), will: willOf('dropped') }));
    const polite = track(await connectMqtt(h.port, { ...rw('polite'), will: willOf('polite') }));
    await polite.endAsync(); // DISCONNECT: the will is discarded [MQTT-3.14.4-3]
    const will = nextMessage(watch, (t) => t === 'clients/dropped/will');
    dropped.stream.destroy();
    expect((await will).payload.toString()).toBe('gone');
    expect(seen).toEqual(['clients/dropped/will']);
  });

  it('QoS 2 end to end, and QoS lowered to what each subscription was granted [MQTT-3.8.4-6]', async () => {
    const pub = await user();
    const q2 = await user();
    const q1 = await user();
    const q0 = await user();
    await q2.subscribeAsync('plant/#', { qos: 2 });
    await q1.subscribeAsync('plant/+/x', { qos: 1 });
    await q0.subscribeAsync('plant/#', { qos: 0 });
    const at = (c: MqttClient) =>
      new Promise<number>((resolve) => c.once('message', (_t, _p, packet) => resolve(packet.qos)));
    const [a, b, c] = [at(q2), at(q1), at(q0)];
    await pub.publishAsync('plant/a/x', 'v', { qos: 2 });
    expect(await a).toBe(2);
    expect(await b).toBe(1);
    expect(await c).toBe(0);

    // Retained messages on SUBSCRIBE too.
    await pub.publishAsync('plant/b/x', 'r', { qos: 2, retain: true });
    const late = await user();
    const lateQos = at(late);
    await late.subscribeAsync('plant/+/x', { qos: 0 });
    expect(await lateQos).toBe(0);
  });

  it('refuses MQTT 5 clients with CONNACK 1 (aedes 1.x speaks 3.1.1)', async () => {
    const c = await creds();
    const v5 = await mosquitto('mosquitto_pub', ['-p', String(h.port), ...c, '-V', 'mqttv5', '-t', 'x', '-m', 'y']);
    expect(v5.code).not.toBe(0);
    expect(v5.stderr).toMatch(/unacceptable protocol version|unsupported protocol version/i);
    const v311 = await mosquitto('mosquitto_pub', [
      '-p',
      String(h.port),
      ...(await creds()),
      '-V',
      'mqttv311',
      '-t',
      'x',
      '-m',
      'y',
    ]);
    expect(v311.code).toBe(0);
  });

  it('queues QoS 1 messages for an offline persistent session and keeps them out of clean ones', async () => {
    const rw = h.broker.credentials.createIntegrationUser({ username: 'svc', scope: 'readwrite', topics: ['jobs/#'] });
    const persistent = track(await connectMqtt(h.port, { ...rw, clientId: 'svc-1', clean: false }));
    await persistent.subscribeAsync('jobs/#', { qos: 1 });
    const cleanOne = track(await connectMqtt(h.port, { ...rw, clientId: 'svc-2', clean: true }));
    await cleanOne.subscribeAsync('jobs/#', { qos: 1 });
    await persistent.endAsync();
    await cleanOne.endAsync();
    const pub = await user(['jobs/#']);
    await pub.publishAsync('jobs/1', 'one', { qos: 1 });
    await pub.publishAsync('jobs/2', 'two', { qos: 0 }); // QoS 0 is not queued
    await pub.publishAsync('jobs/3', 'three', { qos: 1 });

    const back = await connectWithInbox(h.port, { ...rw, clientId: 'svc-1', clean: false });
    track(back.client);
    await eventually(() => back.all.length === 2, 10_000, 'two queued');
    expect(back.all.map((m) => m.payload.toString())).toEqual(['one', 'three']);

    const cleanBack = track(await connectMqtt(h.port, { ...rw, clientId: 'svc-2', clean: true }));
    const none: string[] = [];
    cleanBack.on('message', (_t, p) => none.push(p.toString()));
    await cleanBack.subscribeAsync('jobs/#', { qos: 1 });
    const marker = nextMessage(cleanBack, (t) => t === 'jobs/marker');
    await pub.publishAsync('jobs/marker', 'm', { qos: 1 });
    await marker;
    expect(none).toEqual(['m']);
  });
});
