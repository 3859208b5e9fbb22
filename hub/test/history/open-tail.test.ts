import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/core/bus.ts';
import { createLogger } from '../../src/core/logger.ts';
import { HistoryService } from '../../src/history/service.ts';
import { Zone } from '../../src/history/zone.ts';
import { historyFixture, type HistoryFixture } from './fixture.ts';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const HOUR = 60 * MIN;

/**
 * The open raw tail lives in memory and its journal on disk (docs/writes.md): queries read it
 * without writing, a restart replays it, and its memory is capped.
 */
describe('history open tail and journal', () => {
  const fixtures: HistoryFixture[] = [];
  afterEach(async () => {
    for (const f of fixtures.splice(0)) await f.close();
  });
  const fixture = async (history: Record<string, unknown> = {}) => {
    const f = await historyFixture({ maintenanceIntervalMs: 600_000, ...history }, T0);
    fixtures.push(f);
    return f;
  };
  const journalRows = (f: HistoryFixture) => f.count('history_journal');

  it('a query answers from the open batch without writing it', async () => {
    const f = await fixture();
    for (let i = 0; i < 10; i++) {
      f.bus.emit('telemetry.sample', { deviceId: 'dev_a', capability: 'power', value: i, at: f.clock.now() });
      f.clock.advance(1000);
    }
    const answer = f.service.history('dev_a', 'power', T0, T0 + MIN, 60, 'raw');
    expect(answer.points.map((p) => p.mean)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(journalRows(f)).toBe(0);
    expect(f.service.ingest.counters.flushes).toBe(0);
    // The flush: one row, for every series in the batch.
    for (const deviceId of ['dev_b', 'dev_c', 'dev_d'])
      f.bus.emit('telemetry.sample', { deviceId, capability: 'power', value: 1, at: f.clock.now() });
    f.service.ingest.flush();
    expect(journalRows(f)).toBe(1);
    expect(['dev_a', 'dev_b', 'dev_c', 'dev_d'].map((d) => f.openRows(d, 'power').length)).toEqual([10, 1, 1, 1]);
  });

  it('one journal row per flush, whatever the number of series; a restart replays it and answers the same', async () => {
    const f = await fixture({ flushIntervalMs: 30_000 });
    const devices = ['dev_a', 'dev_b', 'dev_c'];
    // 1 h 20 min at 1 Hz, power and energy: the first hour is packed, the rest stays open.
    for (let s = 0; s < 80 * 60; s++) {
      for (const [k, deviceId] of devices.entries()) {
        f.bus.emit('telemetry.sample', {
          deviceId,
          capability: 'power',
          value: 100 + ((s * (k + 1)) % 17) / 10,
          at: f.clock.now(),
        });
        f.bus.emit('telemetry.sample', {
          deviceId,
          capability: 'energy',
          value: Math.round(s * (k + 1)) / 1000,
          at: f.clock.now(),
        });
      }
      f.clock.advance(1000);
      if (s % 60 === 59) f.service.maintain(20, false);
    }
    expect(f.count('history_blocks')).toBeGreaterThan(0);
    // Only the rows holding samples not yet in a raw block are left (packed rows were deleted).
    const flushes = f.service.ingest.counters.flushes;
    expect(flushes).toBeGreaterThanOrEqual(160);
    expect(journalRows(f)).toBeGreaterThan(0);
    expect(journalRows(f)).toBeLessThan(60);

    const ask = (svc: HistoryService) => ({
      raw: svc.history('dev_b', 'power', T0 + 50 * MIN, T0 + 80 * MIN, 10_000, 'raw').points,
      minute: svc.history('dev_c', 'power', T0, T0 + 80 * MIN, 80).points,
      energy: svc.energy('dev_a', 'day', T0, T0 + 2 * HOUR, new Zone('UTC')),
    });
    f.service.ingest.flush();
    const before = ask(f.service);
    expect(before.raw).toHaveLength(30 * 60);

    // As after a kill -9: a new history part on the same file, the old one never stopped.
    const log = createLogger({ level: 'silent' });
    const again = new HistoryService({
      store: f.store,
      bus: new EventBus(log),
      clock: f.clock,
      log,
      config: f.config.history,
    });
    await again.start();
    expect(again.tail.count).toBe(f.service.tail.count);
    expect(ask(again)).toEqual(before);
    await again.stop();
  });

  it('open rows of a version before the journal (history_open) move into it at the first start', async () => {
    const f = await fixture();
    await f.service.stop();
    // As an older hub left them: one row per sample.
    f.store.db
      .prepare("INSERT INTO history_series (id, device_id, capability, counter) VALUES (7, 'dev_old', 'power', 0)")
      .run();
    const insert = f.store.db.prepare('INSERT INTO history_open (series_id, t, v) VALUES (7, ?, ?)');
    for (let i = 0; i < 5; i++) insert.run(T0 + i * 1000, 10 + i);
    const log = createLogger({ level: 'silent' });
    const again = new HistoryService({
      store: f.store,
      bus: new EventBus(log),
      clock: f.clock,
      log,
      config: f.config.history,
    });
    await again.start();
    f.service = again;
    expect(f.count('history_open')).toBe(0);
    expect(journalRows(f)).toBe(1);
    expect(f.openRows('dev_old', 'power').map((r) => r.v)).toEqual([10, 11, 12, 13, 14]);
    expect(again.history('dev_old', 'power', T0, T0 + MIN, 60, 'raw').points.map((p) => p.mean)).toEqual([
      10, 11, 12, 13, 14,
    ]);
  });

  it('over its memory cap, the largest series is packed early; rollups and answers are unchanged', async () => {
    // 1 MB is ~87,000 samples: one device at 50 Hz passes it in half an hour.
    const capped = await fixture({ openTailMaxMb: 1 });
    const roomy = await fixture({ openTailMaxMb: 64 });
    const cap = 1024 * 1024;
    const largest = new Map<HistoryFixture, number>();
    for (const f of [capped, roomy]) {
      for (let i = 0; i < 75 * 60 * 50; i++) {
        f.bus.emit('telemetry.sample', {
          deviceId: 'dev_fast',
          capability: 'power',
          value: (i % 101) / 10,
          at: f.clock.now(),
        });
        if (i % 50 === 0)
          f.bus.emit('telemetry.sample', {
            deviceId: 'dev_slow',
            capability: 'energy',
            value: i / 5000,
            at: f.clock.now(),
          });
        f.clock.advance(20);
        if (i % 3000 === 2999) {
          // A maintenance pass every simulated minute, as the scheduled slices would.
          f.service.maintain(Infinity, false);
          largest.set(f, Math.max(largest.get(f) ?? 0, f.service.tail.bytes));
        }
      }
      f.service.maintain(Infinity);
    }
    expect(capped.service.maintenance.earlyPacks).toBeGreaterThan(0);
    expect(largest.get(capped)).toBeLessThanOrEqual(cap);
    expect(roomy.service.maintenance.earlyPacks).toBe(0);
    expect(largest.get(roomy)).toBeGreaterThan(cap);
    const ask = (f: HistoryFixture) => ({
      minutes: f.store.db
        .prepare(
          'SELECT series_id, t, count, sum, min, max, last, inc FROM history_open_buckets WHERE tier = 1 ORDER BY series_id, t',
        )
        .all(),
      raw: f.service.history('dev_fast', 'power', T0 + 50 * MIN, T0 + 75 * MIN, 10_000, 'raw').points,
      energy: f.service.energy('dev_slow', 'day', T0, T0 + 2 * HOUR, new Zone('UTC')),
    });
    const a = ask(capped);
    expect(a.minutes).toHaveLength(60 + 60);
    expect(a.raw.length).toBeGreaterThan(9000);
    expect(a).toEqual(ask(roomy));
  });
});
