import { describe, expect, it } from 'vitest';
import MQEmitter from 'mqemitter';
import { flattenDelivery, type RouterDo } from '../../src/broker/transport/router-trampoline.ts';

/** aedes' router with a backlog of `n` messages and a subscriber that completes synchronously (as the hub's own do). */
function backlog(n: number, flatten: boolean): { delivered: number[]; error: unknown } {
  const mq = MQEmitter({ concurrency: 1 });
  if (flatten) flattenDelivery(mq as unknown as RouterDo);
  const delivered: number[] = [];
  mq.on('t/#', (message, done) => {
    delivered.push((message as unknown as { n: number }).n);
    done();
  });
  let error: unknown;
  try {
    // A slow first delivery holds the only slot while the rest queue up, as under a flood.
    let release: () => void = () => {};
    mq.on('slow', (_m: unknown, done: () => void) => (release = done));
    mq.emit({ topic: 'slow' });
    for (let i = 0; i < n; i++) mq.emit({ topic: 't/x', n: i });
    release();
  } catch (err) {
    error = err;
  }
  return { delivered, error };
}

describe('router trampoline', () => {
  it('aedes 1.2 router alone: a backlog delivered by synchronous subscribers overflows the stack', () => {
    const plain = backlog(20_000, false);
    expect(plain.delivered.length).toBeLessThan(20_000);
    expect(plain.error).toBeInstanceOf(RangeError);
  });

  it('flattened: every message of the backlog is delivered once, in order, without recursion', () => {
    const flat = backlog(20_000, true);
    expect(flat.error).toBeUndefined();
    expect(flat.delivered.length).toBe(20_000);
    expect(flat.delivered.every((n, i) => n === i)).toBe(true);
  });
});
