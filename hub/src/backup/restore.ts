import { randomBytes } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { isAlive } from '../core/data-dir.ts';
import { HubError } from '../core/errors.ts';
import { HUB_VERSION } from '../core/version.ts';
import { openDatabase } from '../store/db.ts';
import { MIGRATIONS } from '../store/migrations.ts';
import { DATABASE_FILE } from '../store/store.ts';
import { ContainerExtractor } from './container.ts';
import { fsyncPath } from './create.ts';
import { compareVersions, type BackupManifest } from './manifest.ts';
import { jumpPlugCounters } from './plug-counters.ts';
import { OpenStream } from './sealed-stream.ts';

export interface RestoreOptions {
  file: string;
  dataDir: string;
  passphrase: string;
  /** Allow replacing a data dir whose hub is set up (has users); a safety copy is kept. */
  replace?: boolean;
  now?: number;
  /** Called at each step (tests stop or kill the process there; see RestorePoint). */
  at?: (point: RestorePoint) => Promise<void>;
}

export interface RestoreResult {
  manifest: BackupManifest;
  /** Where the replaced data dir was moved, if there was one. */
  safetyCopy: string | null;
  plugsMoved: number;
}

const READY_MARK = '.restore-ready';

/** `unpacked`: all checked, target untouched; `moved-aside`: old dir renamed, new not yet in place. */
export type RestorePoint = 'unpacked' | 'moved-aside';

/**
 * Restores a backup into `dataDir`, which must belong to no running hub. Everything is unpacked
 * into a new dir beside the target (same filesystem) and checked — every chunk authenticated, every
 * entry's hash, the database's integrity, migrations run, plug counters moved forward — before the
 * target is touched. Then the old dir (if any) is renamed to `<dir>.before-restore-<time>` and
 * the new one renamed into place. A crash before the swap leaves the old state; a crash between
 * the two renames is finished by the next `restore` (finishInterruptedRestore).
 */
export async function restoreBackup(o: RestoreOptions): Promise<RestoreResult> {
  const target = o.dataDir.replace(/\/+$/, '');
  finishInterruptedRestore(target);
  removeAbandonedRestores(target);
  const state = targetState(target);
  if (state === 'running') throw new HubError('restore_hub_running', `a hub is running on ${target}; stop it first`);
  if (state === 'set-up' && !o.replace)
    throw new HubError(
      'restore_would_replace',
      `${target} holds a set-up hub; pass --replace to replace it (a safety copy is kept)`,
    );

  mkdirSync(dirname(target), { recursive: true });
  const staged = `${target}.restore-${process.pid}-${randomBytes(4).toString('hex')}`;
  mkdirSync(staged, { mode: 0o700 });
  try {
    const extractor = new ContainerExtractor(staged, { onManifest: refuseNewer });
    await pipeline(createReadStream(o.file), new OpenStream(o.passphrase), extractor);
    const manifest = extractor.manifest()!;
    const plugsMoved = prepareDatabase(join(staged, DATABASE_FILE));
    writeFileSync(join(staged, READY_MARK), `${target}\n`, { mode: 0o600 });
    fsyncPath(staged);
    await o.at?.('unpacked');

    let safetyCopy: string | null = null;
    if (state === 'empty') rmdirSync(target);
    else if (state !== 'absent') {
      safetyCopy = `${target}.before-restore-${new Date(o.now ?? Date.now()).toISOString().replace(/[-:.]/g, '')}`;
      renameSync(target, safetyCopy);
      await o.at?.('moved-aside');
    }
    renameSync(staged, target);
    rmSync(join(target, READY_MARK), { force: true });
    fsyncPath(dirname(target));
    return { manifest, safetyCopy, plugsMoved };
  } catch (err) {
    if (existsSync(staged)) rmSync(staged, { recursive: true, force: true });
    throw err;
  }
}

function refuseNewer(m: BackupManifest): void {
  const latest = MIGRATIONS.reduce((max, x) => Math.max(max, x.version), 0);
  if (m.schemaVersion > latest)
    throw new HubError(
      'backup_too_new',
      `backup has database schema ${m.schemaVersion}, this hub knows up to ${latest}; upgrade the hub first`,
    );
  if (compareVersions(m.hubVersion, HUB_VERSION) > 0)
    throw new HubError(
      'backup_too_new',
      `backup was made by hub ${m.hubVersion}, this is ${HUB_VERSION}; upgrade the hub first`,
    );
}

/** Integrity check and migrations (openDatabase), then the plug counters; folds the WAL back. */
function prepareDatabase(path: string): number {
  if (!existsSync(path)) throw new HubError('backup_corrupt', 'backup holds no database');
  let db: Database.Database;
  try {
    db = openDatabase(path);
  } catch (err) {
    throw new HubError('backup_corrupt', `backup database does not open: ${(err as Error).message}`, undefined, {
      cause: err,
    });
  }
  try {
    const moved = jumpPlugCounters(db);
    db.pragma('wal_checkpoint(TRUNCATE)');
    return moved;
  } finally {
    db.close();
  }
}

type TargetState = 'absent' | 'empty' | 'not-set-up' | 'set-up' | 'running';

function targetState(target: string): TargetState {
  if (!existsSync(target)) return 'absent';
  const names = readdirSync(target);
  if (names.length === 0) return 'empty';
  if (names.includes('hub.pid')) {
    const pid = Number(readFileSync(join(target, 'hub.pid'), 'utf8').trim());
    if (pid && pid !== process.pid && isAlive(pid)) return 'running';
  }
  if (!names.includes(DATABASE_FILE)) return 'not-set-up';
  try {
    const db = new Database(join(target, DATABASE_FILE), { fileMustExist: true });
    try {
      const hasUsers = db
        .prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'users'")
        .pluck()
        .get() as number;
      return hasUsers && (db.prepare('SELECT count(*) FROM users').pluck().get() as number) > 0
        ? 'set-up'
        : 'not-set-up';
    } finally {
      db.close();
    }
  } catch {
    // An unreadable database may still be someone's home: treat it as set up (needs --replace).
    return 'set-up';
  }
}

/** Staged dirs of this target whose restore died; a ready one with no target is finished instead. */
function siblingsOf(target: string): { path: string; pid: number; ready: boolean }[] {
  const parent = dirname(target);
  if (!existsSync(parent)) return [];
  const prefix = `${basename(target)}.restore-`;
  return readdirSync(parent)
    .filter((n) => n.startsWith(prefix))
    .map((n) => ({
      path: join(parent, n),
      pid: Number(n.slice(prefix.length).split('-')[0]),
      ready: existsSync(join(parent, n, READY_MARK)),
    }));
}

/** If a restore died between its two renames (old dir moved aside, new not yet in place), finish it. */
export function finishInterruptedRestore(target: string): boolean {
  if (existsSync(target)) return false;
  const ready = siblingsOf(target).find((s) => s.ready && !isAlive(s.pid));
  if (!ready) return false;
  renameSync(ready.path, target);
  rmSync(join(target, READY_MARK), { force: true });
  return true;
}

function removeAbandonedRestores(target: string): void {
  for (const s of siblingsOf(target)) if (!isAlive(s.pid)) rmSync(s.path, { recursive: true, force: true });
}
