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

/** What the tracker says as readings come: a cycle began (it reached the upper threshold) or ended. */
export type CycleChange = { phase: 'started'; start: number } | ({ phase: 'finished' } & Cycle);

/**
 * The segmentation above, one reading at a time: the same for a query over history and for the
 * live readings (rules' `cycle_started` / `cycle_finished`). A reading's energy is counted when
 * the next one arrives (held until then, at most MAX_HOLD_MS); `tick(now)` ends a cycle whose
 * quiet stretch has lasted QUIET_MS even when no reading came (a plug that reports on change).
 */
export class CycleTracker {
  readonly #on: number;
  readonly #off: number;
  #runStart = -1;
  #reached = false;
  #energy = 0;
  #peak = 0;
  #quietSince = -1;
  #energyAtQuiet = 0;
  #lastT = -1;
  #lastW = 0;

  constructor(idleW = 0) {
    this.#on = idleW + ON_ABOVE_W;
    this.#off = idleW + OFF_ABOVE_W;
  }

  /** Whether a cycle is under way (it reached the upper threshold and has not ended). */
  get running(): boolean {
    return this.#runStart >= 0 && this.#reached;
  }

  push(t: number, w: number): CycleChange | undefined {
    if (this.#lastT >= 0 && this.#runStart >= 0)
      this.#energy += (this.#lastW * Math.min(t - this.#lastT, MAX_HOLD_MS)) / 3_600_000;
    this.#lastT = t;
    this.#lastW = w;
    if (w >= this.#off) {
      let change: CycleChange | undefined;
      if (this.#runStart < 0) {
        this.#runStart = t;
        this.#reached = false;
        this.#energy = 0;
        this.#peak = 0;
      }
      this.#quietSince = -1;
      if (w >= this.#on && !this.#reached) {
        this.#reached = true;
        change = { phase: 'started', start: this.#runStart };
      }
      if (w > this.#peak) this.#peak = w;
      return change;
    }
    if (this.#runStart < 0) return undefined;
    if (!this.#reached) {
      // A wobble above the lower threshold that never became a cycle.
      this.#runStart = -1;
      return undefined;
    }
    if (this.#quietSince < 0) {
      this.#quietSince = t;
      // A lull counts in the cycle if the cycle goes on after it; not the quiet after its end.
      this.#energyAtQuiet = this.#energy;
    }
    return this.tick(t);
  }

  /** Ends the cycle if its quiet stretch has lasted QUIET_MS by `now`. */
  tick(now: number): CycleChange | undefined {
    if (this.#runStart < 0 || !this.#reached || this.#quietSince < 0 || now - this.#quietSince < QUIET_MS)
      return undefined;
    const cycle = {
      start: this.#runStart,
      end: this.#quietSince,
      energyWh: Math.round(this.#energyAtQuiet * 10) / 10,
      peakW: this.#peak,
    };
    this.#runStart = -1;
    this.#quietSince = -1;
    return cycle.energyWh >= MIN_ENERGY_WH ? { phase: 'finished', ...cycle } : undefined;
  }
}

/**
 * Finds the finished cycles in readings (time order) up to `until` (a quiet stretch reaching it
 * ends a cycle too). `times`/`watts` may be raw samples or minute means; `idleW` is the device's
 * idle level.
 */
export function detectCycles(times: ArrayLike<number>, watts: ArrayLike<number>, idleW = 0, until?: number): Cycle[] {
  const tracker = new CycleTracker(idleW);
  const out: Cycle[] = [];
  const keep = (c: CycleChange | undefined) => {
    if (c?.phase === 'finished') out.push({ start: c.start, end: c.end, energyWh: c.energyWh, peakW: c.peakW });
  };
  for (let i = 0; i < times.length; i++) keep(tracker.push(times[i]!, watts[i]!));
  if (until !== undefined) keep(tracker.tick(until));
  return out;
}
