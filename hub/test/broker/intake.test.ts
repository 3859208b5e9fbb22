import { describe, expect, it } from 'vitest';
import { PublishIntake } from '../../src/broker/transport/intake.ts';
import { ManualClock, systemClock } from '../../src/core/clock.ts';
import { connectWithInbox } from '../helpers/mqtt.ts';
import { eventually, packetReader, rawConnect, startBroker, writePacket } from './harness.ts';
import mqttPacket from 'mqtt-packet';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A client whose connection has 'data' to read; `paused` is whether aedes' read gets nothing. */
function client() {
  const conn = { read: (size?: number | null) => (size === 0 ? 'refill' : 'data') };
  const c = {
    closed: false,
    conn,
    resumed: 0,
    resume: () => void c.resumed++,
    get paused() {
      return c.conn.read(null) === null;
    },
  };
  return c;
}

describe('publish intake', () => {
  it('pauses a publisher while the router is over its high mark and resumes everyone at the low mark', async () => {
    const queue = { length: 0 };
    const intake = new PublishIntake(queue, { high: 10, low: 2, clock: systemClock });
    const a = client();
    const b = client();
    intake.published(a);
    expect(a.paused).toBe(false);
    queue.length = 11;
    intake.published(a);
    intake.published(a);
    intake.published(b);
    expect([a.paused, b.paused, intake.pauses]).toEqual([true, true, 2]);
    expect(a.conn.read(0)).toBe('refill');
    queue.length = 5;
    await turn();
    expect([a.paused, b.paused]).toEqual([true, true]);
    queue.length = 2;
    await turn();
    await turn();
    expect([a.paused, b.paused, a.resumed, b.resumed]).toEqual([false, false, 1, 1]);
  });

  it('leaves closed and forgotten clients alone', async () => {
    const queue = { length: 100 };
    const intake = new PublishIntake(queue, { high: 10, low: 2, clock: systemClock });
    const closed = client();
    closed.closed = true;
    intake.published(closed);
    expect(closed.paused).toBe(false);
    const gone = client();
    intake.published(gone);
    intake.forget(gone);
    queue.length = 0;
    await turn();
    await turn();
    expect([gone.paused, gone.resumed]).toEqual([false, 0]);
  });

  it('holds a client over its publish budget for the time asked, whatever the router, then reads it again', async () => {
    const queue = { length: 0 };
    const clock = new ManualClock();
    const intake = new PublishIntake(queue, { high: 10, low: 2, clock });
    const a = client();
    const b = client();
    intake.holdFor(a, 60_000);
    intake.holdFor(a, 10); // a shorter hold does not cut the first one short
    expect([a.paused, b.paused, intake.holds]).toEqual([true, false, 1]);
    // The router running low resumes router-paused clients, not held ones.
    queue.length = 11;
    intake.published(b);
    queue.length = 0;
    await turn();
    await turn();
    expect([a.paused, b.paused]).toEqual([true, false]);
    // A hold that ran out on the broker's clock: read again; the longer one holds on.
    const c = client();
    intake.holdFor(c, 1000);
    expect(c.paused).toBe(true);
    clock.advance(999);
    expect(c.paused).toBe(true);
    clock.advance(1);
    expect([a.paused, c.paused, c.resumed]).toEqual([true, false, 1]);
    clock.advance(59_000);
    expect([a.paused, a.resumed]).toEqual([false, 1]);
    intake.resumeAll();
  });

  it('a burst of QoS 1 PUBLISHes bigger than the router queue is acknowledged and delivered in full, in order', async () => {
    const h = await startBroker();
    try {
      const sub = h.broker.credentials.createIntegrationUser({ username: 'sub', scope: 'read', topics: ['#'] });
      const inbox = await connectWithInbox(h.port, {
        clientId: 'burst-sub',
        clean: false,
        username: sub.username,
        password: sub.password,
      });
      await inbox.client.subscribeAsync('burst/#', { qos: 1 });

      const pubCreds = h.broker.credentials.createIntegrationUser({
        username: 'pub',
        scope: 'readwrite',
        topics: ['#'],
      });
      const pub = await rawConnect(h.port);
      const packets = packetReader(pub);
      writePacket(pub, {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId: 'burst-pub',
        keepalive: 0,
        username: pubCreds.username,
        password: Buffer.from(pubCreds.password),
      });
      await packets.next('connack');

      // Far more than the broker routes at once, in one write: it must stop reading, not drop.
      const total = 5000;
      const burst: Buffer[] = [];
      for (let i = 1; i <= total; i++)
        burst.push(
          mqttPacket.generate({
            cmd: 'publish',
            topic: 'burst/x',
            payload: Buffer.from(String(i)),
            qos: 1,
            messageId: i,
            retain: false,
            dup: false,
          }),
        );
      pub.write(Buffer.concat(burst));

      const acked = new Set<number>();
      while (acked.size < total) acked.add((await packets.next('puback')).messageId as number);
      await eventually(() => inbox.all.length >= total, 20_000, 'all delivered');
      expect(inbox.all.map((m) => Number(m.payload.toString()))).toEqual(
        Array.from({ length: total }, (_, i) => i + 1),
      );
      expect(h.broker.stats().publishersPaused).toBeGreaterThan(0);
      pub.destroy();
      inbox.client.end(true);
    } finally {
      await h.close();
    }
  }, 60_000);
});
