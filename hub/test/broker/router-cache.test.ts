import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectMqtt, nextMessage } from '../helpers/mqtt.ts';
import { startBroker, type Harness } from './harness.ts';

/** The router's per-topic cache of subscribers (router-cache.ts) must follow every (un)subscribe. */
describe('router match cache', () => {
  let h: Harness | undefined;
  const clients: MqttClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.end(true);
    await h?.close();
    h = undefined;
  });

  it('a subscription made or removed after a topic was routed changes who gets its next message', async () => {
    h = await startBroker();
    const user = (name: string) =>
      h!.broker.credentials.createIntegrationUser({ username: name, scope: 'readwrite', topics: ['#'] });
    const pub = await connectMqtt(h.port, user('pub'));
    const a = await connectMqtt(h.port, user('a'));
    const b = await connectMqtt(h.port, user('b'));
    clients.push(pub, a, b);
    await a.subscribeAsync('room/+/temp', { qos: 1 });

    let got = nextMessage(a, (_t, p) => p.toString() === '1');
    await pub.publishAsync('room/kitchen/temp', '1', { qos: 1 });
    await got;

    // b subscribes after the topic's subscribers were looked up (and cached): it gets the next one.
    await b.subscribeAsync('room/kitchen/#', { qos: 1 });
    got = nextMessage(a, (_t, p) => p.toString() === '2');
    const gotB = nextMessage(b, (_t, p) => p.toString() === '2');
    await pub.publishAsync('room/kitchen/temp', '2', { qos: 1 });
    await Promise.all([got, gotB]);

    // a unsubscribes: only b gets the next one.
    await a.unsubscribeAsync('room/+/temp');
    const seenByA: string[] = [];
    a.on('message', (_t, p) => seenByA.push(p.toString()));
    const gotB3 = nextMessage(b, (_t, p) => p.toString() === '3');
    await pub.publishAsync('room/kitchen/temp', '3', { qos: 1 });
    await gotB3;
    // a round trip through a afterwards: anything routed to it would have arrived first
    await a.subscribeAsync('check/a', { qos: 1 });
    got = nextMessage(a, (t) => t === 'check/a');
    await pub.publishAsync('check/a', 'x', { qos: 1 });
    await got;
    expect(seenByA).toEqual(['x']);
  });
});
