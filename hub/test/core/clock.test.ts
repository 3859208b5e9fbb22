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
});
