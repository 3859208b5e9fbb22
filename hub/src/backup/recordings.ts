import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Camera recordings in a backup, only when the owner asks (they are large): the closed segments
 * under the recorder's dir, `<camera>/<YYYY-MM-DD>/<run>-<n>.mp4` (and segments of older hubs
 * directly under `<camera>/`), as archive entries `recordings/<camera>/...`. Left out: what
 * ffmpeg is writing (`incoming/`), playback exports, and any name an archive path cannot hold.
 * A restore puts them in `DATA/recordings`, the recorder's default dir, where the restored
 * database's segment rows expect them (relative paths).
 */
export const RECORDINGS_ENTRY_DIR = 'recordings';

/** At most this many files are looked at: a bound on the walk (a year of 4 s segments for 10 cameras is ~79 M; far beyond a backup). */
export const MAX_RECORDING_FILES = 1_000_000;

export interface RecordingFile {
  /** Archive path, `recordings/<camera>/<day>/<file>.mp4`. */
  path: string;
  /** Where it is on the disk. */
  source: string;
  bytes: number;
}

export interface RecordingsSize {
  files: number;
  bytes: number;
}

const SEGMENT = /^\d+-\d+\.mp4$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const CAMERA = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;

function names(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** The closed segments under `root`, oldest day first. */
export function listRecordings(root: string): RecordingFile[] {
  const out: RecordingFile[] = [];
  const add = (source: string, path: string): void => {
    const stat = lstatSync(source, { throwIfNoEntry: false });
    if (stat?.isFile()) out.push({ path, source, bytes: stat.size });
  };
  for (const camera of names(root)) {
    if (!CAMERA.test(camera) || camera === '.' || camera === '..') continue;
    const cameraDir = join(root, camera);
    if (!lstatSync(cameraDir, { throwIfNoEntry: false })?.isDirectory()) continue;
    for (const name of names(cameraDir)) {
      if (out.length >= MAX_RECORDING_FILES) return out;
      if (SEGMENT.test(name)) add(join(cameraDir, name), `${RECORDINGS_ENTRY_DIR}/${camera}/${name}`);
      else if (DAY.test(name))
        for (const file of names(join(cameraDir, name))) {
          if (out.length >= MAX_RECORDING_FILES) return out;
          if (SEGMENT.test(file)) add(join(cameraDir, name, file), `${RECORDINGS_ENTRY_DIR}/${camera}/${name}/${file}`);
        }
    }
  }
  return out;
}

export function recordingsSize(root: string): RecordingsSize {
  const files = listRecordings(root);
  return { files: files.length, bytes: files.reduce((sum, f) => sum + f.bytes, 0) };
}
