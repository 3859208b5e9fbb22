import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectMqtt, nextMessage } from '../helpers/mqtt.ts';
import { Broker } from '../../src/broker/broker.ts';
import { EventBus } from '../../src/core/bus.ts';
import { systemClock } from '../../src/core/clock.ts';
import { validateConfig } from '../../src/core/config.ts';
import { createLogger } from '../../src/core/logger.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/temp.ts';
import { eventually, startBroker, type Harness } from './harness.ts';

describe('hub-internal publish and subscribe (drivers)', () => {
  let h: Harness;
  const clients: MqttClient[] = [];

  beforeEach(async () => {
    h = await startBroker();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.end(true);
    await h.close();
  });

  it('receives device messages, retained ones first, until its owner unsubscribes', async () => {
    const plug = await connectMqtt(h.port, h.device('plug-a'));
    clients.push(plug);
    await plug.publishAsync('hearth/plug-a/status', 'online', { qos: 1, retain: true });

    const seen: string[] = [];
    h.broker.subscribe('driver:test', 'hearth/+/+', (topic, payload) => seen.push(`${topic}=${payload.toString()}`));
    await eventually(() => seen.length === 1, 10_000, 'retained status');
    expect(seen).toEqual(['hearth/plug-a/status=online']);

    await plug.publishAsync('hearth/plug-a/state', '{"switch":true}', { qos: 1 });
    await eventually(() => seen.length === 2, 10_000, 'live state');
    expect(seen[1]).toBe('hearth/plug-a/state={"switch":true}');

    h.broker.unsubscribeOwner('driver:test');
    const other: string[] = [];
    h.broker.subscribe('driver:other', 'hearth/plug-a/state', (t) => other.push(t));
    await plug.publishAsync('hearth/plug-a/state', '{"switch":false}', { qos: 1 });
    await eventually(() => other.length === 1, 10_000, 'other owner still subscribed');
    expect(seen).toHaveLength(2);
  });

  it('publishes to devices past the ACLs, and a throwing handler does not disturb others', async () => {
    const plug = await connectMqtt(h.port, h.device('plug-a'));
    clients.push(plug);
    await plug.subscribeAsync('hearth/plug-a/cmd', { qos: 1 });
    h.broker.subscribe('bad', 'hearth/plug-a/cmd', () => {
      throw new Error('boom');
    });
    const seen: string[] = [];
    const off = h.broker.subscribe('good', 'hearth/plug-a/cmd', (_t, p) => seen.push(p.toString()));
    const cmd = nextMessage(plug, (t) => t === 'hearth/plug-a/cmd');
    await h.broker.publish('hearth/plug-a/cmd', '{"on":true}', { qos: 1 });
    expect((await cmd).payload.toString()).toBe('{"on":true}');
    await eventually(() => seen.length === 1, 10_000, 'good handler');
    off();
    await expect(h.broker.publish('bad/#', 'x')).rejects.toMatchObject({ code: 'validation_failed' });
    expect(() => h.broker.subscribe('x', 'a/#/b', () => {})).toThrow(
      expect.objectContaining({ code: 'validation_failed' }),
    );
  });

  it('subscriptions made before start are routed once the broker starts; wildcards skip $ topics', async () => {
    const { dir, cleanup } = tempDir('hearth-broker-early-');
    const store = Store.open(dir);
    const log = createLogger({ level: 'silent' });
    const config = validateConfig({ dataDir: dir, mqtt: { host: '127.0.0.1', port: 0 } });
    const broker = new Broker({ store, bus: new EventBus(log), log, clock: systemClock, config: config.mqtt });
    try {
      const seen: string[] = [];
      broker.subscribe('early', '#', (t) => seen.push(t));
      await expect(broker.publish('a', 'b')).rejects.toMatchObject({ code: 'not_ready' });
      expect(broker.healthy()).toBe(false);
      await broker.start();
      expect(broker.healthy()).toBe(true);
      const now = Date.now();
      store.devices.insert({
        id: 'plug-a',
        name: 'a',
        roomId: null,
        driver: 'mqtt',
        model: 't',
        capabilities: [],
        config: {},
        available: false,
        createdAt: now,
        updatedAt: now,
      });
      const plug = await connectMqtt(broker.port, {
        ...broker.credentials.createDeviceCredential('plug-a'),
        clientId: 'plug-a',
      }); // announced on $SYS/.../new/clients
      clients.push(plug);
      await plug.publishAsync('hearth/plug-a/state', '{}', { qos: 1 });
      await eventually(() => seen.includes('hearth/plug-a/state'), 10_000, 'state');
      expect(seen.filter((t) => t.startsWith('$'))).toEqual([]);
    } finally {
      await broker.stop();
      store.close();
      cleanup();
    }
  });
});
