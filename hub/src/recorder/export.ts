import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { SegmentRow } from '../store/recorder-repo.ts';
import { isSafeRelativePath } from './ffconcat.ts';
import { ffmpegCommand } from './ffmpeg-process.ts';
import { ExportSlots } from './export-slots.ts';
import { EXPORTS_DIR } from './segment-layout.ts';

/** Longest range one playback or export may span (an hour of a 4 Mbit/s camera is ~1.8 GB). */
export const MAX_EXPORT_MS = 3_600_000;
/** An export file unused this long is removed (a player seeks in it with Range requests meanwhile). */
export const EXPORT_TTL_MS = 10 * 60_000;
/** Built files kept for repeated ranges; the least recently used beyond go. */
const MAX_CACHED_FILES = 32;
/** An export ffmpeg still running after this long (a stuck disk) is killed and its slot freed. */
const EXPORT_TIMEOUT_MS = 10 * 60_000;
const PREFIX = '.export-';

/** The step ranges are rounded out to: far below a keyframe interval (where copy cuts land). */
export const RANGE_STEP_MS = 100;

/**
 * A range rounded out to `RANGE_STEP_MS`: requests a few milliseconds apart (a player's clock,
 * ms-shifted copies of one URL) get the same file instead of an ffmpeg run each, and the answer
 * stays within a tenth of a second of what was asked.
 */
export function roundOutRange(from: number, to: number): { from: number; to: number } {
  return { from: Math.floor(from / RANGE_STEP_MS) * RANGE_STEP_MS, to: Math.ceil(to / RANGE_STEP_MS) * RANGE_STEP_MS };
}

export interface ExportedFile {
  path: string;
  bytes: number;
}

export interface ExportRequest {
  cameraId: string;
  from: number;
  to: number;
  /** The segments overlapping [from, to), oldest first. */
  segments: SegmentRow[];
  /** Whose bound the ffmpeg run counts against (a user id). */
  user: string;
}

export interface ExportLimits {
  perUser: number;
  total: number;
  /** Most bytes all export files together may take. */
  budgetBytes: number;
}

export interface RangeExporterDeps {
  root: string;
  log: Logger;
  /** Stamps each file's last use; `sweep` compares against the same clock. */
  clock: Clock;
  limits: ExportLimits;
  /** Bytes exports may take on the volume now: free space above the floor and the open segments' reserve. */
  room: () => number;
  ffmpeg?: string;
}

/** What the exporter did since start (`/metrics`). */
export interface ExportStats {
  running: number;
  runningMax: number;
  runs: number;
  failed: number;
  cacheHits: number;
  refusedBusy: number;
  refusedSpace: number;
  bytes: number;
  files: number;
}

interface Building {
  cameraId: string;
  promise: Promise<ExportedFile>;
  partial: string;
  estimate: number;
}

/**
 * A range of recordings as one MP4 file: the overlapping segments joined by ffmpeg's concat
 * demuxer with stream copy (no decode), trimmed with inpoint/outpoint (copy cuts land on
 * keyframes), with the index at the front (`+faststart`) so a player can seek at once and the
 * API can answer Range requests.
 *
 * The files are a bounded cache in each camera's `exports/`: built once per range (concurrent
 * requests share the run; a repeated range is served from the file), at most `perUser` and
 * `total` ffmpegs at once (429 `too_many_exports`), within their own byte budget and only in
 * space above the free-space floor (507 `export_storage_full`, never by removing footage), the
 * least recently used dropped first, each removed `EXPORT_TTL_MS` after its last use and all by
 * the start-up reconcile.
 */
export class RangeExporter {
  readonly #d: RangeExporterDeps;
  readonly #slots: ExportSlots;
  readonly #building = new Map<string, Building>();
  /** Finished files, least recently used first (a Map keeps insertion order; a use re-inserts). */
  readonly #files = new Map<string, { cameraId: string; bytes: number; lastUse: number }>();
  readonly #counts = { runs: 0, failed: 0, cacheHits: 0, refusedBusy: 0, refusedSpace: 0 };

  constructor(deps: RangeExporterDeps) {
    this.#d = deps;
    this.#slots = new ExportSlots(deps.limits);
  }

