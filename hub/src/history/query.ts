import { HubError } from '../core/errors.ts';
import type { HistoryRepo, SeriesRow } from '../store/history-repo.ts';
import { decodeBlock, DecodeScratch } from './codec/block.ts';
import { roundTo, decimalsOf, UNSCALED } from './codec/decimals.ts';
import type { OpenTail } from './open-tail.ts';
import { counterIncrease } from './rollup.ts';
import { DAY, type Tier, type TierName } from './tiers.ts';
import { Zone } from './zone.ts';

export const MAX_POINTS = 10_000;
/** Raw samples are read for at most this span: a year at 1 Hz is 31 M rows, never a query. */
export const RAW_MAX_SPAN = DAY;
/** Energy answers at most this many periods (about 3 years of days). */
export const MAX_PERIODS = 1100;

export interface Point {
  t: number;
  min: number;
  max: number;
  mean: number;
}

export type Period = 'day' | 'week' | 'month';

/** kWh of one local period [t, end); `exact` is false where only a misaligned tier was left. */
export interface EnergyPeriod {
  t: number;
  end: number;
  value: number;
  exact: boolean;
}

const UTC_ZONE = new Zone('UTC');

/** One bucket (or one raw sample, count 1), passed flat so scanning allocates nothing per row. */
export type Visit = (
  t: number,
  count: number,
  sum: number,
  min: number,
  max: number,
  last: number,
  inc: number,
) => void;

/**
 * Reads history. Each tier is complete up to its series' watermark; anything newer is read from
 * the next finer tier, down to the raw samples, so every answer reaches the present and energy
 * sums are exact: each sample's increase is counted in exactly one bucket of exactly one tier.
 */
export class HistoryQuery {
  readonly #repo: HistoryRepo;
  readonly #tail: OpenTail;
  readonly #tiers: Tier[];
  readonly #scratch = new DecodeScratch();

  constructor(repo: HistoryRepo, tail: OpenTail, tiers: Tier[]) {
    this.#repo = repo;
    this.#tail = tail;
    this.#tiers = tiers;
  }

  /** The oldest time a tier holds for a series; raw samples also in the open tail (in memory). */
  oldest(seriesId: number, tier: number): number | undefined {
    const stored = this.#repo.oldest(seriesId, tier);
    const open = tier === 0 ? this.#tail.oldest(seriesId) : undefined;
    return stored === undefined ? open : open === undefined ? stored : Math.min(stored, open);
  }

  /**
   * Picks the finest tier whose bucket is no wider than one output point (so the answer has at
   * most `points` points) and that still holds data at `from`; returns min/max/mean per point.
   */
  points(
    s: SeriesRow | undefined,
    from: number,
    to: number,
    points: number,
    forced?: TierName,
  ): { tier: TierName; points: Point[] } {
    const span = to - from;
    const target = span / points;
    let tier: Tier;
    if (forced) {
      tier = this.#tiers.find((t) => t.name === forced)!;
      if (tier.id === 0 && span > RAW_MAX_SPAN) {
        throw new HubError(
          'history_range_too_large',
          `raw samples can be read for at most ${RAW_MAX_SPAN / 3_600_000} h at a time`,
          { maxSpanMs: RAW_MAX_SPAN },
        );
      }
    } else {
      tier = this.#chooseTier(s, from, span, target);
    }
    if (!s || span <= 0) return { tier: tier.name, points: [] };
    const width =
      tier.id === 0
        ? Math.max(1, Math.ceil(target))
        : Math.max(tier.bucketMs, Math.ceil(target / tier.bucketMs) * tier.bucketMs);
    // One slot per output point, in flat arrays: a year of buckets allocates nothing per bucket.
    const slots = Math.ceil(span / width);
    const mins = new Float64Array(slots).fill(Infinity);
    const maxs = new Float64Array(slots).fill(-Infinity);
    const sums = new Float64Array(slots);
    const counts = new Float64Array(slots);
    this.scan(s, tier.id, from, to, (t, count, sum, min, max) => {
      const k = Math.floor((t - from) / width);
      if (min < mins[k]!) mins[k] = min;
      if (max > maxs[k]!) maxs[k] = max;
      sums[k]! += sum;
      counts[k]! += count;
    });
    const out: Point[] = [];
    for (let k = 0; k < slots; k++) {
      if (counts[k]! > 0) out.push({ t: from + k * width, min: mins[k]!, max: maxs[k]!, mean: sums[k]! / counts[k]! });
    }
    return { tier: tier.name, points: out };
  }

