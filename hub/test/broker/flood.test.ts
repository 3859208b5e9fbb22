import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plainIntegrationsArgs, startHub, type HubProcess } from '../helpers/hub-process.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { connectMqtt, nextMessage } from '../helpers/mqtt.ts';
import { floodProcess, type FloodResult } from '../helpers/mqtt-flood.ts';
import { tempDir } from '../helpers/temp.ts';

async function waitFor(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One broker figure from /metrics (`hearth_broker_<name>`). */
async function metric(hub: HubProcess, token: string, name: string): Promise<number> {
  const res = await api(hub.baseUrl, 'GET', '/metrics', { token });
  const line = String(res.body)
    .split('\n')
    .find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no ${name} in /metrics`);
  return Number(line.split(' ')[1]);
}

/**
 * Issue 12: ~150k msg/s of QoS 0 from 100 connections of one integration user crashed the hub
 * (RangeError: Maximum call stack size exceeded in aedes/mqemitter). The flood here is bounded
 * (100 clients × 3,000 messages, at most 10 s) and comes from its own process.
 */
describe('an MQTT flood (one integration user, 100 connections, QoS 0)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: HubProcess;
  let token: string;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    tmp = tempDir('hearth-flood-');
    hub = await startHub(tmp.dir, plainIntegrationsArgs(tmp.dir));
    token = await setupOwner(hub);
  });

  afterAll(async () => {
    for (const c of clients) c.end(true);
    await hub?.stop();
    tmp?.cleanup();
  });

  const integration = async (username: string, scope: 'read' | 'readwrite', topics: string[]) => {
    const res = await api(hub.baseUrl, 'POST', '/api/v1/integrations/mqtt-users', {
      token,
      body: { username, scope, topics },
    });
    expect(res.status).toBe(201);
    return res.body as { username: string; password: string };
  };

  it('sheds the load and keeps serving HTTP and other MQTT clients during and after it', async () => {
    const flooder = await integration('flooder', 'readwrite', ['#']);
    // Someone else: an integration that publishes and subscribes on its own topics.
    const other = await connectMqtt(hub.mqtt, {
      ...(await integration('other', 'readwrite', ['check/#'])),
      clientId: 'other',
    });
    clients.push(other);
    await other.subscribeAsync('check/#', { qos: 1 });
    let seq = 0;
    const roundTrip = async () => {
      const payload = `rt-${++seq}`;
      const got = nextMessage(other, (t, p) => t === 'check/x' && p.toString() === payload, 30_000);
      await other.publishAsync('check/x', payload, { qos: 1 });
      await got;
    };
    await roundTrip();

    // While the flood runs: /api/v1/health and round trips, one after the other.
    const health: number[] = [];
    let roundTrips = 0;
    let flooding = true;
    const probes = (async () => {
      while (flooding) {
        const res = await fetch(`${hub.baseUrl}/api/v1/health`, { signal: AbortSignal.timeout(30_000) }).catch(
          () => undefined,
        );
        health.push(res?.status ?? 0);
        await roundTrip();
        roundTrips++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    let result: FloodResult;
    try {
      // Bounded: 100 connections × at most 20,000 QoS 0 messages, at most 4 s, from its own process,
      // to topics the hub's own MQTT driver and two readers of the flooder's subscribe to.
      result = await floodProcess({
        port: hub.mqtt,
        username: flooder.username,
        password: flooder.password,
        clients: 100,
        messages: 20_000,
        topic: 'hearth/flood-{i}/telemetry',
        payloadBytes: 64,
        maxSeconds: 4,
        readers: { filter: 'hearth/#', count: 2 },
      });
    } finally {
      flooding = false;
      await probes;
    }
    expect(result.connected).toBe(100);
    expect(hub.proc.exitCode).toBeNull();
    expect(health.length).toBeGreaterThan(0);
    expect(health.filter((s) => s !== 200)).toEqual([]);
    expect(roundTrips).toBeGreaterThan(0);

    // Right after (every flooding connection dropped at once): alive, and serving everyone else.
    expect((await api(hub.baseUrl, 'GET', '/api/v1/health')).status).toBe(200);
    await roundTrip();
    expect(hub.proc.exitCode).toBeNull();
    // The flooder's messages beyond its budget were shed and counted; the other client lost nothing.
    expect(await metric(hub, token, 'hearth_broker_shed_messages_total')).toBeGreaterThan(0);
    // Logged with stable reason codes, and only for the flooder.
    const logs = hub.logs.filter((l) => l.msg === 'mqtt publishes shed' || l.msg === 'mqtt client disconnected');
    expect(logs.length).toBeGreaterThan(0);
    const reasons = [
      'rate_limited',
      'router_full',
      'rate_limit_exceeded',
      'connection_reset',
      'protocol_error',
      'keepalive_timeout',
      'send_queue_full',
      'connect_queue_full',
    ];
    expect(logs.filter((l) => l.username !== 'flooder' || !reasons.includes(l.reason as string))).toEqual([]);
    expect(hub.logs.filter((l) => (l.level as number) >= 60)).toEqual([]); // no fatal (the crash was "uncaught exception")
  }, 120_000);

  it("a device's publish budget: beyond its burst its QoS 0 messages are shed, then it is disconnected; other devices are not affected", async () => {
    const made = async (name: string) => {
      const res = await api(hub.baseUrl, 'POST', '/api/v1/devices', {
        token,
        body: { name, driver: 'mqtt', capabilities: ['power'] },
      });
      expect(res.status).toBe(201);
      return res.body as { device: { id: string }; mqtt: { username: string; password: string } };
    };
    const noisy = await made('noisy');
    const quiet = await made('quiet');
    const watcher = await connectMqtt(hub.mqtt, {
      ...(await integration('watch', 'read', ['hearth/#'])),
      clientId: 'watch',
    });
    clients.push(watcher);
    await watcher.subscribeAsync('hearth/+/telemetry', { qos: 0 });
    const seen = new Map<string, number>();
    watcher.on('message', (topic) => seen.set(topic, (seen.get(topic) ?? 0) + 1));
    const shedBefore = await metric(hub, token, 'hearth_broker_shed_messages_total');

    // 5,000 QoS 0 messages at once from the noisy device (its burst is 500, then 100/s).
    const result = await floodProcess({
      port: hub.mqtt,
      username: noisy.mqtt.username,
      password: noisy.mqtt.password,
      clients: 1,
      messages: 5000,
      topic: `hearth/${noisy.device.id}/telemetry`,
      payloadBytes: 16,
      maxSeconds: 4,
      clientIdPrefix: noisy.device.id,
      exactClientId: true,
    });
    expect(result.connected).toBe(1);
    // It was disconnected for it (once what it sent was read), with its reason code.
    await waitFor(
      () =>
        hub.logs.some(
          (l) =>
            l.msg === 'mqtt client disconnected' &&
            l.reason === 'rate_limit_exceeded' &&
            l.clientId === noisy.device.id,
        ),
      'the noisy device disconnected',
    );
    expect(await metric(hub, token, 'hearth_broker_rate_limit_disconnects_total')).toBeGreaterThan(0);
    expect((await metric(hub, token, 'hearth_broker_shed_messages_total')) - shedBefore).toBeGreaterThan(0);
    // Its burst got through, not the rest.
    const noisyTopic = `hearth/${noisy.device.id}/telemetry`;
    await waitFor(() => (seen.get(noisyTopic) ?? 0) >= 500, 'the burst delivered');
    // Another device publishes as usual.
    const q = await connectMqtt(hub.mqtt, { clientId: quiet.device.id, ...quiet.mqtt });
    clients.push(q);
    const got = nextMessage(watcher, (t) => t === `hearth/${quiet.device.id}/telemetry`, 20_000);
    await q.publishAsync(`hearth/${quiet.device.id}/telemetry`, '{"power":1}', { qos: 1 });
    await got;
    expect(seen.get(noisyTopic)).toBeLessThan(5000);
  }, 60_000);
});
