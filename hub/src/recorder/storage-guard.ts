import type { EventBus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { CameraRow, RecorderRepo } from '../store/recorder-repo.ts';
import type { RecorderConfig } from './recorder-config.ts';
import type { RecordingsStorage } from './storage.ts';

/** The alert a camera carries while the volume is at its floor and nothing is written. */
export const STORAGE_FULL = 'recorder_storage_full';
/** Open segments are reserved at this many times the largest recent segment of their camera. */
const RESERVE_FACTOR = 2;
const RECENT_SEGMENTS = 5;
/** Once stopped at the floor, writing resumes when this much more than the floor is free. */
const MIN_RESUME_MARGIN = 1024 * 1024;

export interface StorageView {
  usedBytes: number;
  freeBytes: number;
  budgetBytes: number;
  minFreeBytes: number;
  /** Held back for the segments being written. */
  reservedBytes: number;
  /** Playback/export files on disk now, and their own budget (they only use space above the floor). */
  exportBytes: number;
  exportBudgetBytes: number;
  alert: { code: string; since: string } | null;
}

export interface StorageGuardDeps {
  repo: RecorderRepo;
  storage: RecordingsStorage;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  config: RecorderConfig;
  /** The cameras whose recorder runs now (their open segments are reserved). */
  recording: () => string[];
  stopCamera: (id: string) => Promise<void>;
  startCamera: (camera: CameraRow) => void;
  /** The volume reached its floor or left it: maintenance runs at another pace. */
  onFullChange: () => void;
  /** The playback/export files: a cache, never a reason to remove footage (see RangeExporter). */
  exports: { bytesOnDisk(): number; reclaim(): number; budgetBytes: number };
}

/**
 * The budget and the free-space floor: evicts the oldest footage to stay within them, reserves
 * room for the segments being written, and at the floor with nothing left to remove stops every
 * camera (alert `recorder_storage_full` on the timeline) until space returns.
 */
export class StorageGuard {
  readonly #d: StorageGuardDeps;
  /** Sizes of each camera's last segments: what its open segment is expected to reach. */
  readonly #recentSizes = new Map<string, number[]>();
  /** Since when the volume is at its floor (recording stopped), or undefined. */
  #fullSince: number | undefined;

  constructor(deps: StorageGuardDeps) {
    this.#d = deps;
  }

  /** True while the volume is at its floor and nothing records. */
  get full(): boolean {
    return this.#fullSince !== undefined;
  }

  /** A closed segment's size: what the camera's next open segment is expected to reach. */
  noteSegment(cameraId: string, bytes: number): void {
    const sizes = this.#recentSizes.get(cameraId) ?? [];
    sizes.push(bytes);
    if (sizes.length > RECENT_SEGMENTS) sizes.shift();
    this.#recentSizes.set(cameraId, sizes);
  }

  forget(cameraId: string): void {
    this.#recentSizes.delete(cameraId);
  }

  /** The storage figures and the alert, if any. */
  view(): StorageView {
    return {
      usedBytes: this.#d.repo.totalBytes(),
      freeBytes: this.#d.storage.free(),
      budgetBytes: this.#d.config.budgetBytes,
      minFreeBytes: this.#d.config.minFreeBytes,
      reservedBytes: this.#reserveBytes(),
      exportBytes: this.#d.exports.bytesOnDisk(),
      exportBudgetBytes: this.#d.exports.budgetBytes,
      alert: this.alert(),
    };
  }

  alert(): { code: string; since: string } | null {
    return this.#fullSince === undefined
      ? null
      : { code: STORAGE_FULL, since: new Date(this.#fullSince).toISOString() };
  }

  /** What the open segments are expected to add before they are indexed. */
  reservedBytes(): number {
    return this.#reserveBytes();
  }

  /**
   * Budget and floor; stops every recorder at the floor and restarts them when space returns.
   * Export files never cost footage: short of the floor, the finished ones go first, and what
   * remains (runs still writing, each admitted only with room above the floor) counts as free.
   */
  enforce(): { evicted: number } {
    const c = this.#d.config;
    const { exports, storage } = this.#d;
    if (exports.bytesOnDisk() > 0 && storage.free() < c.minFreeBytes) {
      const freed = exports.reclaim();
      if (freed)
        this.#d.log.info({ freedBytes: freed }, 'playback files removed: the recordings volume is short of its floor');
    }
    const check = storage.enforce(
      { budgetBytes: c.budgetBytes, minFreeBytes: c.minFreeBytes },
      this.#reserveBytes(),
      exports.bytesOnDisk(),
    );
    if (check.evicted)
      this.#d.log.info(
        { evicted: check.evicted, usedBytes: check.usedBytes, freeBytes: check.freeBytes },
        'oldest recordings removed for the storage limits',
      );
    if (this.#fullSince === undefined && check.atFloor) this.#storageFull(check.freeBytes);
    else if (
      this.#fullSince !== undefined &&
      check.freeBytes >= c.minFreeBytes + Math.max(MIN_RESUME_MARGIN, this.#reserveBytes(true))
    )
      this.#storageAvailable(check.freeBytes);
    return { evicted: check.evicted };
  }

  #storageFull(freeBytes: number): void {
    const { repo, bus, clock, log, config } = this.#d;
    const now = clock.now();
    this.#fullSince = now;
    log.error(
      { freeBytes, minFreeBytes: config.minFreeBytes, code: STORAGE_FULL },
      'recordings volume at its free-space floor with no recordings left to remove: recording stopped',
    );
    for (const camera of repo.listCameras()) {
      repo.insertEvent(camera.id, now, 'storage_full', {
        code: STORAGE_FULL,
        freeBytes,
        minFreeBytes: config.minFreeBytes,
      });
      bus.emit('recording.event', { cameraId: camera.id, kind: 'storage_full', at: now });
      void this.#d.stopCamera(camera.id);
    }
    this.#d.onFullChange();
  }

  #storageAvailable(freeBytes: number): void {
    const { repo, bus, clock, log } = this.#d;
    const now = clock.now();
    this.#fullSince = undefined;
    log.info({ freeBytes }, 'space on the recordings volume again: recording resumes');
    for (const camera of repo.listCameras()) {
      repo.insertEvent(camera.id, now, 'storage_ok', { freeBytes });
      bus.emit('recording.event', { cameraId: camera.id, kind: 'storage_ok', at: now });
      this.#d.startCamera(camera);
    }
    this.#d.onFullChange();
  }

  /**
   * What the open segments will add before they are indexed: twice the largest recent segment
   * of each recording camera. `all` counts every camera that would record (for resuming).
   */
  #reserveBytes(all = false): number {
    let n = 0;
    const ids = all
      ? this.#d.repo
          .listCameras()
          .filter((c) => c.mode !== 'off')
          .map((c) => c.id)
      : this.#d.recording();
    for (const id of ids) n += RESERVE_FACTOR * Math.max(0, ...(this.#recentSizes.get(id) ?? []));
    return n;
  }
}
