import type { EventBus } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { type CycleChange, CycleTracker } from './cycles.ts';

const OWNER = 'energy.cycles';
/** How often a quiet stretch is checked when no reading comes (a plug that reports on change). */
export const TICK_MS = 30_000;
/** A device's idle level is looked up again after this long (it is a 7-day statistic). */
export const IDLE_REFRESH_MS = 3_600_000;

export interface LiveCyclesDeps {
  bus: EventBus;
  clock: Clock;
  log: Logger;
  /** The device's idle level in W (its standby), or null when not known yet. */
  idleW: (deviceId: string) => number | null;
}

interface Live {
  tracker: CycleTracker;
  idleAt: number;
}

/**
 * Appliance cycles as they happen: every device's power readings (`telemetry.sample`) go through
 * its own CycleTracker (cycles.ts, the same segmentation as GET /energy/cycles), and each start
 * and end is announced on the bus as `energy.cycle`, which rules turn into `cycle_started` and
 * `cycle_finished` ("the washing is done"). One small tracker per device with a power reading
 * (bounded by the devices); its thresholds follow the device's idle level (its standby), looked
 * up hourly, and are kept while a cycle runs.
 */
export class LiveCycles {
  readonly #deps: LiveCyclesDeps;
  readonly #live = new Map<string, Live>();
  #timer: TimerHandle | undefined;

  constructor(deps: LiveCyclesDeps) {
    this.#deps = deps;
  }

  start(): void {
    const { bus, clock } = this.#deps;
    bus.on(OWNER, 'telemetry.sample', (e) => {
      if (e.capability !== 'power') return;
      const live = this.#tracker(e.deviceId, e.at);
      this.#announce(e.deviceId, live.tracker.push(e.at, e.value));
    });
    bus.on(OWNER, 'device.removed', (e) => {
      this.#live.delete(e.deviceId);
    });
    this.#timer = clock.setInterval(() => {
      const now = clock.now();
      for (const [id, live] of this.#live) this.#announce(id, live.tracker.tick(now));
    }, TICK_MS);
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#deps.bus.offOwner(OWNER);
    this.#live.clear();
  }

  #tracker(deviceId: string, now: number): Live {
    let live = this.#live.get(deviceId);
    if (live && (live.tracker.running || now - live.idleAt < IDLE_REFRESH_MS)) return live;
    let idle = 0;
    try {
      idle = this.#deps.idleW(deviceId) ?? 0;
    } catch (err) {
      this.#deps.log.warn({ err, deviceId }, "cycles: the device's idle level could not be read");
    }
    // A fresh tracker with the new thresholds; none was running (checked above).
    live = { tracker: new CycleTracker(idle), idleAt: now };
    this.#live.set(deviceId, live);
    return live;
  }

  #announce(deviceId: string, change: CycleChange | undefined): void {
    if (!change) return;
    const at = this.#deps.clock.now();
    if (change.phase === 'started')
      this.#deps.bus.emit('energy.cycle', { deviceId, phase: 'started', start: change.start, at });
    else
      this.#deps.bus.emit('energy.cycle', {
        deviceId,
        phase: 'finished',
        start: change.start,
        end: change.end,
        energyWh: change.energyWh,
        peakW: change.peakW,
        at,
      });
  }
}
