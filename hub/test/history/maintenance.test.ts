import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import { HistoryService } from '../../src/history/service.ts';
import type { Period } from '../../src/history/query.ts';
import { HistoryStorage } from '../../src/history/storage.ts';
import { Zone } from '../../src/history/zone.ts';
import { historyFixture, type HistoryFixture } from './fixture.ts';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** kWh per UTC period of dev_a's meter, as { t, value }. */
const energy = (service: HistoryService, period: Period, from: number, to: number) =>
  service.energy('dev_a', period, from, to, new Zone('UTC')).map(({ t, value }) => ({ t, value }));

describe('history rollups, packing and retention (ManualClock)', () => {
  let f: HistoryFixture;
  afterEach(() => f.close());

  const feed = (n: number, stepMs: number, value: (i: number) => number, capability = 'power', deviceId = 'dev_a') => {
    for (let i = 0; i < n; i++) {
      f.bus.emit('telemetry.sample', { deviceId, capability, value: value(i), at: f.clock.now() });
      f.clock.advance(stepMs);
    }
  };
  const blocks = (tier: number) =>
    f.store.db.prepare('SELECT t0, t1, count FROM history_blocks WHERE tier = ? ORDER BY t0').all(tier) as {
      t0: number;
      t1: number;
      count: number;
    }[];
  const openBuckets = (tier: number) =>
    f.store.db
      .prepare('SELECT t, count, sum, min, max, last FROM history_open_buckets WHERE tier = ? ORDER BY t')
      .all(tier) as { t: number; count: number; sum: number; min: number; max: number; last: number }[];

  it('rolls raw samples into minutes and hours and packs complete, rolled-up hours into blocks', async () => {
    f = await historyFixture({ maintenanceIntervalMs: 600_000 });
    // 2 h 5 min at 1 Hz; within each minute the values are 0..59.
    feed(7500, 1000, (i) => i % 60);
    f.service.maintain(Infinity);

    expect(blocks(0)).toEqual([
      { t0: T0, t1: T0 + HOUR - 1000, count: 3600 },
      { t0: T0 + HOUR, t1: T0 + 2 * HOUR - 1000, count: 3600 },
    ]);
    expect(f.openRows('dev_a', 'power')).toHaveLength(300);
    const minutes = openBuckets(1);
    // Minutes are rolled an hour (a raw block window) at a time (docs/writes.md): the last 5
    // minutes wait, and queries read them from the raw tier.
    expect(minutes).toHaveLength(120);
    expect(minutes[0]).toEqual({ t: T0, count: 60, sum: 1770, min: 0, max: 59, last: 59 });
    expect(openBuckets(2)).toEqual([
      { t: T0, count: 3600, sum: 106_200, min: 0, max: 59, last: 59 },
      { t: T0 + HOUR, count: 3600, sum: 106_200, min: 0, max: 59, last: 59 },
    ]);
    // The packed samples read back exactly through the API-facing query.
    const { tier, points } = f.service.history('dev_a', 'power', T0, T0 + 2 * MIN, 120, 'raw');
    expect(tier).toBe('raw');
    expect(points.map((p) => p.mean)).toEqual(Array.from({ length: 120 }, (_, i) => i % 60));
  });

  it('answers the same energy per day from raw samples and from the tiers, across a counter reset', async () => {
    f = await historyFixture({ maintenanceIntervalMs: 600_000 });
    f.clock.advance(30_000);
    // Hourly readings of a meter: +0.5 kWh per hour; the plug reboots on day 2 at 12:00 and
    // restarts counting at 0.2.
    let v = 100;
    for (let h = 0; h < 72; h++) {
      if (h === 60) {
        // Day 3, 12:00:30: day 1 and 2 come from the day tier, day 3 from hours, minutes and raw.
        expect(energy(f.service, 'day', T0, T0 + 3 * DAY)).toEqual([
          { t: T0, value: 11.5 },
          { t: T0 + DAY, value: 11.7 },
          { t: T0 + 2 * DAY, value: 6 },
        ]);
      }
      if (h === 36) v = 0.2;
      else if (h > 0) v += 0.5;
      f.bus.emit('telemetry.sample', { deviceId: 'dev_a', capability: 'energy', value: v, at: f.clock.now() });
      f.clock.advance(HOUR);
    }
    const expected = [
      { t: T0, value: 11.5 },
      { t: T0 + DAY, value: 11.7 },
      { t: T0 + 2 * DAY, value: 12 },
    ];
    // Day 4, 00:30: days 1-3 are in the day tier (the clock's ticks rolled them).
    f.service.maintain(Infinity);
    expect(f.count('history_blocks') + f.count('history_open_buckets')).toBeGreaterThan(0);
    expect(energy(f.service, 'day', T0, T0 + 3 * DAY)).toEqual(expected);
    expect(energy(f.service, 'month', T0, T0 + 3 * DAY)).toEqual([{ t: T0, value: 35.2 }]);
    expect(openBuckets(3).map((b) => b.t)).toEqual([T0, T0 + DAY, T0 + 2 * DAY]);
  });

  it('carries watermarks and the counter across a restart of the part', async () => {
    f = await historyFixture({ maintenanceIntervalMs: 600_000 });
    const meter = (n: number, start: number) => {
      for (let i = 0; i < n; i++) {
        f.bus.emit('telemetry.sample', {
          deviceId: 'dev_a',
          capability: 'energy',
          value: start + i * 0.25,
          at: f.clock.now(),
        });
        f.clock.advance(10 * MIN);
      }
    };
    meter(30, 1); // 5 h, up to 8.25 kWh
    await f.service.stop();
    // A new part on the same database, as after a hub restart.
    const restarted = new HistoryService({
      store: f.store,
      bus: f.bus,
      clock: f.clock,
      log: createLogger({ level: 'silent' }),
      config: f.config.history,
    });
    await restarted.start();
    f.service = restarted;
    meter(30, 8.5); // another 5 h, continuing the count
    restarted.maintain(Infinity);
    // 59 increases of 0.25 kWh: none lost or counted twice at the restart.
    expect(energy(restarted, 'day', T0, T0 + DAY)).toEqual([{ t: T0, value: 14.75 }]);
    expect(f.store.db.prepare('SELECT wm_minute, wm_hour FROM history_series').get()).toEqual({
      wm_minute: T0 + 10 * HOUR,
      wm_hour: T0 + 10 * HOUR,
    });
  });

  it('deletes data past its tier retention and events past theirs', async () => {
    f = await historyFixture({
      maintenanceIntervalMs: 600_000,
      retentionDays: { raw: 1 / 24, minute: 2 / 24, events: 1 / 24 },
    });
    f.bus.emit('device.availability', { deviceId: 'dev_a', available: true, at: f.clock.now() });
    feed(3 * 360, 10_000, (i) => i); // 3 h, one sample per 10 s
    f.bus.emit('device.availability', { deviceId: 'dev_a', available: false, at: f.clock.now() });
    f.service.maintain(Infinity);
    // Raw: only the block of the last complete hour survives (it ends within the last hour).
    expect(blocks(0).map((b) => b.t0)).toEqual([T0 + 2 * HOUR]);
    // Minutes: the last two hours; hours: all three, rolled before the minutes expired.
    expect(openBuckets(1).map((b) => b.t)).toEqual(Array.from({ length: 120 }, (_, i) => T0 + HOUR + i * MIN));
    expect(openBuckets(2).map((b) => b.count)).toEqual([360, 360, 360]);
    expect(f.store.db.prepare('SELECT value FROM history_events').all()).toEqual([{ value: 'false' }]);
  });

  it('thins the oldest raw blocks first when over the budget, then the next tier', async () => {
    f = await historyFixture({ maintenanceIntervalMs: 600_000 });
    feed(4 * 24 * 60, MIN, (i) => i % 7); // 4 days, one sample a minute
    f.service.maintain(Infinity);
    const before = blocks(0);
    expect(before).toHaveLength(4 * 24);
    const storage = new HistoryStorage(f.service.repo, f.service.series, f.service.tail, f.service.tiers, 1000);
    expect(storage.thin(f.clock.now(), storage.bytes())).toBe(20);
    expect(blocks(0)).toEqual(before.slice(20));
    // Raw keeps its last day; once that is all that is left, the minute tier gives way.
    while (blocks(0).length > 25) storage.thin(f.clock.now(), storage.bytes());
    const minuteBlocks = blocks(1).length;
    expect(storage.thin(f.clock.now(), storage.bytes())).toBeGreaterThan(0);
    expect(blocks(0).length).toBeGreaterThanOrEqual(24);
    expect(blocks(1).length).toBeLessThan(minuteBlocks);
    // Under the budget nothing goes.
    const roomy = new HistoryStorage(f.service.repo, f.service.series, f.service.tail, f.service.tiers, 1e9);
    expect(roomy.thin(f.clock.now(), roomy.bytes())).toBe(0);
  });
});
