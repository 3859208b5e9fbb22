process.env.TZ = 'UTC';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { diff } from '../../src/rules/diff.ts';
import { durationMs } from '../../src/rules/duration.ts';
import { runAt } from '../../src/rules/schedule/at.ts';
import { nextCron, parseCron } from '../../src/rules/schedule/cron.ts';

const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

describe('rule schedules and helpers', () => {
  it('cron: fields, steps, ranges, lists; day-of-month OR day-of-week when both are set', () => {
    const at = (expr: string, after: string) => {
      const c = parseCron(expr);
      if (typeof c === 'string') throw new Error(c);
      return iso(nextCron(c, Date.parse(after)));
    };
    expect(at('*/15 * * * *', '2026-01-05T06:07:30Z')).toBe('2026-01-05T06:15:00.000Z');
    expect(at('0 7 * * 1-5', '2026-01-09T07:00:00Z')).toBe('2026-01-12T07:00:00.000Z'); // Fri 07:00 → Mon
    expect(at('30 8-18/2 * * *', '2026-01-05T09:00:00Z')).toBe('2026-01-05T10:30:00.000Z');
    expect(at('0 0 29 2 *', '2026-01-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
    expect(at('0 12 13 * 5', '2026-01-05T00:00:00Z')).toBe('2026-01-09T12:00:00.000Z'); // a Friday before the 13th
    expect(at('0 0 * * 7', '2026-01-05T00:00:00Z')).toBe('2026-01-11T00:00:00.000Z'); // 7 is Sunday
    expect(parseCron('61 * * * *')).toMatch(/^minute/);
    expect(parseCron('* * *')).toMatch(/5 fields/);
    expect(parseCron('* * * 0 *')).toMatch(/^month/);
  });

  it('durations', () => {
    expect([durationMs(90), durationMs('1h30m'), durationMs('250ms'), durationMs('-15m'), durationMs('1.5s')]).toEqual([
      90_000, 5_400_000, 250, -900_000, 1500,
    ]);
  });

  it('runAt follows the wall clock in steps of at most a minute', () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    runAt(clock, 150_000, () => fired.push(clock.now()));
    expect(clock.nextDue()).toBe(60_000);
    clock.advance(150_000);
    expect(fired).toEqual([150_000]);
    expect(clock.nextDue()).toBeUndefined();
  });

  it('diff lists changed, added and removed paths', () => {
    expect(diff({ a: 1, b: [1, 2], c: { d: true } }, { a: 2, b: [1], c: { d: true, e: 'x' } })).toEqual([
      { path: 'a', op: 'changed', from: 1, to: 2 },
      { path: 'b.1', op: 'removed', from: 2 },
      { path: 'c.e', op: 'added', to: 'x' },
    ]);
  });
});
