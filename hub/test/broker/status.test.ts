import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectMqtt, mosquitto, nextMessage } from '../helpers/mqtt.ts';
import { eventually, startBroker, type Harness } from './harness.ts';

const WILL = (id: string) => ({
  topic: `hearth/${id}/status`,
  payload: Buffer.from('offline'),
  qos: 1 as const,
  retain: true,
});

/** The retained status as a fresh mosquitto_sub sees it. */
async function retainedStatus(h: Harness, id: string): Promise<string> {
  const creds = h.broker.credentials.createIntegrationUser({
    username: `peek-${Math.random().toString(36).slice(2)}`,
    scope: 'read',
    topics: ['hearth/#'],
  });
  const sub = await mosquitto('mosquitto_sub', [
    '-p',
    String(h.port),
    '-u',
    creds.username,
    '-P',
    creds.password,
    '-t',
    `hearth/${id}/status`,
    '-C',
    '1',
    '-W',
    '5',
  ]);
  return sub.stdout.trim();
}

describe('device status (retained Last Will)', () => {
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

  async function watcher(): Promise<MqttClient> {
    const c = track(
      await connectMqtt(
        h.port,
        h.broker.credentials.createIntegrationUser({
          username: `w${clients.length}`,
          scope: 'read',
          topics: ['hearth/#'],
        }),
      ),
    );
    await c.subscribeAsync('hearth/+/status', { qos: 1 });
    return c;
  }

  it("a retained offline status appears when a device's connection drops (its will)", async () => {
    const plug = track(await connectMqtt(h.port, { ...h.device('plug-a'), clientId: 'plug-a', will: WILL('plug-a') }));
    const watch = await watcher();
    const online = nextMessage(watch, (t, p) => t === 'hearth/plug-a/status' && p.toString() === 'online');
    await plug.publishAsync('hearth/plug-a/status', 'online', { qos: 1, retain: true });
    await online;
    expect(await retainedStatus(h, 'plug-a')).toBe('online');

    const offline = nextMessage(watch, (t, p) => t === 'hearth/plug-a/status' && p.toString() === 'offline');
    plug.stream.destroy(); // the socket dies without DISCONNECT
    await offline;
    expect(await retainedStatus(h, 'plug-a')).toBe('offline');
  });

  it('the broker publishes the retained offline status for a device that set no will', async () => {
    const plug = track(await connectMqtt(h.port, h.device('plug-a')));
    await plug.publishAsync('hearth/plug-a/status', 'online', { qos: 1, retain: true });
    const watch = await watcher();
    await nextMessage(watch, (t, p) => t === 'hearth/plug-a/status' && p.toString() === 'online');
    const offline = nextMessage(watch, (t, p) => t === 'hearth/plug-a/status' && p.toString() === 'offline');
    plug.stream.destroy();
    const msg = await offline;
    expect(msg.topic).toBe('hearth/plug-a/status');
    expect(await retainedStatus(h, 'plug-a')).toBe('offline');
  });

  it('a clean DISCONNECT discards the will, so the broker marks the device offline itself', async () => {
    const plug = track(await connectMqtt(h.port, { ...h.device('plug-a'), will: WILL('plug-a') }));
    await plug.publishAsync('hearth/plug-a/status', 'online', { qos: 1, retain: true });
    const watch = await watcher();
    await nextMessage(watch, (t, p) => t === 'hearth/plug-a/status' && p.toString() === 'online');
    const offline = nextMessage(watch, (t, p) => t === 'hearth/plug-a/status' && p.toString() === 'offline');
    await plug.endAsync();
    await offline;
    expect(await retainedStatus(h, 'plug-a')).toBe('offline');
  });

  it('stays online when the device takes its session over from its own older connection', async () => {
    const creds = h.device('plug-a');
    const first = track(await connectMqtt(h.port, creds));
    const firstGone = new Promise<void>((resolve) => first.once('close', () => resolve()));
    // The same client id again (a device may only use its own): the broker closes the first [MQTT-3.1.4-2].
    const second = track(await connectMqtt(h.port, creds));
    await second.publishAsync('hearth/plug-a/status', 'online', { qos: 1, retain: true });
    await firstGone;
    await eventually(() => h.broker.stats().connections === 1, 10_000, 'first connection gone');
    // A message sent after the drop arrives before any status change would have.
    const watch = await watcher();
    const statuses: string[] = [];
    watch.on('message', (t, p) => t === 'hearth/plug-a/status' && statuses.push(p.toString()));
    await nextMessage(watch, (t) => t === 'hearth/plug-a/status');
    expect(statuses).toEqual(['online']);
    const offline = nextMessage(watch, (t, p) => t === 'hearth/plug-a/status' && p.toString() === 'offline');
    second.stream.destroy();
    await offline;
  });

  it('after a restart, devices still retained as online are offline until they say otherwise', async () => {
    const plug = track(await connectMqtt(h.port, h.device('plug-a')));
    await plug.publishAsync('hearth/plug-a/status', 'online', { qos: 1, retain: true });
    // Simulate a crash: the device vanished without the hub noticing, the retained row says online.
    h.store.db
      .prepare(
        "INSERT OR REPLACE INTO mqtt_retained (topic, payload, qos) VALUES ('hearth/plug-z/status', CAST('online' AS BLOB), 1)",
      )
      .run();
    plug.end(true);
    await h.restart();
    expect(await retainedStatus(h, 'plug-z')).toBe('offline');
    expect(await retainedStatus(h, 'plug-a')).toBe('offline');
  });

  it('a will stored by a run that did not stop cleanly is published at the next start', async () => {
    h.store.db
      .prepare(
        'INSERT INTO mqtt_wills (client_id, broker_id, topic, payload, qos, retain) VALUES ' +
          "('plug-q', 'previous-run', 'hearth/plug-q/status', CAST('gone' AS BLOB), 1, 1)",
      )
      .run();
    await h.restart();
    expect(await retainedStatus(h, 'plug-q')).toBe('gone');
    expect(h.store.db.prepare('SELECT count(*) AS n FROM mqtt_wills').get()).toEqual({ n: 0 });
  });
});
