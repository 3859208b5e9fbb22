import type { HistoryQuery } from '../history/query.ts';
import { DAY, MINUTE } from '../history/tiers.ts';
import type { SeriesRow } from '../store/history-repo.ts';

/**
 * Standby: the power a device draws when it is plugged in and doing nothing, found from its own
 * history. The method, in words (the API and README say it the same way):
 *
 *  1. Take the mean power of every minute of the last `STANDBY_WINDOW_MS` (7 days).
 *  2. Leave out the minutes below `OFF_BELOW_W` (0.2 W): the plug's relay was off or the
 *     appliance draws nothing; that is not standby, there is nothing to save.
 *  3. If half the minutes or more read under it, the device's idle state is off: 0 W (a TV or a
 *     kettle that reads 0 W between uses; measured on real traces, a TV on for 14 % of its
 *     minutes would otherwise get its picture-on power as standby).
 *  4. Otherwise standby is the `PERCENTILE` (10th) percentile of the drawing minutes: the level
 *     the device sits at when idle, below its active use, and above the odd minute half spent in
 *     a switch-off. A low percentile rather than the minimum, so one glitchy reading cannot set it.
 *
 * The yearly figure treats standby as a base load, drawn every hour of the year (it is part of
 * the draw while active too): kWh/year = W × 8766 h / 1000.
 */
export const STANDBY_WINDOW_MS = 7 * DAY;
export const OFF_BELOW_W = 0.2;
export const MIN_DRAWING_SHARE = 0.5;
export const PERCENTILE = 0.1;
/** At least this much history (6 h of minutes) before a device gets a figure. */
export const MIN_MINUTES = 360;
export const HOURS_PER_YEAR = 8766;

export interface StandbyEstimate {
  watts: number;
  /** Minutes of history looked at, and how many of them drew power. */
  minutes: number;
  drawingMinutes: number;
}

/** The estimate from per-minute mean powers (NaN for a minute without readings). */
export function estimateStandby(minuteMeans: Float64Array): StandbyEstimate | null {
  const drawing: number[] = [];
  let minutes = 0;
  for (const w of minuteMeans) {
    if (Number.isNaN(w)) continue;
    minutes++;
    if (w >= OFF_BELOW_W) drawing.push(w);
  }
  if (minutes < MIN_MINUTES) return null;
  if (drawing.length <= minutes * MIN_DRAWING_SHARE) return { watts: 0, minutes, drawingMinutes: drawing.length };
  const sorted = Float64Array.from(drawing).sort();
  const watts = sorted[Math.floor(PERCENTILE * (sorted.length - 1))]!;
  return { watts: Math.round(watts * 10) / 10, minutes, drawingMinutes: drawing.length };
}

/**
 * The mean power of each minute of [to - STANDBY_WINDOW_MS, to) of a power series: the minute
 * tier's buckets, and the raw samples past its watermark grouped by minute.
 */
export function minuteMeans(query: Pick<HistoryQuery, 'scan'>, s: SeriesRow, to: number): Float64Array {
  const from = Math.floor((to - STANDBY_WINDOW_MS) / MINUTE) * MINUTE;
  const n = Math.ceil((to - from) / MINUTE);
  const sums = new Float64Array(n);
  const counts = new Float64Array(n);
  query.scan(s, 1, from, to, (t, count, sum) => {
    const i = Math.floor((t - from) / MINUTE);
    if (i < 0 || i >= n) return;
    sums[i]! += sum;
    counts[i]! += count;
  });
  for (let i = 0; i < n; i++) sums[i] = counts[i]! > 0 ? sums[i]! / counts[i]! : Number.NaN;
  return sums;
}
