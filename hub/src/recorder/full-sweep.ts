import { existsSync, opendirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { RecorderRepo } from '../store/recorder-repo.ts';
import { EXPORTS_DIR, INCOMING_DIR } from './segment-layout.ts';

/** Rows stat'ed or directory entries looked up per step: a few ms of work on a Pi. */
export const SWEEP_CHUNK = 200;
/** Pause between steps: recording and the API get the event loop in between. */
export const SWEEP_PAUSE_MS = 500;
/** A full sweep runs after every start and then once a day. */
export const SWEEP_EVERY_MS = 86_400_000;

/**
 * The whole index against the whole disk, in small synchronous steps: every row's file is
 * looked for, and every file in a camera's directories must have a row. The start-up reconcile
 * only checks what a crash can have touched; this catches the rest (a file deleted by hand, a
 * power loss older than the margin, a clock that jumped back). Each step is synchronous, so a
 * segment being indexed (row, then move) is never seen half-done.
 */
export class FullSweep {
  readonly #repo: RecorderRepo;
  readonly #root: string;
  readonly #clock: Clock;
  readonly #log: Logger;
  #steps: Generator<void> | undefined;
  #timer: TimerHandle | undefined;
  rowsDropped = 0;
  filesRemoved = 0;
  /** Completed sweeps (tests wait for one). */
  completed = 0;

  constructor(deps: { repo: RecorderRepo; root: string; clock: Clock; log: Logger }) {
    this.#repo = deps.repo;
    this.#root = deps.root;
    this.#clock = deps.clock;
    this.#log = deps.log;
  }

  start(delayMs = SWEEP_PAUSE_MS): void {
    this.stop();
    this.#timer = this.#clock.setTimeout(() => this.#step(), delayMs);
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#steps?.return(undefined); // closes an open directory handle
    this.#steps = undefined;
  }

  #step(): void {
    this.#steps ??= this.#sweep();
    let done = false;
    try {
      done = this.#steps.next().done === true;
    } catch (err) {
      this.#log.warn({ err }, 'recordings sweep step failed; starting over later');
      done = true;
    }
    if (!done) {
      this.#timer = this.#clock.setTimeout(() => this.#step(), SWEEP_PAUSE_MS);
      return;
    }
    this.#steps = undefined;
    this.completed++;
    if (this.rowsDropped || this.filesRemoved)
      this.#log.warn(
        { rowsDropped: this.rowsDropped, filesRemoved: this.filesRemoved },
        'recordings sweep fixed the index',
      );
    this.#timer = this.#clock.setTimeout(() => this.#step(), SWEEP_EVERY_MS);
  }

  *#sweep(): Generator<void> {
    this.rowsDropped = 0;
    this.filesRemoved = 0;
    for (const camera of this.#repo.listCameras()) {
      for (let after = 0; ; ) {
        // Read per step: a camera removed meanwhile simply has no rows left.
        const rows = this.#repo.segmentsAfterId(camera.id, after, SWEEP_CHUNK);
        for (const row of rows) {
          if (existsSync(join(this.#root, row.path))) continue;
          this.#repo.deleteSegment(row.id);
          this.rowsDropped++;
        }
        if (rows.length < SWEEP_CHUNK) break;
        after = rows.at(-1)!.id;
        yield;
      }
      yield* this.#files(camera.id, '');
    }
  }

  /** Every file under `<camera>/<sub>` must have a row; subdirectories (days) are walked too. */
  *#files(cameraId: string, sub: string): Generator<void> {
    const rel = sub ? `${cameraId}/${sub}` : cameraId;
    if (!existsSync(join(this.#root, rel))) return;
    const dir = opendirSync(join(this.#root, rel));
    const subdirs: string[] = [];
    try {
      for (let n = 0; ; n++) {
        const entry = dir.readSync();
        if (!entry) break;
        if (entry.isDirectory()) {
          // incoming/ and exports/ are the recorder's working files, never indexed.
          if (!sub && entry.name !== INCOMING_DIR && entry.name !== EXPORTS_DIR) subdirs.push(entry.name);
        } else if (!this.#repo.hasSegmentPath(`${rel}/${entry.name}`)) {
          rmSync(join(this.#root, rel, entry.name), { force: true });
          this.filesRemoved++;
        }
        if (n % SWEEP_CHUNK === SWEEP_CHUNK - 1) yield;
      }
    } finally {
      dir.closeSync();
    }
    yield; // a directory per step at least
    for (const day of subdirs) yield* this.#files(cameraId, day);
  }
}
