import { rmdirSync, rmSync, statfsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { RecorderRepo, SegmentRow } from '../store/recorder-repo.ts';
import { isDayDir } from './segment-layout.ts';

const DAY_MS = 86_400_000;
/** Rows (and files) handled per statement: bounded work per step on an SD card. */
const BATCH = 50;

export interface StorageLimits {
  /** Most bytes all segments may take, counting the ones being written; 0 = no byte limit. */
  budgetBytes: number;
  /** Free space the volume keeps; below it with nothing left to remove, recording stops. */
  minFreeBytes: number;
}

export interface StorageCheck {
  evicted: number;
  usedBytes: number;
  freeBytes: number;
  /** Below the free-space floor with none of our footage left to remove. */
  atFloor: boolean;
}

/**
 * Keeps the recordings within their limits. A removal deletes the rows and lists their paths as
 * trash in one transaction, then deletes the files, then the trash entries: a crash in between
 * leaves trash that the next start removes (a few paths), never a row naming a missing file.
 */
export class RecordingsStorage {
  readonly #repo: RecorderRepo;
  readonly #root: string;
  readonly #freeBytes: (dir: string) => number;

  constructor(repo: RecorderRepo, root: string, freeBytes: (dir: string) => number = freeBytesOf) {
    this.#repo = repo;
    this.#root = root;
    this.#freeBytes = freeBytes;
  }

  free(): number {
    return this.#freeBytes(this.#root);
  }

  /** Retention of one camera: continuous and event footage each after their own days. */
  expire(cameraId: string, now: number, days: { continuousDays: number; eventDays: number }): number {
    let n = this.#removeWhile(() =>
      this.#repo.segmentsOfKindEndedBefore(cameraId, false, now - days.continuousDays * DAY_MS, BATCH),
    );
    n += this.#removeWhile(() =>
      this.#repo.segmentsOfKindEndedBefore(cameraId, true, now - days.eventDays * DAY_MS, BATCH),
    );
    this.#repo.deleteClipsEndedBefore(cameraId, now - days.eventDays * DAY_MS);
    return n;
  }

  /**
   * Events-only mode: footage outside every clip is only pre-roll for an event that has not
   * happened yet, so it goes once it ended more than the pre-roll ago.
   */
  pruneOutsideEvents(cameraId: string, now: number, preRollMs: number): number {
    return this.#removeWhile(() => this.#repo.segmentsOfKindEndedBefore(cameraId, false, now - preRollMs, BATCH));
  }

  /**
   * The budget and the floor: while the segments plus `reserveBytes` (what the open segments
   * will add before they are indexed) exceed the budget, or the volume has less than the floor
   * free, the oldest continuous segment goes, across cameras; event segments only after all
   * continuous ones. `exportBytes` (playback files, a cache the exporter empties first and only
   * ever builds above the floor) count as free: an export is never why footage goes.
   */
  enforce(limits: StorageLimits, reserveBytes: number, exportBytes = 0): StorageCheck {
    let used = this.#repo.totalBytes();
    let free = this.free() + exportBytes;
    let evicted = 0;
    const over = () =>
      (limits.budgetBytes > 0 && used + reserveBytes > limits.budgetBytes) || free < limits.minFreeBytes;
    while (over()) {
      const batch = this.#repo.oldestSegments(BATCH);
      if (batch.length === 0) break;
      for (const s of batch) {
        if (!over()) break;
        this.remove(s);
        used -= s.bytes;
        free += s.bytes;
        evicted++;
      }
    }
    return { evicted, usedBytes: used, freeBytes: free, atFloor: free < limits.minFreeBytes };
  }

  remove(s: Pick<SegmentRow, 'id' | 'path'>): void {
    this.removeAll([s]);
  }

  removeAll(segments: Pick<SegmentRow, 'id' | 'path'>[]): void {
    const paths = this.#repo.trashSegments(segments.map((s) => s.id));
    removeSegmentFiles(this.#root, paths);
    this.#repo.clearTrash(paths);
  }

  #removeWhile(next: () => SegmentRow[]): number {
    let n = 0;
    for (;;) {
      const batch = next();
      if (batch.length) this.removeAll(batch);
      n += batch.length;
      if (batch.length < BATCH) return n;
    }
  }
}

/** Deletes segment files (relative to `root`) and a day directory once its last file is gone. */
export function removeSegmentFiles(root: string, paths: string[]): void {
  for (const path of paths) {
    const file = join(root, path);
    rmSync(file, { force: true });
    const dir = dirname(file);
    if (!isDayDir(basename(dir))) continue;
    try {
      rmdirSync(dir); // only succeeds when empty: one cheap call instead of listing the day
    } catch {
      /* not empty (or gone already) */
    }
  }
}

function freeBytesOf(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}
