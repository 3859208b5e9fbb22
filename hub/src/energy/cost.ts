import type { HistoryQuery } from '../history/query.ts';
import { DAY, HOUR, MINUTE } from '../history/tiers.ts';
import type { SeriesRow } from '../store/history-repo.ts';
import type { PriceTimeline } from './price-timeline.ts';

/** Energy (kWh) and its cost per period of one meter, from its counter's increases. */
export interface PeriodSums {
  kWh: Float64Array;
  cost: Float64Array;
  /** 1 where some of the period's energy fell where no tariff was in force: its cost is unknown. */
  unpriced: Uint8Array;
  /** 1 where a bucket straddled a price change and its energy was split by time. */
  prorated: Uint8Array;
  /**
   * 1 where the period was read in part from the day tier (older than the hour tier's data, a
   * year back): UTC days, so energy near the period's local bounds may sit in the next period.
   */
  approximate: Uint8Array;
}

export function emptySums(n: number): PeriodSums {
  return {
    kWh: new Float64Array(n),
    cost: new Float64Array(n),
    unpriced: new Uint8Array(n),
    prorated: new Uint8Array(n),
    approximate: new Uint8Array(n),
  };
}

/**
 * Sums a counter's increases into the periods `bounds` (n + 1 instants) and prices them on the
 * timeline. The hour tier is read (kept a year), then the finer tiers past its watermark, so the
 * sums reach the present and each increase counts once; before the hour tier's oldest data, the
 * day tier (UTC days), up to a whole day where the hours take over, as `/energy` does. An increase
 * counts in the period its bucket starts in (as `/energy` counts it) and is priced at the bucket's
 * start, or, when a price change falls inside the bucket (a window at :30, a half-hour zone, a
 * day bucket), its energy is split in proportion to time and the period marked `prorated`.
 */
export function sumPeriods(
  query: Pick<HistoryQuery, 'scan' | 'oldest'>,
  s: SeriesRow,
  bounds: number[],
  hi: number,
  tl: PriceTimeline,
  out: PeriodSums = emptySums(bounds.length - 1),
): PeriodSums {
  const n = bounds.length - 1;
  if (n <= 0) return out;
  const lo = bounds[0]!;
  let i = 0;
  let k = 0;
  const { starts, prices } = tl;
  const add = (t: number, inc: number, width: number) => {
    if (inc === 0) return;
    while (i + 1 < n && t >= bounds[i + 1]!) i++;
    if (t < bounds[i]!) return;
    while (k + 1 < starts.length && starts[k + 1]! <= t) k++;
    out.kWh[i]! += inc;
    if (width === DAY) out.approximate[i] = 1;
    let j = k;
    if (width === 0 || j + 1 >= starts.length || starts[j + 1]! >= t + width) {
      const p = prices[j]!;
      if (Number.isNaN(p)) out.unpriced[i] = 1;
      else out.cost[i]! += inc * p;
      return;
    }
    out.prorated[i] = 1;
    const end = t + width;
    let from = t;
    while (from < end) {
      const to = Math.min(end, starts[j + 1] ?? end);
      const p = prices[j]!;
      if (Number.isNaN(p)) out.unpriced[i] = 1;
      else out.cost[i]! += ((inc * (to - from)) / width) * p;
      from = to;
      if (from < end) j++;
    }
  };
  // Before the hour tier's oldest data: whole UTC days from the day tier.
  const hourOldest = query.oldest(s.id, 2);
  let split = lo;
  if (hourOldest !== undefined && hourOldest > lo && s.wmDay > lo) {
    split = Math.min(hi, Math.ceil(hourOldest / DAY) * DAY);
    query.scan(s, 3, lo, Math.min(split, s.wmDay), (t, _count, _sum, _min, _max, _last, inc) => add(t, inc, DAY));
    split = Math.min(split, s.wmDay);
  }
  // Which tier a visit came from: scan reads hours up to the hour watermark, then minutes, then raw.
  query.scan(s, 2, split, hi, (t, _count, _sum, _min, _max, _last, inc) =>
    add(t, inc, t < s.wmHour ? HOUR : t < s.wmMinute ? MINUTE : 0),
  );
  return out;
}

/** Rounded for answers: sums of decimal readings carry float noise (0.1 + 0.2). */
export const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;
