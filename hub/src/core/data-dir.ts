import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HubError } from './errors.ts';

/**
 * The data directory: created if missing, and locked with a pid file so two hubs never open the
 * same database and broker state. A lock left by a hub killed with -9 is taken over, since its
 * process is gone.
 */
export function lockDataDir(dataDir: string): () => void {
  securePrivateDir(dataDir);
  const lockPath = join(dataDir, 'hub.pid');
  let holder: number | undefined;
  try {
    holder = Number(readFileSync(lockPath, 'utf8').trim()) || undefined;
  } catch {
    holder = undefined;
  }
  if (holder && holder !== process.pid && isAlive(holder)) {
    throw new HubError('conflict', `another hub (pid ${holder}) is using ${dataDir}`);
  }
  writeFileSync(lockPath, `${process.pid}\n`);
  return () => rmSync(lockPath, { force: true });
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes a file so readers see the old or the new content, never half of it. */
export function writeFileAtomic(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/**
 * Like writeFileAtomic, for secrets: the file is created 0600 (owner only) whatever the umask,
 * before any byte is written, so no other local user can read it even for a moment.
 */
export function writePrivateFileAtomic(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/**
 * Everything the hub creates is for its own user only: 0600 files, 0700 directories, whatever
 * umask it was started with (`hearth.db` holds token keys, signing seeds, the home key and TOTP
 * secrets). The hub and hearth-admin call this first, before any part opens a file: children
 * (ffmpeg) inherit it too, and SQLite gives -wal/-shm the database file's mode.
 */
export const PRIVATE_UMASK = 0o077;

export function usePrivateUmask(): void {
  process.umask(PRIVATE_UMASK);
}

/**
 * Creates the data dir 0700, and tightens what an older version or another umask left too open:
 * group and other bits are removed from the dir and everything below it. Recordings are tightened
 * only one level down (their many segment files are made 0600 by the umask; older ones sit in
 * 0700 directories nobody else can enter), so a start never walks a camera's whole archive.
 * Symbolic links are left alone (chmod would follow them out of the data dir).
 */
export function securePrivateDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  tighten(dataDir, 0);
  for (const name of readdirSync(dataDir)) tighten(join(dataDir, name), SHALLOW[name] ?? Infinity);
}

/** Directories under the data dir walked only this deep (see securePrivateDir). */
const SHALLOW: Record<string, number> = { recordings: 1 };

function tighten(path: string, depth: number): void {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return; // removed meanwhile
  }
  if (stat.isSymbolicLink()) return;
  if ((stat.mode & 0o077) !== 0) chmodSync(path, stat.mode & 0o700);
  if (!stat.isDirectory() || depth <= 0) return;
  for (const name of readdirSync(path)) {
    tighten(join(path, name), depth - 1);
  }
}
