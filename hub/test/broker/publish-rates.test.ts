import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { ManualClock } from '../../src/core/clock.ts';
import { ConfigError, validateConfig } from '../../src/core/config.ts';
import { connectMqtt } from '../helpers/mqtt.ts';
import { eventually, startBroker, type Harness } from './harness.ts';

/** The publish rate limits are configuration (`mqtt.publishRates`), with the documented defaults. */
describe('publish rate limits from the config', () => {
  let h: Harness | undefined;
  const clients: MqttClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.end(true);
    await h?.close();
    h = undefined;
  });

  it('defaults: each device 100/s with a burst of 500, each integration 2,000/s (10,000), all clients 20,000/s (40,000)', () => {
    expect(validateConfig({}).mqtt.publishRates).toEqual({
      device: { perSecond: 100, burst: 500 },
      integration: { perSecond: 2000, burst: 10_000 },
      total: { perSecond: 20_000, burst: 40_000 },
    });
    // One key given, the others keep their defaults.
    expect(validateConfig({ mqtt: { publishRates: { device: { burst: 50 } } } }).mqtt.publishRates.device).toEqual({
      perSecond: 100,
      burst: 50,
    });
  });

  it('refuses a rate of zero, a fractional burst and unknown keys, naming the key', () => {
    expect(() => validateConfig({ mqtt: { publishRates: { device: { perSecond: 0 } } } })).toThrowError(ConfigError);
    expect(() => validateConfig({ mqtt: { publishRates: { device: { perSecond: 0 } } } })).toThrowError(
      /mqtt\.publishRates\.device\.perSecond/,
    );
    expect(() => validateConfig({ mqtt: { publishRates: { integration: { burst: 1.5 } } } })).toThrowError(
      /mqtt\.publishRates\.integration\.burst/,
    );
    expect(() => validateConfig({ mqtt: { publishRates: { devices: {} } } })).toThrowError(
      /unknown key 'mqtt\.publishRates\.devices'/,
    );
  });

  it("a configured device budget is the one the broker applies: beyond it the device's QoS 0 messages are shed and it is disconnected", async () => {
    const rates = validateConfig({ mqtt: { publishRates: { device: { perSecond: 1, burst: 10 } } } }).mqtt.publishRates;
    h = await startBroker({ mqtt: { publishRates: rates } });
    const watcher = await connectMqtt(
      h.port,
      h.broker.credentials.createIntegrationUser({ username: 'watch', scope: 'read', topics: ['hearth/#'] }),
    );
    clients.push(watcher);
    await watcher.subscribeAsync('hearth/+/telemetry', { qos: 0 });
    let seen = 0;
    let marker = false;
    watcher.on('message', (_topic, payload) => {
      if (String(payload) === 'marker') marker = true;
      else seen++;
    });

    const device = await connectMqtt(h.port, h.device('plug-a'));
    clients.push(device);
    const gone = new Promise<void>((resolve) => device.once('close', () => resolve()));
    // 50 messages at once: with the default budget (a burst of 500) every one would be delivered.
    for (let i = 0; i < 50; i++) device.publish('hearth/plug-a/telemetry', `{"n":${i}}`, { qos: 0 });
    await gone;
    await eventually(() => h!.broker.stats().rateLimitDisconnects === 1, 10_000, 'rate-limit disconnect counted');
    // Everything routed before the hub's own message has reached the watcher once that has.
    await h.broker.publish('hearth/plug-a/telemetry', 'marker');
    await eventually(() => marker, 10_000, 'marker');
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThan(50);
    expect(h.broker.stats().shedMessages).toBeGreaterThan(0);
  });

  it("the budget refills on the broker's clock: a device held for its rate is read again once that clock has moved on", async () => {
    const clock = new ManualClock(Date.now());
    // 0.01 a second: a device over its burst of 5 would be held for minutes of real time.
    const rates = validateConfig({ mqtt: { publishRates: { device: { perSecond: 0.01, burst: 5 } } } }).mqtt
      .publishRates;
    h = await startBroker({ clock, mqtt: { publishRates: rates } });
    const device = await connectMqtt(h.port, h.device('plug-a'));
    clients.push(device);
    const send = (n: number) => device.publishAsync('hearth/plug-a/telemetry', `{"n":${n}}`, { qos: 1 });
    // Its burst, and one beyond it (charged as debt; QoS 1 is never shed): all acknowledged.
    await Promise.all([1, 2, 3, 4, 5, 6].map(send));
    await eventually(() => (h!.broker.stats().publishersHeld ?? 0) >= 1, 10_000, 'device held');
    // Sent while held: it waits in the socket until the budget has room on the broker's clock.
    const later = [send(7), send(8)];
    clock.advance(10 * 60_000);
    await Promise.all(later);
    expect(h.broker.stats()).toMatchObject({ rateLimitDisconnects: 0, shedMessages: 0 });
  });
});
