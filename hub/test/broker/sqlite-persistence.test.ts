import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { SqlitePersistence, type StoredPacket } from '../../src/broker/persistence/sqlite-persistence.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { openDatabase, type Db } from '../../src/store/db.ts';
import { tempDir } from '../helpers/temp.ts';
import { eventually } from './harness.ts';

const broker = { id: 'broker-1' };
let counter = 0;
const publish = (qos: 1 | 2, topic = 'hearth/plug/cmd'): StoredPacket => ({
  cmd: 'publish',
  topic,
  payload: Buffer.from('x'),
  qos,
  retain: false,
  dup: false,
  brokerId: broker.id,
  brokerCounter: ++counter,
});
const rows = (db: Db): number => (db.prepare('SELECT count(*) AS n FROM mqtt_outgoing').get() as { n: number }).n;
const streamed = async (p: SqlitePersistence, id: string): Promise<StoredPacket[]> =>
  (await p.outgoingStream({ id }).toArray()) as StoredPacket[];

describe('SqlitePersistence write path', () => {
  let db: Db;
  let cleanup: () => void;
  let p: SqlitePersistence;

  beforeEach(async () => {
    const t = tempDir('hearth-persistence-');
    cleanup = t.cleanup;
    db = openDatabase(join(t.dir, 'hearth.db'));
    p = new SqlitePersistence({ db, flushMs: 1, ackGraceMs: 50 });
    await p.setup(broker);
  });
  afterEach(async () => {
    await p.destroy().catch(() => {});
    db.close();
    cleanup();
  });

  it('a message to a connected client acknowledged within the grace never reaches the disk', async () => {
    p.clientOnline('c');
    const packet = publish(1);
    await p.outgoingEnqueueCombi([{ clientId: 'c' }], packet);
    await p.outgoingUpdate({ id: 'c' }, { ...packet, messageId: 7 });
    expect(p.stats().pendingWrites).toBe(0);
    await p.outgoingClearMessageId({ id: 'c' }, { cmd: 'puback', messageId: 7 });
    p.flush();
    expect(rows(db)).toBe(0);
    expect(p.stats()).toMatchObject({ queued: 0, pendingWrites: 0 });
  });

  it('a message still unacknowledged after the grace is written; so is everything when the client goes', async () => {
    p.clientOnline('c');
    await p.outgoingEnqueueCombi([{ clientId: 'c' }], publish(1));
    await eventually(() => rows(db) === 1, 10_000, 'row after the grace');
    await p.outgoingEnqueueCombi([{ clientId: 'c' }], publish(1));
    p.clientOffline('c');
    p.flush();
    expect(rows(db)).toBe(2);
  });

  it('the ack grace runs on the injected clock: written once that clock passes the grace, not before', async () => {
    await p.destroy();
    const clock = new ManualClock();
    p = new SqlitePersistence({ db, flushMs: 1, ackGraceMs: 100, clock });
    await p.setup(broker);
    p.clientOnline('c');
    await p.outgoingEnqueueCombi([{ clientId: 'c' }], publish(1));
    clock.advance(80);
    p.flush();
    expect(rows(db)).toBe(0);
    clock.advance(30);
    p.flush();
    expect(rows(db)).toBe(1);
  });

  it('after a restart, messages of the previous broker and the new one are found by identity and message id', async () => {
    const old = publish(1);
    await p.outgoingEnqueueCombi([{ clientId: 'c' }], old);
    await p.destroy();
    p = new SqlitePersistence({ db, flushMs: 1, ackGraceMs: 50 });
    await p.setup({ id: 'broker-2' });
    p.clientOnline('c');
    const fresh = (n: number): StoredPacket => ({ ...publish(1), brokerId: 'broker-2', brokerCounter: n });
    await p.outgoingEnqueueCombi([{ clientId: 'c' }], fresh(1));
    // The old message is redelivered and acknowledged first; the new broker's go on after it.
    await p.outgoingUpdate({ id: 'c' }, { ...old, messageId: 1 });
    expect((await p.outgoingClearMessageId({ id: 'c' }, { cmd: 'puback', messageId: 1 }))?.brokerId).toBe(broker.id);
    await p.outgoingEnqueueCombi([{ clientId: 'c' }], fresh(2));
    await p.outgoingUpdate({ id: 'c' }, { ...fresh(1), messageId: 2 });
    await p.outgoingUpdate({ id: 'c' }, { ...fresh(2), messageId: 3 });
    expect((await streamed(p, 'c')).map((x) => [x.brokerId, x.brokerCounter, x.messageId])).toEqual([
      ['broker-2', 1, 2],
      ['broker-2', 2, 3],
    ]);
    expect((await p.outgoingClearMessageId({ id: 'c' }, { cmd: 'puback', messageId: 2 }))?.brokerCounter).toBe(1);
    expect((await p.outgoingClearMessageId({ id: 'c' }, { cmd: 'puback', messageId: 3 }))?.brokerCounter).toBe(2);
    expect(p.stats().queued).toBe(0);
  });

  it('a message for an offline client is written at the next flush, and removed when acknowledged', async () => {
    const packet = publish(1);
    await p.outgoingEnqueueCombi([{ clientId: 'c' }], packet);
    p.flush();
    expect(rows(db)).toBe(1);
    // A QoS 1 message id is not worth a write (a redelivery may use a new one)...
    await p.outgoingUpdate({ id: 'c' }, { ...packet, messageId: 9 });
    expect(p.stats().pendingWrites).toBe(0);
    await p.outgoingClearMessageId({ id: 'c' }, { cmd: 'puback', messageId: 9 });
    p.flush();
    expect(rows(db)).toBe(0);
  });

  it('QoS 2 message ids and PUBREL state are written, and survive a reload in queue order', async () => {
    const first = publish(2);
    const second = publish(1);
    await p.outgoingEnqueueCombi([{ clientId: 'c' }], first);
    await p.outgoingEnqueueCombi([{ clientId: 'c' }], second);
    p.flush();
    await p.outgoingUpdate({ id: 'c' }, { ...first, messageId: 5 });
    expect(p.stats().pendingWrites).toBe(1);
    await p.outgoingUpdate({ id: 'c' }, { cmd: 'pubrel', messageId: 5 });
    await p.destroy();

    const again = new SqlitePersistence({ db });
    await again.setup({ id: 'broker-2' });
    const queue = await streamed(again, 'c');
    expect(queue.map((q) => [q.cmd, q.messageId])).toEqual([
      ['pubrel', 5],
      ['publish', undefined],
    ]);
    expect(queue[1]).toMatchObject({
      topic: 'hearth/plug/cmd',
      qos: 1,
      brokerId: 'broker-1',
      brokerCounter: second.brokerCounter,
    });
    await again.destroy();
  });

  it('a clean stop writes deferred messages too', async () => {
    p.clientOnline('c');
    await p.outgoingEnqueueCombi([{ clientId: 'c' }], publish(1));
    await p.destroy();
    expect(rows(db)).toBe(1);
  });

  it('keeps indexes right with thousands in flight (acks out of order)', async () => {
    p.clientOnline('c');
    const packets = Array.from({ length: 5000 }, () => publish(1));
    for (const packet of packets) await p.outgoingEnqueueCombi([{ clientId: 'c' }], packet);
    for (let i = 0; i < packets.length; i++)
      await p.outgoingUpdate({ id: 'c' }, { ...packets[i]!, messageId: (i % 65535) + 1 });
    for (let i = packets.length - 1; i >= 0; i -= 2)
      await p.outgoingClearMessageId({ id: 'c' }, { cmd: 'puback', messageId: i + 1 });
    const left = await streamed(p, 'c');
    expect(left).toHaveLength(2500);
    expect(left.every((q) => (q.messageId as number) % 2 === 1)).toBe(true);
  });
});
