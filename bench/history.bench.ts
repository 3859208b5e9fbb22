/**
 * bench/history: the history store with a year of 50 plugs (power, voltage, current at 1 Hz),
 * against a naive one-row-per-sample table in the same run.
 *
 * What is measured how (the output says it again):
 *  - The long past is written in bulk, straight into the tiers, because a year of 50 plugs × 3
 *    capabilities at 1 Hz is 4.7 G samples: the last 7 days of raw samples are generated per
 *    second and packed with the real block encoder into hourly blocks; the minute tier (30 days)
 *    is rolled from the same per-second samples; the hour tier for the rest of the year comes from
 *    a per-minute model of the same load curves; the day tier is rolled from the hours with the
 *    real rollup code. Watermarks and open (not yet packed) rows are set exactly as the running
 *    hub leaves them, so the database is in the steady state.
 *  - The last hour (540,000 samples) goes through the real ingest path: `telemetry.sample` events
 *    on the real EventBus → HistoryIngest batches (flushRows) → SQLite; then the real maintenance
 *    (rollups, packing) for that hour. Ingest rows/s is reported with and without maintenance.
 *  - Size: the database file after a checkpoint, divided by the number of plugs.
 *  - Queries: HistoryService.history (what the API handler calls) for plug 0's power over the last
 *    hour, day, 30 days and year at 1,000 points, repeated; p50/p99 wall time.
 *  - Naive: `(series_id, t, v)` WITHOUT ROWID with a primary key; the same 540,000 slice rows in
 *    the same batches for ingest; one plug's power for --naive-days (default 365) for size and
 *    queries (GROUP BY bucket); bytes per plug-year extrapolated from its bytes per row.
 *
 * Options: --plugs=N (50) --days=N (365) --naive-days=N (365) --runs=N (100; naive 30-day and
 *   year scans take seconds each and run 3 and 2 times)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Database from 'better-sqlite3';
import { EventBus } from '../hub/src/core/bus.ts';
import { ManualClock } from '../hub/src/core/clock.ts';
import { validateConfig } from '../hub/src/core/config.ts';
import { createLogger } from '../hub/src/core/logger.ts';
import { encodeBlock } from '../hub/src/history/codec/block.ts';
import { bucketsToColumns, rollBuckets, type Bucket } from '../hub/src/history/rollup.ts';
import { HistoryService } from '../hub/src/history/service.ts';
import { DAY, floorTo, HOUR, MINUTE, type Tier } from '../hub/src/history/tiers.ts';
import type { HistoryRepo, SeriesRow } from '../hub/src/store/history-repo.ts';
import { Store } from '../hub/src/store/store.ts';
import type { BenchContext, BenchSmoke } from './run.ts';

export const description =
  'history store: a year of 50 plugs at 1 Hz; ingest rate, bytes per plug, query p50/p99; vs one row per sample';

/** One plug, 8 days (the raw week plus a day of older tiers), 2 naive days, 3 query runs. */
export const smoke: BenchSmoke = {
  args: ['--plugs=1', '--days=8', '--naive-days=2', '--runs=3'],
  keys: ['ingestRowsPerS', 'bytesPerPlug', 'queryMs.year.p99', 'naive.queryMs.year', 'ratios.sizeVsNaive'],
};

const CAPS = ['power', 'voltage', 'current'] as const;
/** Measured slice through the real ingest path. */
const SLICE_MS = HOUR;
const FLUSH_ROWS = 5000;
const TARGETS = { ingestRowsPerS: 100_000, bytesPerPlug: 10 * 1024 * 1024, queryP99Ms: 50 };

// ---- the synthetic plugs ------------------------------------------------------------------------

