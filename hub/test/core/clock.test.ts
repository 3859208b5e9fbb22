import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';

describe('ManualClock', () => {
  it('fires due timers in order while advancing, and never cancelled ones', () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 200);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 100);
    const c = clock.setTimeout(() => fired.push('c'), 150);
    c.cancel();
    clock.advance(150);
    expect(fired).toEqual(['a@100']);
    clock.advance(100);
    expect(fired).toEqual(['a@100', 'b@200']);
    expect(clock.now()).toBe(250);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('fires an interval once per period, interleaved with timeouts, until cancelled', () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    const tick = clock.setInterval(() => fired.push(`tick@${clock.now()}`), 100);
    clock.setTimeout(() => fired.push(`once@${clock.now()}`), 150);
    clock.advance(350);
    expect(fired).toEqual(['tick@100', 'once@150', 'tick@200', 'tick@300']);
    expect(clock.nextDue()).toBe(400);
    tick.cancel();
    clock.advance(1000);
    expect(fired).toHaveLength(4);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('lets an interval cancel itself from inside its callback', () => {
    const clock = new ManualClock(0);
    let runs = 0;
    const handle = clock.setInterval(() => {
      if (++runs === 3) handle.cancel();
    }, 10);
    clock.advance(1000);
    expect(runs).toBe(3);
  });
});
