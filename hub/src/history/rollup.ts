import { decimalsOf, roundTo, UNSCALED } from './codec/decimals.ts';

/** One rollup bucket: what the minute, hour and day tiers keep per series and bucket. */
export interface Bucket {
  t: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  /** A counter's increase within the bucket; 0 for gauges. */
  inc: number;
}

/**
 * A counter's increase from `prev` to `v`. A drop means the meter restarted from zero (a plug
 * reboot), so the new reading itself is the increase since the reset. The first reading ever has
 * nothing to compare with and adds nothing.
 */
export function counterIncrease(prev: number | null, v: number): number {
  if (prev === null) return 0;
  return v >= prev ? v - prev : v;
}

/** Keeps the largest number of decimals seen, so sums can be snapped back onto that grid. */
function moreDecimals(d: number, v: number): number {
  if (d === UNSCALED) return d;
  const k = decimalsOf(v);
  return Math.max(k, d);
}

/**
 * Rolls time-ordered raw samples into buckets of `bucketMs`. For counters, `prev` is the last
 * reading before these samples; the returned `prev` is the last one of them.
 */
export function rollSamples(
  times: ArrayLike<number>,
  values: ArrayLike<number>,
  bucketMs: number,
  counter: boolean,
  prev: number | null,
): { buckets: Bucket[]; prev: number | null } {
  const buckets: Bucket[] = [];
  let cur: Bucket | undefined;
  let decimals = 0;
  const close = () => {
    if (!cur) return;
    cur.sum = roundTo(cur.sum, decimals);
    cur.inc = roundTo(cur.inc, decimals);
    buckets.push(cur);
  };
  for (let i = 0; i < times.length; i++) {
    const t = times[i]!;
    const v = values[i]!;
    const bt = Math.floor(t / bucketMs) * bucketMs;
    if (!cur || cur.t !== bt) {
      close();
      cur = { t: bt, count: 0, sum: 0, min: v, max: v, last: v, inc: 0 };
      decimals = 0;
    }
    decimals = moreDecimals(decimals, v);
    cur.count++;
    cur.sum += v;
    if (v < cur.min) cur.min = v;
    if (v > cur.max) cur.max = v;
    cur.last = v;
    if (counter) {
      // The increase has the decimals of both readings (101 - 100.5).
      if (prev !== null) decimals = moreDecimals(decimals, prev);
      cur.inc += counterIncrease(prev, v);
      prev = v;
    }
  }
  close();
  return { buckets, prev };
}

/** Rolls time-ordered buckets of a finer tier into buckets of `bucketMs`. Exact for sums. */
export function rollBuckets(rows: Bucket[], bucketMs: number): Bucket[] {
  const out: Bucket[] = [];
  let cur: Bucket | undefined;
  let decimals = 0;
  const close = () => {
    if (!cur) return;
    cur.sum = roundTo(cur.sum, decimals);
    cur.inc = roundTo(cur.inc, decimals);
    out.push(cur);
  };
  for (const row of rows) {
    const bt = Math.floor(row.t / bucketMs) * bucketMs;
    if (!cur || cur.t !== bt) {
      close();
      cur = { t: bt, count: 0, sum: 0, min: row.min, max: row.max, last: row.last, inc: 0 };
      decimals = 0;
    }
    decimals = moreDecimals(moreDecimals(decimals, row.sum), row.inc);
    cur.count += row.count;
    cur.sum += row.sum;
    cur.inc += row.inc;
    if (row.min < cur.min) cur.min = row.min;
    if (row.max > cur.max) cur.max = row.max;
    cur.last = row.last;
  }
  close();
  return out;
}

/** Column order of rollup blocks (codec/block.ts). */
export const BUCKET_COLUMNS = ['count', 'sum', 'min', 'max', 'last', 'inc'] as const;

export function bucketsToColumns(rows: Bucket[]): { times: number[]; columns: number[][] } {
  const times = rows.map((r) => r.t);
  const columns = BUCKET_COLUMNS.map((c) => rows.map((r) => r[c]));
  return { times, columns };
}

export function columnsToBuckets(times: ArrayLike<number>, columns: ArrayLike<number>[]): Bucket[] {
  const out: Bucket[] = [];
  const [count, sum, min, max, last, inc] = columns as [
    ArrayLike<number>,
    ArrayLike<number>,
    ArrayLike<number>,
    ArrayLike<number>,
    ArrayLike<number>,
    ArrayLike<number>,
  ];
  for (let i = 0; i < times.length; i++) {
    out.push({
      t: times[i]!,
      count: count[i]!,
      sum: sum[i]!,
      min: min[i]!,
      max: max[i]!,
      last: last[i]!,
      inc: inc[i]!,
    });
  }
  return out;
}
