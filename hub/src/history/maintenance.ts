import type { Logger } from '../core/logger.ts';
import type { BucketRow, HistoryRepo, SeriesRow } from '../store/history-repo.ts';
import { decodeBlock, encodeBlock } from './codec/block.ts';
import type { OpenTail } from './open-tail.ts';
import { bucketsToColumns, columnsToBuckets, rollBuckets, rollSamples } from './rollup.ts';
import type { SeriesIndex } from './series.ts';
import { DAY, floorTo, HOUR, type Tier } from './tiers.ts';

/** How far one rollup step reaches, so one step stays small after a long downtime. */
const MAX_ROLL_SPAN = [0, 6 * HOUR, 2 * DAY, 60 * DAY];
/** Rows deleted per retention statement: small chunks, so nothing waits long for the writer. */
const DELETE_CHUNK = 50;

export interface MaintenanceOptions {
  repo: HistoryRepo;
  series: SeriesIndex;
  /** The open raw samples, in memory (open-tail.ts). */
  tail: OpenTail;
  tiers: Tier[];
  log: Logger;
}

/** Raw samples packed in a slice: dropped from the tail at once, put back if the slice fails. */
export interface PackedRaw {
  seriesId: number;
  /** The samples taken out of the tail. */
  times: number[];
  values: number[];
}

/**
 * The background work of the history store, done in small idempotent steps, each its own
 * transaction, so a crash between steps loses nothing and ingest or a query never waits long:
 *  - roll: raw samples → minute buckets → hour → day, each up to the last complete bucket; the
 *    series' watermark moves in the same transaction as the buckets it covers;
 *  - pack: once a block window is complete and rolled up, its open samples (in memory, from the
 *    journal) become one compressed block (codec/block.ts), or its open rows do (rollup tiers);
 *  - expire: blocks older than their tier's retention go, a chunk at a time.
 * Every step returns whether it did work, so a caller can spend a time slice and come back.
 */
export class HistoryMaintenance {
  readonly #o: MaintenanceOptions;
  /** Open rows deleted by packing since the caller last looked (for the size estimate). */
  packedSamples = 0;
  packedBuckets = 0;
  /** Open bucket rows written by rollups and deleted by retention since the caller last looked. */
  rolledBuckets = 0;
  expiredBuckets = 0;
  /** Raw samples packed since the caller last looked (dropped from the tail; see PackedRaw). */
  packedRaw: PackedRaw[] = [];
  /** Windows packed early because the tail was over its memory cap (relieve). */
  earlyPacks = 0;

  constructor(options: MaintenanceOptions) {
    this.#o = options;
  }

