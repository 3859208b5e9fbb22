import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import type { RecorderRepo } from '../store/recorder-repo.ts';
import { daysBetween, EXPORTS_DIR, INCOMING_DIR, isDayDir, runOf } from './segment-layout.ts';
import { removeSegmentFiles } from './storage.ts';

/**
 * How far before a camera's clean mark the start-up still looks: a segment closing after the
 * mark may have started this much earlier (segment time plus a long GOP), and a power loss may
 * take back the last seconds of database writes that the file system kept.
 */
export const RECONCILE_MARGIN_MS = 10 * 60_000;

/** The file system work a reconcile did: what makes a start slow on an SD card. */
export interface ReconcileWork {
  /** Segment rows whose file was looked for (one stat each). */
  rowsChecked: number;
  /** Directories listed, and the entries they held. */
  dirsListed: number;
  entriesListed: number;
}

export interface ReconcileResult {
  rowsDropped: number;
  filesRemoved: number;
  work: ReconcileWork;
}

/**
 * Makes the index and the files agree at start, touching only what a crash can have left:
 * - trash (rows already deleted, files maybe not) is removed;
 * - `incoming/` holds what ffmpeg was writing: a file with its row (killed between indexing and
 *   the move to its day) is moved into place, any other is partial and goes; exports go;
 * - rows that ended since the camera's clean mark (minus the margin) are checked for their file,
 *   and the day directories from then on are listed for files no row names.
 * Older footage was in agreement at the mark and only changes through the trash; the
 * background sweep (full-sweep.ts) checks it all the same, a little at a time. A camera never
 * marked clean (new to this version) is checked completely once.
 */
export function reconcileAtStart(repo: RecorderRepo, root: string, now: number): ReconcileResult {
  const result: ReconcileResult = {
    rowsDropped: 0,
    filesRemoved: 0,
    work: { rowsChecked: 0, dirsListed: 0, entriesListed: 0 },
  };
  const list = (dir: string) => {
    const names = existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : [];
    result.work.dirsListed++;
    result.work.entriesListed += names.length;
    return names;
  };

  const trash = repo.trashedPaths();
  removeSegmentFiles(root, trash);
  repo.clearTrash(trash);

  const cameras = new Set(repo.listCameras().map((c) => c.id));
  for (const entry of list(root)) {
    if (entry.isDirectory() && cameras.has(entry.name)) continue;
    rmSync(join(root, entry.name), { recursive: true, force: true });
    result.filesRemoved++;
  }

  for (const cameraId of cameras) {
    const dir = join(root, cameraId);
    mkdirSync(dir, { recursive: true });
    rmSync(join(dir, EXPORTS_DIR), { recursive: true, force: true });
    finishIncoming(repo, dir, cameraId, now, list, result);

    const mark = repo.cleanUntil(cameraId);
    const since = mark === null ? Number.NEGATIVE_INFINITY : mark - RECONCILE_MARGIN_MS;
    const rows =
      mark === null
        ? repo.segmentsAfterId(cameraId, 0, Number.MAX_SAFE_INTEGER)
        : repo.segmentsEndedSince(cameraId, since);
    for (const row of rows) {
      result.work.rowsChecked++;
      if (existsSync(join(root, row.path))) continue;
      repo.deleteSegment(row.id);
      result.rowsDropped++;
    }

    // Where files no row names can be: the day directories written since the mark (all of
    // them, and the old flat directory, for a camera never marked).
    const days =
      mark === null
        ? list(dir)
            .filter((e) => e.isDirectory() && isDayDir(e.name))
            .map((e) => e.name)
        : daysBetween(since, Math.max(now, mark));
    if (mark === null) result.filesRemoved += removeUnnamed(repo, dir, `${cameraId}/`, list, true);
    for (const day of days)
      result.filesRemoved += removeUnnamed(repo, join(dir, day), `${cameraId}/${day}/`, list, false);
    repo.markClean(cameraId, now);
  }
  return result;
}

/** Files of one directory that no row names are removed (`flat`: the camera's own, skipping its subdirectories). */
function removeUnnamed(
  repo: RecorderRepo,
  dir: string,
  prefix: string,
  list: (dir: string) => Dirent[],
  flat: boolean,
): number {
  const entries = list(dir);
  if (entries.length === 0) return 0;
  const named = repo.segmentPathsUnder(prefix);
  let removed = 0;
  for (const entry of entries) {
    if (flat && entry.isDirectory()) continue;
    if (named.has(prefix + entry.name)) continue;
    rmSync(join(dir, entry.name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

function finishIncoming(
  repo: RecorderRepo,
  dir: string,
  cameraId: string,
  now: number,
  list: (dir: string) => Dirent[],
  result: ReconcileResult,
): void {
  const incoming = join(dir, INCOMING_DIR);
  for (const entry of list(incoming)) {
    const run = runOf(entry.name);
    // The segment started during its run, so its day is between the run's and today.
    const path =
      run === undefined
        ? undefined
        : daysBetween(run, now)
            .map((day) => `${cameraId}/${day}/${entry.name}`)
            .find((p) => repo.hasSegmentPath(p));
    if (path) {
      const day = path.split('/')[1]!;
      mkdirSync(join(dir, day), { recursive: true });
      renameSync(join(incoming, entry.name), join(dir, day, entry.name));
      continue;
    }
    rmSync(join(incoming, entry.name), { recursive: true, force: true });
    result.filesRemoved++;
  }
}
