/**
 * Appliance cycles from a plug's power readings: a washing machine's programme, a dishwasher's,
 * a kettle boiling. Hysteresis segmentation, explainable in a sentence each:
 *
 *  - Thresholds from the device's own idle level (its standby, `standby.ts`; 0 W if unknown):
 *    a cycle needs the power to reach `idle + ON_ABOVE_W` (10 W) and lasts while it stays at or
 *    above `idle + OFF_ABOVE_W` (3 W): the gap between the two keeps a noisy edge from starting
 *    and ending cycles over and over.
 *  - It starts at the first reading at or above the lower threshold in the run that reached the
 *    upper one (when the device left idle, not when it began to heat).
 *  - It ends at the first reading of a stretch below the lower threshold lasting `QUIET_MS`
 *    (5 min): a washing machine soaking or a dishwasher between wash and rinse draws little for
 *    a minute or two and is still in its programme. So a cycle is known finished 5 min after it
 *    ended; one still running at the end of the data is not reported.
 *  - Energy is the readings integrated over time (each reading held until the next, at most
 *    `MAX_HOLD_MS`, so a gap in the data adds nothing made up); peak is the highest reading.
 *    Cycles under `MIN_ENERGY_WH` (1 Wh: a spike) are dropped.
 */
export const ON_ABOVE_W = 10;
export const OFF_ABOVE_W = 3;
export const QUIET_MS = 5 * 60_000;
export const MAX_HOLD_MS = 60_000;
export const MIN_ENERGY_WH = 1;

export interface Cycle {
  start: number;
  end: number;
  energyWh: number;
  peakW: number;
}

/**
 * Finds the finished cycles in readings (time order). `times`/`watts` may be raw samples or
 * minute means; `idleW` is the device's idle level.
 */
export function detectCycles(times: ArrayLike<number>, watts: ArrayLike<number>, idleW = 0): Cycle[] {
  const on = idleW + ON_ABOVE_W;
  const off = idleW + OFF_ABOVE_W;
  const out: Cycle[] = [];
  // The current run of readings at or above `off`, and whether it reached `on`.
  let runStart = -1;
  let reached = false;
  let energy = 0;
  let peak = 0;
  let quietSince = -1;
  let energyAtQuiet = 0;
  const n = times.length;
  for (let i = 0; i < n; i++) {
    const t = times[i]!;
    const w = watts[i]!;
    const next = i + 1 < n ? times[i + 1]! : t;
    const held = Math.min(next - t, MAX_HOLD_MS);
    if (w >= off) {
      if (runStart < 0) {
        runStart = t;
        reached = false;
        energy = 0;
        peak = 0;
      }
      quietSince = -1;
      if (w >= on) reached = true;
      energy += (w * held) / 3_600_000;
      if (w > peak) peak = w;
      continue;
    }
    if (runStart < 0) continue;
    if (!reached) {
      // A wobble above the lower threshold that never became a cycle.
      runStart = -1;
      continue;
    }
    if (quietSince < 0) {
      quietSince = t;
      energyAtQuiet = energy;
    }
    // A lull counts in the cycle if the cycle goes on after it; not the quiet after its end.
    energy += (w * held) / 3_600_000;
    if (t - quietSince >= QUIET_MS) {
      if (energyAtQuiet >= MIN_ENERGY_WH)
        out.push({ start: runStart, end: quietSince, energyWh: Math.round(energyAtQuiet * 10) / 10, peakW: peak });
      runStart = -1;
      quietSince = -1;
    }
  }
  return out;
}
