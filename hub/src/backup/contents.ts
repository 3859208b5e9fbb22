import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * What of the data dir goes into a backup besides the database (which is snapshotted, never
 * copied): the Zigbee network (network key and ids in network.json, herdsman's database, the
 * coordinator backup) and the plug firmware store. The hub's other keys (plug signing seed,
 * relay identity, home key, token keys) live in the database. Left out: recordings (large; only
 * on request: recordings.ts), earlier backups, and what belongs to one running hub (pid lock, ports.json,
 * the first-run setup code, the database's -wal/-shm, temporary files).
 */
export const BACKED_UP_DIRS = ['zigbee', 'firmware'] as const;

/** Files under the backed-up dirs, as archive paths (forward slashes), sorted. */
export function listDataFiles(dataDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stat = lstatSync(path, { throwIfNoEntry: false });
      if (!stat || stat.isSymbolicLink()) continue;
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile() && !name.endsWith('.tmp')) out.push(relative(dataDir, path).split(sep).join('/'));
    }
  };
  for (const dir of BACKED_UP_DIRS) if (existsSync(join(dataDir, dir))) walk(join(dataDir, dir));
  return out;
}
