import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { RecorderRepo } from '../store/recorder-repo.ts';
import { parseCameraSettings } from './camera-settings.ts';
import type { RangeExporter } from './export.ts';
import type { RecorderConfig } from './recorder-config.ts';
import type { StorageGuard } from './storage-guard.ts';
import type { RecordingsStorage } from './storage.ts';

export interface MaintenanceDeps {
  repo: RecorderRepo;
  storage: RecordingsStorage;
  exporter: RangeExporter;
  guard: StorageGuard;
  clock: Clock;
  log: Logger;
  config: RecorderConfig;
}

/**
 * The recordings' periodic upkeep: retention, events-mode pruning, old exports, the storage
 * limits, and the clean mark the next start-up checks from; run on a timer.
 */
export class Maintenance {
  readonly #d: MaintenanceDeps;
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(deps: MaintenanceDeps) {
    this.#d = deps;
  }

  /**
   * Retention per camera and kind (continuous after `continuousDays`, event clips after
   * `eventDays`), footage outside events for cameras in events mode, old exports, then the
   * budget and the floor. Returns how many segments retention and the budget removed.
   */
  run(): { expired: number; evicted: number } {
    const { repo, storage, exporter, guard, clock, log } = this.#d;
    const now = clock.now();
    let expired = 0;
    for (const camera of repo.listCameras()) {
      const settings = parseCameraSettings(camera.settings);
      expired += storage.expire(camera.id, now, settings);
      if (camera.mode === 'events') expired += storage.pruneOutsideEvents(camera.id, now, settings.preRollS * 1000);
    }
    exporter.sweep(now);
    const { evicted } = guard.enforce();
    this.markClean();
    if (expired) log.info({ expired }, 'recordings past their retention removed');
    return { expired, evicted };
  }

  /**
   * Records that index and files agree now for every camera. True whenever nothing is half-done:
   * a segment is indexed and moved in one synchronous step, removals go through the trash.
   */
  markClean(): void {
    const now = this.#d.clock.now();
    for (const camera of this.#d.repo.listCameras()) this.#d.repo.markClean(camera.id, now);
  }

  /** Runs are scheduled again (after a stop). */
  resume(): void {
    this.#stopped = false;
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
  }

  /** (Re)arms the timer for the next run. */
  schedule(): void {
    this.#timer?.cancel();
    if (this.#stopped) return;
    // At the floor, space is looked for every segment time: recording resumes soon after it returns.
    const ms = this.#d.guard.full ? this.#d.config.segmentSeconds * 1000 : this.#d.config.maintenanceIntervalMs;
    this.#timer = this.#d.clock.setTimeout(() => {
      this.#timer = undefined;
      try {
        this.run();
      } catch (err) {
        this.#d.log.error({ err }, 'recordings maintenance failed');
      }
      if (!this.#timer) this.schedule();
    }, ms);
  }
}
