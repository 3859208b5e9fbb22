import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import { decodeJournal } from '../../src/history/journal.ts';
import { HistoryService } from '../../src/history/service.ts';
import { journalSamples } from '../helpers/history-journal.ts';
import { historyFixture, type HistoryFixture } from './fixture.ts';

const TABLES = ['history_blocks', 'history_open_buckets'] as const;

/** Removing a device removes its history, in chunks, resumably, and never anyone else's. */
describe('history of a removed device', () => {
  let f: HistoryFixture;
  afterEach(() => f.close());

  /** Rows per table that belong to one device. */
  const rowsOf = (deviceId: string) => {
    const counts: Record<string, number> = {};
    for (const table of TABLES) {
      counts[table] = (
        f.store.db
          .prepare(
            `SELECT count(*) AS n FROM ${table} x JOIN history_series s ON s.id = x.series_id WHERE s.device_id = ?`,
          )
          .get(deviceId) as { n: number }
      ).n;
    }
    counts.history_series = (
      f.store.db.prepare('SELECT count(*) AS n FROM history_series WHERE device_id = ?').get(deviceId) as { n: number }
    ).n;
    counts.history_events = (
      f.store.db.prepare('SELECT count(*) AS n FROM history_events WHERE device_id = ?').get(deviceId) as { n: number }
    ).n;
    return counts;
  };
  const seriesIds = (deviceId: string) =>
    (
      f.store.db.prepare('SELECT id FROM history_series WHERE device_id = ? ORDER BY id').all(deviceId) as {
        id: number;
      }[]
    ).map((r) => r.id);
  /** Samples of these series in the journal rows on disk (the open raw tail). */
  const journalCount = (ids: number[]) => {
    let n = 0;
    for (const row of f.store.db.prepare('SELECT data FROM history_journal').all() as { data: Uint8Array }[]) {
      for (const e of decodeJournal(row.data)) if (ids.includes(e.seriesId)) n += e.times.length;
    }
    return n;
  };
  /** Open raw samples on disk (journal, past the raw blocks) of every series still stored. */
  const openSamplesOnDisk = () => {
    let n = 0;
    for (const s of f.store.db.prepare('SELECT device_id, capability FROM history_series').all() as {
      device_id: string;
      capability: string;
    }[]) {
      n += journalSamples(f.store.db, s.device_id, s.capability).length;
    }
    return n;
  };
  /** Two plugs, 2 h 5 min of power and energy at 1 Hz, switch changes and commands. */
  const fill = () => {
    for (let i = 0; i < 7500; i++) {
      for (const deviceId of ['dev_a', 'dev_b']) {
        f.bus.emit('telemetry.sample', { deviceId, capability: 'power', value: i % 60, at: f.clock.now() });
        f.bus.emit('telemetry.sample', { deviceId, capability: 'energy', value: i / 1000, at: f.clock.now() });
        if (i % 600 === 0)
          f.bus.emit('device.state', {
            deviceId,
            capability: 'switch',
            value: i % 1200 === 0,
            previous: i % 1200 !== 0,
            at: f.clock.now(),
          });
      }
      f.clock.advance(1000);
    }
    f.service.maintain(Infinity);
  };
  const storageMatchesDisk = () =>
    expect({ ...f.service.storage.open }).toEqual({ samples: openSamplesOnDisk(), ...f.service.repo.openCounts() });

  it('deletes every row of its series and events; the other device keeps all of its own', async () => {
    f = await historyFixture({ maintenanceIntervalMs: 600_000 });
    fill();
    const a = rowsOf('dev_a');
    const b = rowsOf('dev_b');
    expect(a.history_blocks).toBeGreaterThan(0);
    expect(a.history_events).toBeGreaterThan(0);
    expect(a.history_series).toBe(2);
    const aIds = seriesIds('dev_a');
    const bJournal = journalCount(seriesIds('dev_b'));
    expect(journalCount(aIds)).toBeGreaterThan(0);

    f.bus.emit('device.removed', { deviceId: 'dev_a', at: f.clock.now() });
    // Gone from queries at once, from the disk by the next maintenance.
    expect(f.service.series.get('dev_a', 'power')).toBeUndefined();
    expect(f.service.purge.pendingDevices).toEqual(['dev_a']);
    f.service.maintain(Infinity);
    expect(rowsOf('dev_a')).toEqual({
      history_blocks: 0,
      history_open_buckets: 0,
      history_series: 0,
      history_events: 0,
    });
    expect(journalCount(aIds)).toBe(0);
    expect(rowsOf('dev_b')).toEqual(b);
    expect(journalCount(seriesIds('dev_b'))).toBe(bJournal);
    expect(f.service.purge.pendingDevices).toEqual([]);
    storageMatchesDisk();
  });

  it('a purge cut short by its time slice goes on after a restart', async () => {
    f = await historyFixture({ maintenanceIntervalMs: 600_000 });
    fill();
    f.bus.emit('device.removed', { deviceId: 'dev_a', at: f.clock.now() });
    // One chunk, then out of time.
    expect(f.service.purge.run(() => true)).toBe(false);
    const partly = rowsOf('dev_a');
    expect(partly.history_series).toBe(2);
    await f.service.stop();

    const log = createLogger({ level: 'silent' });
    const again = new HistoryService({ store: f.store, bus: f.bus, clock: f.clock, log, config: f.config.history });
    await again.start();
    f.service = again;
    expect(again.series.get('dev_a', 'power')).toBeUndefined(); // still queued: not served
    expect(again.series.get('dev_b', 'power')).toBeDefined();
    again.maintain(Infinity);
    expect(rowsOf('dev_a')).toEqual({
      history_blocks: 0,
      history_open_buckets: 0,
      history_series: 0,
      history_events: 0,
    });
    storageMatchesDisk();
  });

  it('the same id added again (a re-paired plug) starts from empty history', async () => {
    f = await historyFixture({ maintenanceIntervalMs: 600_000 });
    fill();
    f.bus.emit('device.removed', { deviceId: 'dev_a', at: f.clock.now() });
    f.bus.emit('device.added', { deviceId: 'dev_a', at: f.clock.now() });
    expect(rowsOf('dev_a').history_series).toBe(0);
    f.bus.emit('telemetry.sample', { deviceId: 'dev_a', capability: 'power', value: 42, at: f.clock.now() });
    f.service.maintain(Infinity);
    expect(f.service.history('dev_a', 'power', 0, f.clock.now() + 1, 100).points.map((p) => p.mean)).toEqual([42]);
  });

  it("a removed device's open samples never come back under a series id given out again", async () => {
    f = await historyFixture({ maintenanceIntervalMs: 600_000 });
    fill();
    // dev_b's series have the largest ids, which SQLite gives out again once deleted.
    const bIds = seriesIds('dev_b');
    expect(journalCount(bIds)).toBeGreaterThan(0);
    f.bus.emit('device.removed', { deviceId: 'dev_b', at: f.clock.now() });
    f.bus.emit('device.added', { deviceId: 'dev_b', at: f.clock.now() });
    f.bus.emit('telemetry.sample', { deviceId: 'dev_b', capability: 'power', value: 42, at: f.clock.now() });
    await f.service.stop();
    expect(seriesIds('dev_b')).toEqual([bIds[0]]); // the id was reused

    // After a restart (the journal replayed), only the new reading is there.
    const log = createLogger({ level: 'silent' });
    const again = new HistoryService({ store: f.store, bus: f.bus, clock: f.clock, log, config: f.config.history });
    await again.start();
    f.service = again;
    expect(again.history('dev_b', 'power', 0, f.clock.now() + 1, 100).points.map((p) => p.mean)).toEqual([42]);
    expect(again.tail.count).toBe(journalCount(seriesIds('dev_a')) + 1);
  });
});