  /** Runs steps until nothing is left or `deadline()` says the slice is over. */
  run(now: number, deadline: () => boolean): boolean {
    for (const s of this.#o.series.all()) {
      while (this.stepSeries(s, now)) if (deadline()) return false;
    }
    for (const tier of this.#o.tiers) {
      while (this.#o.repo.deleteBlocksBefore(tier.id, now - tier.retentionMs, DELETE_CHUNK) === DELETE_CHUNK)
        if (deadline()) return false;
      // Open rows are packed (and leave the open table) within about one block window; only a
      // retention shorter than that can leave open rows to expire, so only then pay for the scan.
      if (tier.id > 0 && tier.retentionMs < 2 * tier.blockMs) {
        for (;;) {
          const n = this.#o.repo.deleteOpenBucketsBefore(tier.id, now - tier.retentionMs, DELETE_CHUNK);
          this.expiredBuckets += n;
          if (n < DELETE_CHUNK) break;
          if (deadline()) return false;
        }
      }
    }
    return true;
  }

  /**
   * Over the open tail's memory cap (`history.openTailMaxMb`): the series holding the most
   * samples packs its oldest window early (packRaw `early`), then the next, until the tail is
   * under three quarters of the cap. Only a device reporting far faster than 1 Hz, or very many
   * devices, gets here; what it costs is that window's block written more than once.
   */
  relieve(capBytes: number, deadline: () => boolean): boolean {
    const { tail, series } = this.#o;
    if (tail.bytes <= capBytes) return true;
    while (tail.bytes > capBytes * 0.75) {
      let best: number | undefined;
      let most = 0;
      for (const id of tail.seriesIds()) {
        const n = tail.countOf(id);
        if (n > most) {
          most = n;
          best = id;
        }
      }
      const s = best === undefined ? undefined : series.byId(best);
      if (!s || !this.packRaw(s, true)) break;
      this.earlyPacks++;
      if (deadline()) return false;
    }
    return true;
  }

  /** One unit of work for one series; false when it is up to date. */
  stepSeries(s: SeriesRow, now: number): boolean {
    return (
      this.rollMinute(s, now) ||
      this.rollUp(s, 2, now) ||
      this.rollUp(s, 3, now) ||
      this.packRaw(s) ||
      this.packBuckets(s, 1) ||
      this.packBuckets(s, 2) ||
      this.packBuckets(s, 3)
    );
  }

  rollMinute(s: SeriesRow, now: number): boolean {
    const { repo } = this.#o;
    const bucketMs = this.#o.tiers[1]!.bucketMs;
    // Minutes are rolled a raw block window (an hour) at a time, when that window is complete and
    // about to be packed, not every minute: each roll writes a page per series (their rows are
    // clustered by series), so per minute that was ~1 GB a day for 200 series (docs/writes.md).
    // Queries read the raw tier after the minute watermark, so answers still reach the present.
    const complete = floorTo(now, this.#o.tiers[0]!.blockMs);
    let start = s.wmMinute;
    if (start === 0) {
      const oldest = this.#oldestRaw(s);
      if (oldest === undefined) return false;
      start = floorTo(oldest, bucketMs);
    }
    if (start >= complete) return false;
    const end = Math.min(complete, start + MAX_ROLL_SPAN[1]!);
    const { times, values } = this.#rawSamples(s, start, end);
    const { buckets, prev } = rollSamples(times, values, bucketMs, s.counter, s.prevCounter);
    if (buckets.length === 0 && prev === s.prevCounter) {
      // Nothing in the range: move on in memory only. The stored watermark lags across the empty
      // range, which after a restart is rolled again to the same nothing; an idle hub writes nothing.
      s.wmMinute = end;
      return true;
    }
    repo.transaction(() => {
      repo.insertBuckets(s.id, 1, buckets);
      this.rolledBuckets += buckets.length;
      s.wmMinute = end;
      s.prevCounter = prev;
      repo.saveWatermarks(s);
    });
    return true;
  }

  /** Rolls tier `tier - 1` buckets into tier `tier` up to where the finer tier is complete. */
  rollUp(s: SeriesRow, tier: 2 | 3, now: number): boolean {
    const { repo } = this.#o;
    const bucketMs = this.#o.tiers[tier]!.bucketMs;
    const finerWm = tier === 2 ? s.wmMinute : s.wmHour;
    const complete = Math.min(floorTo(now, bucketMs), floorTo(finerWm, bucketMs));
    let start = tier === 2 ? s.wmHour : s.wmDay;
    if (start === 0) {
      const oldest = repo.oldestOpenBucket(s.id, tier - 1);
      if (oldest === undefined) return false;
      start = floorTo(oldest, bucketMs);
    }
    if (start >= complete) return false;
    const end = Math.min(complete, start + MAX_ROLL_SPAN[tier]!);
    const rows = repo.openBuckets(s.id, tier - 1, start, end);
    const buckets = rollBuckets(rows, bucketMs);
    if (buckets.length === 0) {
      // As in rollMinute: an empty range moves the watermark in memory only.
      if (tier === 2) s.wmHour = end;
      else s.wmDay = end;
      return true;
    }
    repo.transaction(() => {
      repo.insertBuckets(s.id, tier, buckets);
      this.rolledBuckets += buckets.length;
      if (tier === 2) s.wmHour = end;
      else s.wmDay = end;
      repo.saveWatermarks(s);
    });
    return true;
  }

  /**
   * Packs the oldest raw window of the tail once it is complete and rolled into minutes; with
   * `early`, whatever the tail holds of that window now (the tail is over its memory cap: the
   * rest of the window is merged into the block later, and minutes read the block).
   */
  packRaw(s: SeriesRow, early = false): boolean {
    const { repo, tail } = this.#o;
    const blockMs = this.#o.tiers[0]!.blockMs;
    const oldest = tail.oldest(s.id);
    if (oldest === undefined) return false;
    const w0 = floorTo(oldest, blockMs);
    const w1 = w0 + blockMs;
    if (!early && w1 > s.wmMinute) return false;
    const taken = tail.samples(s.id, w0, w1);
    let { times, values } = taken;
    repo.transaction(() => {
      // A block already in this window (packed early, or the clock stepped back): merge, keep order.
      for (const old of repo.blocks(s.id, 0, w0, w1, 0)) {
        const d = decodeBlock(old.data);
        ({ times, values } = mergeSamples(Array.from(d.times), Array.from(d.columns[0]!), times, values));
        repo.db.prepare('DELETE FROM history_blocks WHERE series_id = ? AND tier = 0 AND t0 = ?').run(s.id, old.t0);
      }
      if (times.length > 0) {
        repo.putBlock(s.id, 0, {
          t0: times[0]!,
          t1: times[times.length - 1]!,
          count: times.length,
          data: encodeBlock(times, [values]),
        });
      }
    });
    // Out of memory once the block is written; the caller puts them back if the slice's
    // transaction fails, and marks the journal once it commits.
    tail.dropBefore(s.id, w1);
    this.packedSamples += taken.times.length;
    this.packedRaw.push({ seriesId: s.id, ...taken });
    return true;
  }

  /** Packs the oldest window of a rollup tier once the next tier has rolled past it. */
  packBuckets(s: SeriesRow, tier: 1 | 2 | 3): boolean {
    const { repo } = this.#o;
    const blockMs = this.#o.tiers[tier]!.blockMs;
    const oldest = repo.oldestOpenBucket(s.id, tier);
    if (oldest === undefined) return false;
    const w0 = floorTo(oldest, blockMs);
    const w1 = w0 + blockMs;
    const doneUpTo = tier === 1 ? s.wmHour : s.wmDay;
    if (w1 > doneUpTo) return false;
    let rows: BucketRow[] = repo.openBuckets(s.id, tier, w0, w1);
    repo.transaction(() => {
      for (const old of repo.blocks(s.id, tier, w0, w1, 0)) {
        const d = decodeBlock(old.data);
        rows = mergeBuckets(columnsToBuckets(d.times, d.columns), rows);
        repo.db
          .prepare('DELETE FROM history_blocks WHERE series_id = ? AND tier = ? AND t0 = ?')
          .run(s.id, tier, old.t0);
      }
      if (rows.length > 0) {
        const { times, columns } = bucketsToColumns(rows);
        repo.putBlock(s.id, tier, {
          t0: times[0]!,
          t1: times[times.length - 1]!,
          count: rows.length,
          data: encodeBlock(times, columns),
        });
      }
      this.packedBuckets += repo.deleteOpenBuckets(s.id, tier, w0, w1);
    });
    return true;
  }

  /** The oldest raw sample of a series not yet rolled into minutes may be in the tail or in an early block. */
  #oldestRaw(s: SeriesRow): number | undefined {
    const a = this.#o.tail.oldest(s.id);
    const b = this.#o.repo.oldest(s.id, 0);
    return a === undefined ? b : b === undefined ? a : Math.min(a, b);
  }

  /** Raw samples in [from, to): the tail's, after any raw block there (packed early). */
  #rawSamples(s: SeriesRow, from: number, to: number): { times: number[]; values: number[] } {
    const { repo, tail } = this.#o;
    const open = tail.samples(s.id, from, to);
    const blocks = repo.blocks(s.id, 0, from, to, this.#o.tiers[0]!.blockMs);
    if (blocks.length === 0) return open;
    const times: number[] = [];
    const values: number[] = [];
    for (const b of blocks) {
      const d = decodeBlock(b.data);
      const v = d.columns[0]!;
      for (let i = 0; i < d.times.length; i++) {
        const t = d.times[i]!;
        if (t >= from && t < to) {
          times.push(t);
          values.push(v[i]!);
        }
      }
    }
    return mergeSamples(times, values, open.times, open.values);
  }
}

function mergeSamples(t1: number[], v1: number[], t2: number[], v2: number[]): { times: number[]; values: number[] } {
  const byT = new Map<number, number>();
  t1.forEach((t, i) => byT.set(t, v1[i]!));
  t2.forEach((t, i) => byT.set(t, v2[i]!));
  const times = [...byT.keys()].sort((a, b) => a - b);
  return { times, values: times.map((t) => byT.get(t)!) };
}

function mergeBuckets(a: BucketRow[], b: BucketRow[]): BucketRow[] {
  const byT = new Map<number, BucketRow>();
  for (const r of [...a, ...b]) byT.set(r.t, r);
  return [...byT.values()].sort((x, y) => x.t - y.t);
}
