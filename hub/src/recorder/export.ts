import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { SegmentRow } from '../store/recorder-repo.ts';
import { EXPORTS_DIR } from './segment-layout.ts';

/** Longest range one playback or export may span (an hour of a 4 Mbit/s camera is ~1.8 GB). */
export const MAX_EXPORT_MS = 3_600_000;
/** An export file unused this long is removed (a player seeks in it with Range requests meanwhile). */
export const EXPORT_TTL_MS = 10 * 60_000;
const PREFIX = '.export-';

export interface ExportedFile {
  path: string;
  bytes: number;
}

/**
 * A range of recordings as one MP4 file: the overlapping segments joined by ffmpeg's concat
 * demuxer with stream copy (no decode), trimmed with inpoint/outpoint (copy cuts land on
 * keyframes), with the index at the front (`+faststart`) so a player can seek at once and the
 * API can answer Range requests. Built once per range into the camera's `exports/`, shared by
 * concurrent requests, removed `EXPORT_TTL_MS` after its last use (and, whole, by the start-up
 * reconcile).
 */
export class RangeExporter {
  readonly #root: string;
  readonly #log: Logger;
  readonly #building = new Map<string, Promise<ExportedFile>>();
  /** Finished exports and when they were last asked for (a camera directory holds a segment
   * every few seconds for weeks: listing it to find exports would be the expensive part). */
  readonly #lastUse = new Map<string, number>();

  constructor(root: string, log: Logger) {
    this.#root = root;
    this.#log = log;
  }

  async export(cameraId: string, from: number, to: number, segments: SegmentRow[]): Promise<ExportedFile> {
    if (to - from > MAX_EXPORT_MS) throw new HubError('recording_range_too_large', `a range may span at most ${MAX_EXPORT_MS / 60_000} minutes`, { from, to, maxMs: MAX_EXPORT_MS });
    if (segments.length === 0) throw new HubError('recording_not_found', 'nothing was recorded in that range', { from, to });
    // The newest segment's id is in the name: a range that gained a segment is a new file.
    const name = `${PREFIX}${from}-${to}-${segments.at(-1)!.id}.mp4`;
    const dir = join(this.#root, cameraId, EXPORTS_DIR);
    const path = join(dir, name);
    const key = `${cameraId}/${name}`;
    const inflight = this.#building.get(key);
    if (inflight) return inflight;
    if (existsSync(path)) {
      this.#lastUse.set(path, Date.now());
      return { path, bytes: statSync(path).size };
    }
    mkdirSync(dir, { recursive: true });
    const build = this.#build(path, from, to, segments)
      .then((file) => { this.#lastUse.set(path, Date.now()); return file; })
      .finally(() => this.#building.delete(key));
    this.#building.set(key, build);
    return build;
  }

  /**
   * Removes exports unused for `EXPORT_TTL_MS` (`now`: wall-clock time). Exports of a hub that
   * stopped are removed by the next start's reconcile (it empties `exports/`).
   */
  sweep(now: number): number {
    let n = 0;
    for (const [path, used] of this.#lastUse) {
      if (now - used <= EXPORT_TTL_MS) continue;
      rmSync(path, { force: true });
      this.#lastUse.delete(path);
      n++;
    }
    return n;
  }

  async #build(path: string, from: number, to: number, segments: SegmentRow[]): Promise<ExportedFile> {
    const lines = ['ffconcat version 1.0'];
    for (const s of segments) {
      lines.push(`file '${join(this.#root, s.path).replace(/'/g, "'\\''")}'`);
      if (from > s.startAt) lines.push(`inpoint ${((from - s.startAt) / 1000).toFixed(3)}`);
      if (to < s.endAt) lines.push(`outpoint ${((to - s.startAt) / 1000).toFixed(3)}`);
    }
    const list = `${path}.ffconcat`;
    const partial = `${path}.partial.mp4`;
    writeFileSync(list, `${lines.join('\n')}\n`);
    try {
      const { code, stderr } = await run('ffmpeg', [
        '-hide_banner', '-nostats', '-loglevel', 'error', '-y',
        '-f', 'concat', '-safe', '0', '-i', list,
        '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4', partial,
      ]);
      if (code !== 0) {
        this.#log.warn({ ffmpeg: stderr.trim().slice(-500) }, 'export ffmpeg failed');
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

function run(cmd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}
