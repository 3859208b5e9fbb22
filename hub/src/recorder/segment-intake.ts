import { mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from '../core/logger.ts';
import type { RecorderRepo } from '../store/recorder-repo.ts';
import type { ClosedSegment } from './camera-recorder.ts';
import { dayOf, INCOMING_DIR } from './segment-layout.ts';

/**
 * Indexes a segment ffmpeg closed and moves it from incoming/ into its day directory; false
 * (row dropped, logged) when the move fails.
 */
export function fileSegment(
  repo: RecorderRepo,
  root: string,
  log: Logger,
  cameraId: string,
  segment: ClosedSegment,
): boolean {
  // The row first, then the move into its day: a hub killed between the two leaves the file
  // in incoming/ with its row, which the next start moves into place (reconcile.ts).
  const path = `${cameraId}/${dayOf(segment.startAt)}/${segment.file}`;
  repo.insertSegment({ cameraId, startAt: segment.startAt, endAt: segment.endAt, bytes: segment.bytes, path });
  try {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    renameSync(join(root, cameraId, INCOMING_DIR, segment.file), join(root, path));
  } catch (err) {
    const row = repo.segments(cameraId, segment.startAt, segment.endAt).find((s) => s.path === path);
    if (row) repo.deleteSegment(row.id);
    log.error({ err, camera: cameraId }, 'could not move a segment into its day directory; dropped');
    return false;
  }
  return true;
}
