import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { DevicesRepo, StateRow } from '../store/devices-repo.ts';

/**
 * The latest telemetry readings (power, voltage, energy...) of every device, written to
 * `device_state` in one transaction per `flushMs` instead of one per reading: a plug reports
 * four of them every second, and a row written each time was half of what the hub wrote to its
 * SD card (issue 13, docs/writes.md). Only the last value of each (device, capability) is
 * written. Memory stays the read path; a power cut loses at most `flushMs` of these rows, the
 * same loss window as the history samples (history.flushIntervalMs), and the device reports them
 * again within seconds. Discrete state (switch, contact...) is still written at once.
 */
export class TelemetryStateWriter {
  readonly #repo: DevicesRepo;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #flushMs: number;
  readonly #dirty = new Map<string, StateRow>();
  #timer: TimerHandle | undefined;

  constructor(repo: DevicesRepo, clock: Clock, log: Logger, flushMs: number) {
    this.#repo = repo;
    this.#clock = clock;
    this.#log = log;
    this.#flushMs = flushMs;
  }

  /** Notes the newest reading; it is written with the next batch. */
  mark(row: StateRow): void {
    this.#dirty.set(`${row.deviceId}\u0000${row.capability}`, row);
    this.#timer ??= this.#clock.setTimeout(() => this.flush(), this.#flushMs);
  }

  /** Forgets a removed device's readings (its rows are gone with it). */
  forget(deviceId: string): void {
    for (const [key, row] of this.#dirty) if (row.deviceId === deviceId) this.#dirty.delete(key);
  }

  /** Writes every noted reading in one transaction; called by the timer and on stop. */
  flush(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#dirty.size === 0) return;
    const rows = [...this.#dirty.values()];
    this.#dirty.clear();
    try {
      this.#repo.saveStates(rows);
    } catch (err) {
      // Newer readings come within seconds and memory keeps serving the API: log, do not retry.
      this.#log.error({ err, rows: rows.length }, 'telemetry state rows not written');
    }
  }

  get pending(): number {
    return this.#dirty.size;
  }
}