/** A fast deterministic hash of (series, second) → [0, 1): the noise of a reading. */
function noise(series: number, s: number): number {
  let h =
    Math.imul(series ^ 0x9e3779b9, 0x85ebca6b) ^
    Math.imul(s | 0, 0xc2b2ae35) ^
    Math.imul((s / 4294967296) | 0, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** Load of plug p at second s (W): a fridge cycling, a TV in the evening, or a small standby load. */
function load(p: number, s: number): number {
  const kind = p % 3;
  if (kind === 0) return (s + p * 977) % 2700 < 900 ? 85 : 1.5;
  if (kind === 1) {
    const hourOfDay = Math.floor((s % 86_400) / 3600);
    return hourOfDay >= 18 && hourOfDay < 23 ? 120 : 0.8;
  }
  return 7 + (((s / 600) | 0) % 3);
}

/** Readings in tenths of a unit (power, voltage) or thousandths (current), as real meters send. */
function reading(p: number, c: number, s: number): number {
  const n = noise(p * 3 + c, s);
  const w = Math.round((load(p, s) + (n - 0.5) * 4) * 10) / 10;
  const power = Math.max(w, 0);
  if (c === 0) return power;
  const volts =
    Math.round((230 + 3 * Math.sin((2 * Math.PI * (s % 86_400)) / 86_400) + (noise(p * 3 + 1, s) - 0.5)) * 10) / 10;
  if (c === 1) return volts;
  return Math.round((power / volts) * 1000) / 1000;
}

/** Plugs report once a second on their own timer; the hub stamps arrival: a few ms of jitter. */
function stamp(series: number, s: number): number {
  return s * 1000 + Math.floor(noise(series + 1000, s) * 15);
}

// ---- bulk loading of the past ---------------------------------------------------------------------

export interface Layout {
  now: number;
  from: number;
  sliceStart: number;
}

/** Writes rows of one tier: complete block windows below `packLimit` as blocks, the rest as open rows. */
function writeBuckets(repo: HistoryRepo, tier: Tier, seriesId: number, rows: Bucket[], packLimit: number): void {
  let i = 0;
  while (i < rows.length) {
    const w0 = floorTo(rows[i]!.t, tier.blockMs);
    let j = i;
    while (j < rows.length && rows[j]!.t < w0 + tier.blockMs) j++;
    const chunk = rows.slice(i, j);
    if (w0 + tier.blockMs <= packLimit) {
      const { times, columns } = bucketsToColumns(chunk);
      repo.putBlock(seriesId, tier.id, {
        t0: times[0]!,
        t1: times[times.length - 1]!,
        count: chunk.length,
        data: encodeBlock(times, columns),
      });
    } else {
      repo.insertBuckets(seriesId, tier.id, chunk);
    }
    i = j;
  }
}

export function bulkLoad(
  service: HistoryService,
  plugs: number,
  layout: Layout,
  log: (l: string) => void,
): { seconds: number; rawSamples: number } {
  const started = performance.now();
  const { repo, tiers } = service;
  const { now, from, sliceStart } = layout;
  const rawFrom = Math.max(from, now - tiers[0]!.retentionMs);
  const minuteFrom = Math.max(from, now - tiers[1]!.retentionMs);
  const wmHour = floorTo(sliceStart, HOUR);
  const wmDay = floorTo(sliceStart, DAY);
  let rawSamples = 0;
  for (let p = 0; p < plugs; p++) {
    for (let c = 0; c < CAPS.length; c++) {
      const seriesKey = p * 3 + c;
      const id = repo.insertSeries(`plug_${String(p).padStart(2, '0')}`, CAPS[c]!, false);
      repo.transaction(() => {
        // Raw: hourly blocks of per-second readings for the last 7 days (up to the slice).
        for (let w = rawFrom; w < sliceStart; w += HOUR) {
          const times: number[] = [];
          const values: number[] = [];
          for (let s = w / 1000; s < (w + HOUR) / 1000; s++) {
            times.push(stamp(seriesKey, s));
            values.push(reading(p, c, s));
          }
          rawSamples += times.length;
          repo.putBlock(id, 0, {
            t0: times[0]!,
            t1: times[times.length - 1]!,
            count: times.length,
            data: encodeBlock(times, [values]),
          });
        }
        // Minutes: rolled from the same per-second readings for the last 30 days.
        const minutes: Bucket[] = [];
        for (let m = minuteFrom; m < sliceStart; m += MINUTE) {
          let min = Infinity;
          let max = -Infinity;
          let sum = 0;
          let last = 0;
          for (let s = m / 1000; s < (m + MINUTE) / 1000; s++) {
            const v = reading(p, c, s);
            if (v < min) min = v;
            if (v > max) max = v;
            sum += v;
            last = v;
          }
          const grid = c === 2 ? 1000 : 10;
          minutes.push({ t: m, count: 60, sum: Math.round(sum * grid) / grid, min, max, last, inc: 0 });
        }
        // Hours: rolled from the minutes where there are minutes; before that, a per-minute model
        // (one reading per minute stands for the minute) of the same curves.
        const hours: Bucket[] = [];
        for (let h = from; h < floorTo(minuteFrom, HOUR); h += HOUR) {
          let min = Infinity;
          let max = -Infinity;
          let sum = 0;
          let last = 0;
          for (let m = h; m < h + HOUR; m += MINUTE) {
            const v = reading(p, c, m / 1000);
            if (v < min) min = v;
            if (v > max) max = v;
            sum += v * 60;
            last = v;
          }
          const grid = c === 2 ? 1000 : 10;
          hours.push({ t: h, count: 3600, sum: Math.round(sum * grid) / grid, min, max, last, inc: 0 });
        }
        hours.push(
          ...rollBuckets(
            minutes.filter((b) => b.t >= floorTo(minuteFrom, HOUR) && b.t < wmHour),
            HOUR,
          ),
        );
        const days = rollBuckets(
          hours.filter((b) => b.t < wmDay),
          DAY,
        );
        writeBuckets(repo, tiers[1]!, id, minutes, wmHour);
        writeBuckets(repo, tiers[2]!, id, hours, wmDay);
        writeBuckets(repo, tiers[3]!, id, days, wmDay);
        const series: SeriesRow = {
          id,
          deviceId: '',
          capability: '',
          counter: false,
          wmMinute: sliceStart,
          wmHour,
          wmDay,
          prevCounter: null,
        };
        repo.saveWatermarks(series);
      });
    }
    if (p % 10 === 9) log(`  bulk: ${p + 1}/${plugs} plugs (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  return { seconds: (performance.now() - started) / 1000, rawSamples };
}

// ---- measuring ------------------------------------------------------------------------------------

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function timeRuns(runs: number, fn: () => void): { p50: number; p99: number } {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: round(percentile(times, 0.5), 2), p99: round(percentile(times, 0.99), 2) };
}

function round(n: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function fileBytes(db: Database.Database, path: string): number {
  db.pragma('wal_checkpoint(TRUNCATE)');
  return statSync(path).size;
}

/**
 * The bulk load leaves hundreds of MB of garbage behind; a full collection before timing queries
 * keeps its pause out of the query figures (a running hub never has that garbage).
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: ctx.args,
    options: {
      plugs: { type: 'string' },
      days: { type: 'string' },
      'naive-days': { type: 'string' },
      runs: { type: 'string' },
    },
    strict: true,
  });
  const plugs = Number(values.plugs ?? 50);
  const days = Number(values.days ?? 365);
  const naiveDays = Number(values['naive-days'] ?? 365);
  const runs = Number(values.runs ?? 100);
  const log = ctx.log;
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-history-'));
  try {
    // A fixed "now" on an hour boundary: the slice is the hour before it.
    const now = Date.UTC(2026, 10, 23, 12);
    const layout: Layout = { now, from: floorTo(now - days * DAY, DAY), sliceStart: now - SLICE_MS };
    const config = validateConfig({ dataDir: dir, history: { flushRows: FLUSH_ROWS } }, dir);
    const store = Store.open(dir);
    // The clock stands at the end of the slice and never moves: samples carry their own times,
    // batches flush by size, and the maintenance below runs once, measured, instead of as
    // unmeasured timer ticks.
    const clock = new ManualClock(now);
    const logger = createLogger({ level: 'silent' });
    const bus = new EventBus(logger);
    const service = new HistoryService({ store, bus, clock, log: logger, config: config.history });

    log(
      `history: ${plugs} plugs × ${CAPS.join('/')} at 1 Hz, ${days} days; bulk load of the past (direct to tiers)...`,
    );
    const bulk = bulkLoad(service, plugs, layout, log);
    log(`  bulk load: ${bulk.rawSamples.toLocaleString()} raw samples packed + tiers in ${bulk.seconds.toFixed(1)} s`);
    await service.start();

    // The measured slice: the last hour through the bus and the real batched ingest.
    const sliceSamples = plugs * CAPS.length * (SLICE_MS / 1000);
    let emitted = 0;
    const t0 = performance.now();
    for (let s = layout.sliceStart / 1000; s < now / 1000; s++) {
      for (let p = 0; p < plugs; p++) {
        for (let c = 0; c < CAPS.length; c++) {
          bus.emit('telemetry.sample', {
            deviceId: `plug_${String(p).padStart(2, '0')}`,
            capability: CAPS[c]!,
            value: reading(p, c, s),
            at: stamp(p * 3 + c, s),
          });
          // Let the full batch be written, as the event loop would between MQTT messages.
          if (++emitted % FLUSH_ROWS === 0) await yieldToLoop();
        }
      }
    }
    service.ingest.flush();
    const ingestS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    service.maintain(Infinity);
    const maintainS = (performance.now() - t1) / 1000;
    const ingestRowsPerS = Math.round(sliceSamples / ingestS);
    const ingestWithMaintenanceRowsPerS = Math.round(sliceSamples / (ingestS + maintainS));
    log(
      `  ingest (bus → batches → SQLite): ${sliceSamples.toLocaleString()} samples in ` +
        `${ingestS.toFixed(2)} s = ${ingestRowsPerS.toLocaleString()} rows/s; with rollups + ` +
        `packing (${maintainS.toFixed(2)} s): ${ingestWithMaintenanceRowsPerS.toLocaleString()} ` +
        `rows/s`,
    );

    const dbPath = join(dir, 'hearth.db');
    const totalBytes = fileBytes(store.db, dbPath);
    const bytesPerPlug = Math.round(totalBytes / plugs);
    const report = service.storageReport();
    log(
      `  size: ${(totalBytes / 1048576).toFixed(1)} MiB file, ` +
        `${(bytesPerPlug / 1048576).toFixed(2)} MiB per plug (${days} days; tiers: ` +
        `${report.tiers.map((t) => `${t.name} ${(t.bytes / 1048576).toFixed(1)} MiB`).join(', ')})`,
    );

    // Queries: plug 0's power at 1,000 points.
    const spans = { hour: HOUR, day: DAY, '30d': 30 * DAY, year: 365 * DAY } as const;
    const queries: Record<string, { tier: string; points: number; p50: number; p99: number }> = {};
    collectGarbage();
    for (const [name, span] of Object.entries(spans)) {
      let answer = service.history('plug_00', 'power', now - span, now, 1000);
      const timing = timeRuns(runs, () => {
        answer = service.history('plug_00', 'power', now - span, now, 1000);
      });
      queries[name] = { tier: answer.tier, points: answer.points.length, ...timing };
      log(
        `  query ${name}: tier ${answer.tier}, ${answer.points.length} points, p50 ${timing.p50} ms, p99 ${timing.p99} ms`,
      );
    }
    await service.stop();
    store.close();

    // ---- the naive reference --------------------------------------------------------------------
    log(`naive: one row per sample, (series_id, t, v) WITHOUT ROWID...`);
    const naivePath = join(dir, 'naive.db');
    const naive = new Database(naivePath);
    naive.pragma('journal_mode = WAL');
    naive.pragma('synchronous = NORMAL');
    naive.exec(
      'CREATE TABLE naive (series_id INTEGER NOT NULL, t INTEGER NOT NULL, v REAL NOT NULL, PRIMARY KEY (series_id, t)) STRICT, WITHOUT ROWID',
    );
    const insert = naive.prepare('INSERT INTO naive (series_id, t, v) VALUES (?, ?, ?)');
    // Same slice, same batch size, rows in arrival order (all series interleaved).
    const batch: [number, number, number][] = [];
    const flush = naive.transaction(() => {
      for (const r of batch) insert.run(r[0], r[1], r[2]);
    });
    const t2 = performance.now();
    for (let s = layout.sliceStart / 1000; s < now / 1000; s++) {
      for (let p = 0; p < plugs; p++) {
        for (let c = 0; c < CAPS.length; c++) {
          batch.push([1000 + p * 3 + c, stamp(p * 3 + c, s), reading(p, c, s)]);
          if (batch.length === FLUSH_ROWS) {
            flush();
            batch.length = 0;
          }
        }
      }
    }
    flush();
    batch.length = 0;
    const naiveIngestRowsPerS = Math.round(sliceSamples / ((performance.now() - t2) / 1000));
    log(`  naive ingest: ${naiveIngestRowsPerS.toLocaleString()} rows/s`);
    collectGarbage();
    naive.exec('DELETE FROM naive');
    naive.pragma('wal_checkpoint(TRUNCATE)');
    naive.exec('VACUUM');

    // One plug's power for naiveDays, in time order.
    const t3 = performance.now();
    const naiveFrom = now - naiveDays * DAY;
    const fill = naive.transaction((fromS: number, toS: number) => {
      for (let s = fromS; s < toS; s++) insert.run(0, stamp(0, s), reading(0, 0, s));
    });
    for (let d = naiveFrom / 1000; d < now / 1000; d += 86_400) fill(d, Math.min(d + 86_400, now / 1000));
    const naiveRows = naiveDays * 86_400;
    const naiveBytes = fileBytes(naive, naivePath);
    const naiveBytesPerRow = naiveBytes / naiveRows;
    const naiveBytesPerPlugYear = Math.round(naiveBytesPerRow * CAPS.length * 365 * 86_400);
    log(
      `  naive fill: ${naiveRows.toLocaleString()} rows in ` +
        `${((performance.now() - t3) / 1000).toFixed(1)} s; ${naiveBytesPerRow.toFixed(1)} ` +
        `bytes/row → ${(naiveBytesPerPlugYear / 1048576).toFixed(0)} MiB per plug-year ` +
        `(extrapolated)`,
    );
    // CAST: better-sqlite3 binds numbers as REAL, and a REAL division would make every row its own group.
    const naiveQuery = naive.prepare(
      'SELECT CAST((t - ?) / ? AS INTEGER) AS b, min(v) AS min, max(v) AS max, avg(v) AS mean ' +
        'FROM naive WHERE series_id = 0 AND t >= ? AND t < ? GROUP BY b ORDER BY b',
    );
    const naiveQueries: Record<string, { p50: number; p99: number; runs: number }> = {};
    for (const [name, span] of Object.entries(spans)) {
      const from = now - span;
      const width = Math.ceil(span / 1000);
      // Long scans take seconds each: fewer runs, said in the output.
      const n = span >= 365 * DAY ? 2 : span >= 30 * DAY ? 3 : Math.min(runs, 30);
      const timing = timeRuns(n, () => naiveQuery.all(from, width, from, now));
      naiveQueries[name] = { ...timing, runs: n };
      log(
        `  naive query ${name}: p50 ${timing.p50} ms, p99 ${timing.p99} ms (${n} runs${span > naiveDays * DAY ? `, only ${naiveDays} days of data` : ''})`,
      );
    }
    naive.close();

    const worstP99 = Math.max(...Object.values(queries).map((q) => q.p99));
    return {
      method:
        'past: bulk into tiers (raw 7 d per-second packed with the real encoder, minutes rolled ' +
        'from per-second readings, older hours from a per-minute model, days rolled); last hour: ' +
        'real bus → HistoryIngest → SQLite + real maintenance',
      plugs,
      days,
      ingestRowsPerS,
      ingestWithMaintenanceRowsPerS,
      bytesPerPlug,
      queryMs: queries,
      naive: {
        ingestRowsPerS: naiveIngestRowsPerS,
        bytesPerRow: round(naiveBytesPerRow, 1),
        bytesPerPlugYear: naiveBytesPerPlugYear,
        queryMs: naiveQueries,
        days: naiveDays,
      },
      ratios: {
        sizeVsNaive: round(bytesPerPlug / naiveBytesPerPlugYear, 4),
        ingestVsNaive: round(ingestRowsPerS / naiveIngestRowsPerS, 2),
        yearQueryP99VsNaive: round(queries.year!.p99 / naiveQueries.year!.p99, 4),
      },
      targets: {
        ingest: ingestRowsPerS >= TARGETS.ingestRowsPerS,
        ingestWithMaintenance: ingestWithMaintenanceRowsPerS >= TARGETS.ingestRowsPerS,
        size: bytesPerPlug <= TARGETS.bytesPerPlug,
        queryP99: worstP99 < TARGETS.queryP99Ms,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