  /**
   * kWh per local day, ISO week (from Monday) or calendar month in `zone`, from the counter's
   * increases. Each bucket's increase counts in the period its start lies in, so a period is
   * exact when the tier read at each of its boundaries has buckets that start there: the day tier
   * for UTC, the hour tier for whole-hour offsets (DST included), the minute tier for 30/45-minute
   * offsets. That tier is read where it still holds data; before its oldest data (past its
   * retention) the next coarser tier is read and periods whose boundaries fall there are marked
   * not exact (off by at most that tier's offset misalignment, e.g. 30 min of energy per boundary).
   */
  energy(s: SeriesRow | undefined, period: Period, from: number, to: number, zone: Zone = UTC_ZONE): EnergyPeriod[] {
    const bounds = periodBounds(period, from, to, zone);
    if (bounds.length - 1 > MAX_PERIODS)
      throw new HubError('history_range_too_large', `at most ${MAX_PERIODS} periods at a time`, {
        maxPeriods: MAX_PERIODS,
      });
    const n = bounds.length - 1;
    if (n <= 0) return [];
    const lo = bounds[0]!;
    const hi = Math.min(to, bounds[n]!);
    // The coarsest tier with a bucket starting at every boundary read (lo included): day for UTC,
    // hour for whole-hour offsets, else minute (an offset in seconds, pre-1970 local mean time,
    // is not aligned even there and comes back not exact).
    const inner = bounds.filter((b) => b <= hi);
    const aligns = (tier: number) => inner.every((b) => b % this.#tiers[tier]!.bucketMs === 0);
    const aligned = aligns(3) ? 3 : aligns(2) ? 2 : 1;
    // Segments oldest first: [segment start, tier]; tier k from where it holds complete data on.
    const segments: { start: number; tier: number }[] = [];
    let end = hi;
    if (s) {
      for (let k = aligned; k <= 3; k++) {
        const wm = k === 1 ? s.wmMinute : k === 2 ? s.wmHour : s.wmDay;
        const covered = this.oldest(s.id, k) ?? wm;
        if (k === 3 || covered <= lo) {
          segments.unshift({ start: lo, tier: k });
          break;
        }
        // The coarser tier reads up to a whole bucket of its own, this one from there on.
        const split = Math.min(end, Math.ceil(covered / this.#tiers[k + 1]!.bucketMs) * this.#tiers[k + 1]!.bucketMs);
        if (split < end) segments.unshift({ start: split, tier: k });
        end = split;
        if (end <= lo) break;
      }
    }
    const sums = new Float64Array(n);
    const decimals = new Array<number>(n).fill(0);
    let i = 0;
    for (let j = 0; j < segments.length; j++) {
      const seg = segments[j]!;
      const segEnd = j + 1 < segments.length ? segments[j + 1]!.start : hi;
      this.scan(s!, seg.tier, seg.start, segEnd, (t, _count, _sum, _min, _max, _last, inc) => {
        while (i + 1 < n && t >= bounds[i + 1]!) i++;
        if (t < bounds[i]! || inc === 0) return;
        sums[i]! += inc;
        if (decimals[i] !== UNSCALED) decimals[i] = Math.max(decimals[i]!, decimalsOf(inc));
      });
    }
    // A boundary is exact when the tier read around it has a bucket starting there.
    const exactAt = (b: number) => {
      if (b >= hi || segments.length === 0) return true;
      let tier = segments[0]!.tier;
      for (const g of segments) if (g.start <= b) tier = g.tier;
      return b % this.#tiers[tier]!.bucketMs === 0;
    };
    const out: EnergyPeriod[] = [];
    for (let k = 0; k < n; k++) {
      out.push({
        t: bounds[k]!,
        end: bounds[k + 1]!,
        value: roundTo(sums[k]!, decimals[k]!),
        exact: exactAt(bounds[k]!) && exactAt(bounds[k + 1]!),
      });
    }
    return out;
  }

  /**
   * Visits the buckets of `tier` in [from, to), oldest first, then the finer tiers for the part
   * past the tier's watermark. Raw samples are visited as buckets of one.
   */
  scan(s: SeriesRow, tier: number, from: number, to: number, visit: Visit): void {
    if (from >= to) return;
    if (tier === 0) {
      this.#scanRaw(s, from, to, visit);
      return;
    }
    const wm = tier === 1 ? s.wmMinute : tier === 2 ? s.wmHour : s.wmDay;
    const end = Math.min(to, wm);
    if (from < end) {
      const t = this.#tiers[tier]!;
      for (const block of this.#repo.blocks(s.id, tier, from, end, t.blockMs)) {
        const { times, columns } = decodeBlock(block.data, this.#scratch);
        const [count, sum, min, max, last, inc] = columns as [
          Float64Array,
          Float64Array,
          Float64Array,
          Float64Array,
          Float64Array,
          Float64Array,
        ];
        for (let i = 0; i < times.length; i++) {
          const bt = times[i]!;
          if (bt >= from && bt < end) visit(bt, count[i]!, sum[i]!, min[i]!, max[i]!, last[i]!, inc[i]!);
        }
      }
      for (const b of this.#repo.openBuckets(s.id, tier, from, end))
        visit(b.t, b.count, b.sum, b.min, b.max, b.last, b.inc);
    }
    this.scan(s, tier - 1, Math.max(from, wm), to, visit);
  }

  #scanRaw(s: SeriesRow, from: number, to: number, visit: Visit): void {
    // A counter's increase needs the reading before the first one visited: exactly known from the
    // minute watermark on (prevCounter), which is the only place energy reads raw samples.
    const exact = s.counter && from >= s.wmMinute;
    let prev: number | null = exact ? s.prevCounter : null;
    const readFrom = exact ? Math.min(from, s.wmMinute) : from;
    const emit = (t: number, v: number) => {
      // Snapped onto the readings' decimal grid: 10.002 - 10.001 is 0.001, not 0.000999...
      const inc = s.counter
        ? roundTo(counterIncrease(prev, v), Math.max(decimalsOf(v), prev === null ? 0 : decimalsOf(prev)))
        : 0;
      prev = v;
      if (t >= from) visit(t, 1, v, v, v, v, inc);
    };
    for (const block of this.#repo.blocks(s.id, 0, readFrom, to, this.#tiers[0]!.blockMs)) {
      const d = decodeBlock(block.data, this.#scratch);
      const values = d.columns[0]!;
      for (let i = 0; i < d.times.length; i++) {
        const t = d.times[i]!;
        if (t >= readFrom && t < to) emit(t, values[i]!);
      }
    }
    const open = this.#tail.samples(s.id, readFrom, to);
    for (let i = 0; i < open.times.length; i++) emit(open.times[i]!, open.values[i]!);
  }

  #chooseTier(s: SeriesRow | undefined, from: number, span: number, target: number): Tier {
    const candidates = this.#tiers.filter((t) =>
      t.id === 0 ? target < this.#tiers[1]!.bucketMs && span <= RAW_MAX_SPAN : t.bucketMs <= target,
    );
    // Nothing fine enough (a long span at many points): the minute tier, fewer points than asked.
    if (candidates.length === 0) return this.#tiers[1]!;
    if (!s) return candidates[0]!;
    let best: { tier: Tier; oldest: number } | undefined;
    for (const tier of candidates) {
      const oldest = this.oldest(s.id, tier.id) ?? Infinity;
      if (oldest <= from) return tier;
      if (!best || oldest < best.oldest) best = { tier, oldest };
    }
    return best!.tier;
  }
}

/**
 * The boundaries of the periods that overlap [from, to) in `zone`: n + 1 instants for n
 * periods, each a local midnight (of a Monday for weeks, of the 1st for months).
 */
export function periodBounds(period: Period, from: number, to: number, zone: Zone = UTC_ZONE): number[] {
  const w = zone.wall(from);
  const d = new Date(w);
  let wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (period === 'week') wall -= ((d.getUTCDay() + 6) % 7) * DAY; // ISO weeks start on Monday
  if (period === 'month') wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const out = [zone.instant(wall)];
  while (out[out.length - 1]! < to && out.length <= MAX_PERIODS + 1) {
    const c = new Date(wall);
    wall =
      period === 'day'
        ? wall + DAY
        : period === 'week'
          ? wall + 7 * DAY
          : Date.UTC(c.getUTCFullYear(), c.getUTCMonth() + 1, 1);
    out.push(zone.instant(wall));
  }
  return out;
}