  async export(req: ExportRequest): Promise<ExportedFile> {
    const { cameraId, from, to, segments } = req;
    if (segments.length === 0)
      throw new HubError('recording_not_found', 'nothing was recorded in that range', { from, to });
    // The first and newest segments are in the name: a range that gained or lost one is a new file.
    const name = `${PREFIX}${from}-${to}-${segments[0]!.id}-${segments.at(-1)!.id}.mp4`;
    const path = join(this.#d.root, cameraId, EXPORTS_DIR, name);
    const inflight = this.#building.get(path);
    if (inflight) {
      this.#counts.cacheHits++;
      return inflight.promise;
    }
    const cached = this.#files.get(path);
    if (cached && existsSync(path)) {
      this.#counts.cacheHits++;
      this.#files.delete(path);
      this.#files.set(path, { ...cached, lastUse: this.#d.clock.now() });
      return { path, bytes: cached.bytes };
    }
    if (cached) this.#files.delete(path);

    let release: () => void;
    try {
      release = this.#slots.acquire(req.user);
    } catch (err) {
      this.#counts.refusedBusy++;
      throw err;
    }
    const estimate = estimateBytes(segments);
    try {
      this.#makeRoom(estimate);
      mkdirSync(join(this.#d.root, cameraId, EXPORTS_DIR), { recursive: true });
    } catch (err) {
      release();
      throw err;
    }
    const partial = `${path}.partial.mp4`;
    this.#counts.runs++;
    const promise = this.#build(path, partial, from, to, segments)
      .then((file) => {
        this.#files.set(path, { cameraId, bytes: file.bytes, lastUse: this.#d.clock.now() });
        this.#trimCache();
        return file;
      })
      .catch((err: unknown) => {
        this.#counts.failed++;
        throw err;
      })
      .finally(() => {
        release();
        this.#building.delete(path);
      });
    this.#building.set(path, { cameraId, promise, partial, estimate });
    return promise;
  }

  /** Bytes the export files take on disk now, finished and being written. */
  bytesOnDisk(): number {
    let n = 0;
    for (const f of this.#files.values()) n += f.bytes;
    for (const b of this.#building.values()) n += sizeOf(b.partial);
    return n;
  }

  /**
   * Removes every finished export (they are a cache): the storage guard calls it when the
   * volume is short of its floor, before it would look at footage. Returns the bytes freed.
   */
  reclaim(): number {
    let n = 0;
    for (const [path, f] of this.#files) {
      rmSync(path, { force: true });
      this.#files.delete(path);
      n += f.bytes;
    }
    return n;
  }

  /** Forgets a removed camera's files (its directory went with it). */
  forgetCamera(cameraId: string): void {
    for (const [path, f] of this.#files) if (f.cameraId === cameraId) this.#files.delete(path);
  }

  /**
   * Removes exports unused for `EXPORT_TTL_MS` (`now`: the injected clock's time). Exports of a hub that
   * stopped are removed by the next start's reconcile (it empties `exports/`).
   */
  sweep(now: number): number {
    let n = 0;
    for (const [path, f] of this.#files) {
      if (now - f.lastUse <= EXPORT_TTL_MS) continue;
      rmSync(path, { force: true });
      this.#files.delete(path);
      n++;
    }
    return n;
  }

  stats(): ExportStats {
    return {
      ...this.#counts,
      running: this.#slots.running,
      runningMax: this.#slots.runningMax,
      bytes: this.bytesOnDisk(),
      files: this.#files.size,
    };
  }

  /**
   * Makes room for a new file of about `estimate` bytes within the exports' budget and the room
   * above the floor, dropping the least recently used files; `export_storage_full` when even
   * an empty cache would not do. Runs still writing count with what they have left to write.
   */
  #makeRoom(estimate: number): void {
    for (;;) {
      let pending = 0;
      for (const b of this.#building.values()) pending += Math.max(0, b.estimate - sizeOf(b.partial));
      const used = this.bytesOnDisk();
      const room = this.#d.room();
      if (used + pending + estimate <= this.#d.limits.budgetBytes && pending + estimate <= room) return;
      const oldest = this.#files.keys().next();
      if (oldest.done) {
        this.#counts.refusedSpace++;
        throw new HubError(
          'export_storage_full',
          'no room for this export now: it would eat into the space kept for recording',
          {
            estimateBytes: estimate,
            roomBytes: Math.max(0, room - pending),
            budgetBytes: this.#d.limits.budgetBytes,
          },
        );
      }
      rmSync(oldest.value, { force: true });
      this.#files.delete(oldest.value);
    }
  }

  #trimCache(): void {
    while (this.#files.size > MAX_CACHED_FILES) {
      const oldest = this.#files.keys().next().value!;
      rmSync(oldest, { force: true });
      this.#files.delete(oldest);
    }
  }

  /**
   * The list names only our own segment files, relative to the recordings directory where it is
   * written, and ffmpeg reads it in the concat demuxer's safe mode (`-safe 1`: relative names of
   * plain characters only) with only the `file` protocol allowed: no entry can point elsewhere.
   */
  async #build(path: string, partial: string, from: number, to: number, segments: SegmentRow[]): Promise<ExportedFile> {
    const lines = ['ffconcat version 1.0'];
    for (const s of segments) {
      if (!isSafeRelativePath(s.path))
        throw new HubError('internal_error', 'a segment has an unexpected path', { segment: s.id });
      lines.push(`file ${s.path}`);
      if (from > s.startAt) lines.push(`inpoint ${((from - s.startAt) / 1000).toFixed(3)}`);
      if (to < s.endAt) lines.push(`outpoint ${((to - s.startAt) / 1000).toFixed(3)}`);
    }
    const list = join(this.#d.root, `${PREFIX}${randomBytes(6).toString('hex')}.ffconcat`);
    writeFileSync(list, `${lines.join('\n')}\n`);
    try {
      const { code, stderr } = await run(this.#d.ffmpeg ?? 'ffmpeg', [
        '-hide_banner',
        '-nostats',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'concat',
        '-safe',
        '1',
        '-protocol_whitelist',
        'file',
        '-i',
        list,
        '-c',
        'copy',
        '-movflags',
        '+faststart',
        '-f',
        'mp4',
        `file:${partial}`,
      ]);
      if (code !== 0) {
        this.#d.log.warn({ ffmpeg: stderr.trim().slice(-500) }, 'export ffmpeg failed');
        throw new HubError('internal_error', 'could not join the recordings of that range');
      }
      // Renamed only when complete: a file under the final name is always whole.
      renameSync(partial, path);
      return { path, bytes: statSync(path).size };
    } finally {
      rmSync(list, { force: true });
      rmSync(partial, { force: true });
    }
  }
}

/** What a stream copy of these segments may write: their bytes plus the MP4 index. */
function estimateBytes(segments: SegmentRow[]): number {
  const bytes = segments.reduce((n, s) => n + s.bytes, 0);
  return Math.ceil(bytes * 1.02) + 64 * 1024;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function run(ffmpeg: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const [cmd, argv] = ffmpegCommand(ffmpeg, args);
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), EXPORT_TIMEOUT_MS);
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}
