import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { filterCovers, isValidTopicFilter, topicMatches } from '../../src/broker/topics.ts';
import { connectMqtt, mosquitto, nextMessage } from '../helpers/mqtt.ts';
import { startBroker, subscribeGranted, type Harness } from './harness.ts';

describe('topic matching rules', () => {
  it('matches wildcards as MQTT 3.1.1 says, with the $ rule', () => {
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+', 'a/b/c')).toBe(false);
    expect(topicMatches('a/#', 'a')).toBe(true); // [MQTT-4.7.1-2]
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
    expect(topicMatches('+/+', '/finance')).toBe(true); // empty levels count
    expect(topicMatches('#', '$SYS/x')).toBe(false); // [MQTT-4.7.2-1]
    expect(topicMatches('+/x', '$SYS/x')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/x')).toBe(true);
  });

  it('validates filters', () => {
    for (const ok of ['#', '+', 'a/#', 'a/+/b', '+/+', '$SYS/#']) expect(isValidTopicFilter(ok)).toBe(true);
    for (const bad of ['', 'a#', 'a/#/b', 'a+', 'a/b+/c', '#/a']) expect(isValidTopicFilter(bad)).toBe(false);
  });

  it('decides whether one filter stays within another', () => {
    expect(filterCovers('hearth/#', 'hearth/+/state')).toBe(true);
    expect(filterCovers('hearth/+/state', 'hearth/plug/state')).toBe(true);
    expect(filterCovers('hearth/+/state', 'hearth/#')).toBe(false);
    expect(filterCovers('hearth/+/state', 'hearth/+/+')).toBe(false);
    expect(filterCovers('hearth/#', 'hearth')).toBe(true);
    expect(filterCovers('#', '$SYS/#')).toBe(false);
    expect(filterCovers('$SYS/#', '$SYS/+/new/clients')).toBe(true);
    expect(filterCovers('a/b', 'a/b/c')).toBe(false);
  });
});

describe('broker topic ACLs', () => {
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

  /** An integration user that sees everything (`#` plus `$SYS/#`), to watch what gets through. */
  async function watcher(): Promise<MqttClient> {
    const creds = h.broker.credentials.createIntegrationUser({
      username: `watch-${clients.length}`,
      scope: 'read',
      topics: ['#'],
    });
    const c = track(await connectMqtt(h.port, creds));
    await c.subscribeAsync('#', { qos: 1 });
    return c;
  }

  it('a device subscribing outside its own topics gets SUBACK 0x80 and stays connected', async () => {
    const plug = track(await connectMqtt(h.port, h.device('plug-a')));
    h.device('plug-b');
    const granted = await subscribeGranted(plug, [
      'hearth/plug-b/cmd',
      '#',
      '$SYS/#',
      'hearth/+/cmd',
      'hearth/plug-a/cmd',
    ]);
    expect(granted).toEqual([128, 128, 128, 128, 1]);
    expect(plug.connected).toBe(true);
    // Still works after the refusals.
    const cmd = nextMessage(plug, (t) => t === 'hearth/plug-a/cmd');
    await h.broker.publish('hearth/plug-a/cmd', '{"on":true}', { qos: 1 });
    expect((await cmd).payload.toString()).toBe('{"on":true}');
    expect(h.broker.stats().refusedSubscribes).toBe(4);
  });

  it('a device subscription refused by mosquitto_sub reports the failure', async () => {
    const creds = h.device('plug-a');
    const sub = await mosquitto('mosquitto_sub', [
      '-p',
      String(h.port),
      '-i',
      creds.clientId,
      '-u',
      creds.username,
      '-P',
      creds.password,
      '-t',
      'hearth/plug-b/#',
      '-t',
      'hearth/plug-a/cmd',
      '-d',
      '-W',
      '1',
    ]);
    expect(sub.stdout).toContain('Subscribed (mid: 1): 128, 0');
    const alone = await mosquitto('mosquitto_sub', [
      '-p',
      String(h.port),
      '-i',
      creds.clientId,
      '-u',
      creds.username,
      '-P',
      creds.password,
      '-t',
      'hearth/plug-b/#',
      '-W',
      '1',
    ]);
    expect(alone.stderr).toMatch(/All subscription requests were denied/);
  });

  it("plug A's credentials cannot publish as plug B (mqtt.js): acknowledged, never delivered", async () => {
    const a = h.device('plug-a');
    h.device('plug-b');
    const watch = await watcher();
    const seen: string[] = [];
    watch.on('message', (topic) => seen.push(topic));
    const plug = track(await connectMqtt(h.port, a));
    // QoS 1: PUBACK arrives (MQTT 3.1.1 has no negative ack), the connection stays.
    await plug.publishAsync('hearth/plug-b/state', '{"switch":true}', { qos: 1 });
    await plug.publishAsync('hearth/plug-b/status', 'offline', { qos: 2, retain: true });
    await plug.publishAsync('$SYS/fake', 'x', { qos: 1 });
    await plug.publishAsync('elsewhere', 'x', { qos: 0 });
    // A message it may send, published after the refused ones, arrives; the refused ones never do.
    const own = nextMessage(watch, (t) => t === 'hearth/plug-a/state');
    await plug.publishAsync('hearth/plug-a/state', '{"switch":false}', { qos: 1 });
    await own;
    expect(seen).toEqual(['hearth/plug-a/state']);
    expect(plug.connected).toBe(true);
    expect(h.broker.stats().refusedPublishes).toBe(4);
    // Nothing was retained either.
    const late = await watcher();
    const retained: string[] = [];
    late.on('message', (topic, _p, packet) => packet.retain && retained.push(topic));
    // Listening first: the PUBACK comes after the message was routed (group commit, publish-path.ts).
    const telemetry = nextMessage(late, (t) => t === 'hearth/plug-a/telemetry');
    await plug.publishAsync('hearth/plug-a/telemetry', '{}', { qos: 1 });
    await telemetry;
    expect(retained).not.toContain('hearth/plug-b/status');
  });

  it("plug A's credentials cannot publish as plug B (mosquitto_pub)", async () => {
    const a = h.device('plug-a');
    h.device('plug-b');
    const watch = await watcher();
    const seen: string[] = [];
    watch.on('message', (topic) => seen.push(topic));
    const refused = await mosquitto('mosquitto_pub', [
      '-p',
      String(h.port),
      '-i',
      a.clientId,
      '-u',
      a.username,
      '-P',
      a.password,
      '-t',
      'hearth/plug-b/state',
      '-m',
      '{}',
      '-q',
      '1',
    ]);
    expect(refused.code).toBe(0); // acknowledged: the refusal is silent by design (hooks.ts)
    const own = nextMessage(watch, (t) => t === 'hearth/plug-a/state');
    const allowed = await mosquitto('mosquitto_pub', [
      '-p',
      String(h.port),
      '-i',
      a.clientId,
      '-u',
      a.username,
      '-P',
      a.password,
      '-t',
      'hearth/plug-a/state',
      '-m',
      '{}',
      '-q',
      '1',
    ]);
    expect(allowed.code).toBe(0);
    await own;
    // (plug-a's offline status, published when each mosquitto_pub disconnected, is fine)
    expect(seen.filter((t) => !t.endsWith('/status'))).toEqual(['hearth/plug-a/state']);
  });

  it('integration users: read may only subscribe within its filters; readwrite may also publish there', async () => {
    const reader = track(
      await connectMqtt(
        h.port,
        h.broker.credentials.createIntegrationUser({
          username: 'ha',
          scope: 'read',
          topics: ['hearth/+/state', 'hearth/+/status'],
        }),
      ),
    );
    const writer = track(
      await connectMqtt(
        h.port,
        h.broker.credentials.createIntegrationUser({
          username: 'nodered',
          scope: 'readwrite',
          topics: ['hearth/+/cmd', 'automation/#'],
        }),
      ),
    );
    const plug = track(await connectMqtt(h.port, h.device('plug-a')));
    await plug.subscribeAsync('hearth/plug-a/cmd', { qos: 1 });

    const readGrants = await subscribeGranted(reader, [
      'hearth/+/state',
      'hearth/plug-a/status',
      'hearth/#',
      'hearth/+/cmd',
      '$SYS/#',
    ]);
    expect(readGrants).toEqual([1, 1, 128, 128, 128]);

    // read: publishes are dropped.
    const seenByWriter: string[] = [];
    await writer.subscribeAsync('automation/#', { qos: 1 });
    writer.on('message', (topic) => seenByWriter.push(topic));
    await reader.publishAsync('automation/x', 'from-reader', { qos: 1 });

    // readwrite: publishes within its filters go through, others are dropped.
    const cmd = nextMessage(plug, (t) => t === 'hearth/plug-a/cmd');
    await writer.publishAsync('hearth/plug-b/state', 'spoof', { qos: 1 });
    await writer.publishAsync('hearth/plug-a/cmd', '{"on":true}', { qos: 1 });
    expect((await cmd).payload.toString()).toBe('{"on":true}');
    const own = nextMessage(writer, (t) => t === 'automation/y');
    await writer.publishAsync('automation/y', 'ok', { qos: 1 });
    await own;
    expect(seenByWriter).toEqual(['automation/y']);

    // The reader sees device state within its scope.
    const state = nextMessage(reader, (t) => t === 'hearth/plug-a/state');
    await plug.publishAsync('hearth/plug-a/state', '{"switch":true}', { qos: 1 });
    expect((await state).payload.toString()).toBe('{"switch":true}');
    expect(h.broker.stats().refusedPublishes).toBe(2);
  });

  it('$ topics reach an integration only when its filters name them', async () => {
    const plain = track(
      await connectMqtt(
        h.port,
        h.broker.credentials.createIntegrationUser({ username: 'plain', scope: 'read', topics: ['#'] }),
      ),
    );
    const sys = track(
      await connectMqtt(
        h.port,
        h.broker.credentials.createIntegrationUser({ username: 'sys', scope: 'read', topics: ['#', '$SYS/#'] }),
      ),
    );
    expect(await subscribeGranted(plain, '$SYS/#')).toEqual([128]);
    expect(await subscribeGranted(sys, '$SYS/+/new/clients', 0)).toEqual([0]);
    const announced = nextMessage(sys, (t) => t.endsWith('/new/clients') && t.startsWith('$SYS/'));
    track(await connectMqtt(h.port, { ...h.device('plug-a'), clientId: 'plug-a' }));
    expect((await announced).payload.toString()).toBe('plug-a');
  });

  it('validates integration users and refuses a taken username', () => {
    const creds = h.broker.credentials;
    creds.createIntegrationUser({ username: 'ha', scope: 'read', topics: ['#'] });
    expect(() => creds.createIntegrationUser({ username: 'ha', scope: 'read', topics: ['#'] })).toThrow(
      expect.objectContaining({ code: 'username_taken', status: 409 }),
    );
    h.device('plug-a');
    expect(() => creds.createIntegrationUser({ username: 'plug-a', scope: 'read', topics: ['#'] })).toThrow(
      expect.objectContaining({ code: 'username_taken' }),
    );
    for (const bad of [
      { username: '', scope: 'read', topics: ['#'] },
      { username: 'x y', scope: 'read', topics: ['#'] },
      { username: 'ok', scope: 'admin', topics: ['#'] },
      { username: 'ok', scope: 'read', topics: [] },
      { username: 'ok', scope: 'read', topics: ['a/#/b'] },
    ]) {
      expect(() => creds.createIntegrationUser(bad as never)).toThrow(
        expect.objectContaining({ code: 'validation_failed' }),
      );
    }
    expect(creds.listIntegrationUsers()).toEqual([
      { username: 'ha', scope: 'read', topics: ['#'], createdAt: expect.any(Number) },
    ]);
    expect(creds.deleteIntegrationUser('plug-a')).toBe(false); // not an integration user
    expect(creds.deleteIntegrationUser('ha')).toBe(true);
    expect(creds.deleteIntegrationUser('ha')).toBe(false);
  });

  it('deleting an integration user disconnects it', async () => {
    const c = track(
      await connectMqtt(
        h.port,
        h.broker.credentials.createIntegrationUser({ username: 'ha', scope: 'read', topics: ['#'] }),
      ),
    );
    const gone = new Promise<void>((resolve) => c.once('close', () => resolve()));
    expect(h.broker.credentials.deleteIntegrationUser('ha')).toBe(true);
    await gone;
  });
});
