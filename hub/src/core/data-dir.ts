import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HubError } from './errors.ts';

/**
 * The data directory: created if missing, and locked with a pid file so two hubs never open the
 * same database and broker state. A lock left by a hub killed with -9 is taken over, since its
 * process is gone.
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
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

function isAlive(pid: number): boolean {
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
