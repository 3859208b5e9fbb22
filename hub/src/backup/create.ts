import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  createReadStream,
  createWriteStream,
  fsyncSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { isAlive } from '../core/data-dir.ts';
import { HubError } from '../core/errors.ts';
import { HUB_VERSION } from '../core/version.ts';
import { DATABASE_FILE } from '../store/store.ts';
import { writeContainer } from './container.ts';
import { listDataFiles } from './contents.ts';
import { listRecordings, type RecordingFile } from './recordings.ts';
import type { BackupSecret, KdfParams } from './kdf.ts';
import type { BackupManifest } from './manifest.ts';
import { SealStream } from './sealed-stream.ts';

export interface CreateBackupOptions {
  dataDir: string;
  /** The running hub's open database: snapshotted with SQLite's online backup (no pause). */
  db?: Database.Database;
  /** The `.hbk` file to write; it appears complete or not at all. */
  out: string;
  /** The owner's passphrase, or the secret derived from it earlier (scheduled backups). */
  passphrase: string | BackupSecret;
  now?: number;
  kdf?: KdfParams;
  chunkBytes?: number;
  /** Runs `integrity_check` on the snapshot before it is sealed (`backup_corrupt` if it fails). */
  checkSnapshot?: boolean;
  /** Told after each step of the online snapshot (pages left of the total). */
  onSnapshotStep?: (step: { totalPages: number; remainingPages: number }) => void;
  /**
   * Also the closed camera segments under `root` (recordings.ts), refused with
   * `backup_recordings_too_large` above `maxBytes`. Hard-linked into staging (no copy on the disk).
   */
  recordings?: { root: string; maxBytes: number };
}

export interface CreatedBackup {
  path: string;
  bytes: number;
  manifest: BackupManifest;
}

/**
 * Makes one backup: snapshots the database (SQLite online backup: the hub's writers carry on),
 * copies the other backed-up files into a private staging dir in DATA/backups, hashes everything
 * into the manifest, then streams manifest and files through the sealing stream into
 * `out.partial`, fsyncs it and renames it to `out`. A crash leaves no file named `out`.
 */
export async function createBackup(o: CreateBackupOptions): Promise<CreatedBackup> {
  if (typeof o.passphrase === 'string' && o.passphrase.length === 0)
    throw new HubError('validation_failed', 'a backup needs a passphrase');
  mkdirSync(dirname(o.out), { recursive: true, mode: 0o700 });
  // Staged plaintext stays inside the data dir (private, same disk as the database), never
  // beside `out`, which may be a USB stick.
  const stagingRoot = join(o.dataDir, STAGING_PARENT);
  mkdirSync(stagingRoot, { recursive: true, mode: 0o700 });
  removeStaleStaging(stagingRoot);
  const recordings = o.recordings ? listRecordings(o.recordings.root) : [];
  const recordingBytes = recordings.reduce((sum, r) => sum + r.bytes, 0);
  if (o.recordings && recordingBytes > o.recordings.maxBytes)
    throw new HubError(
      'backup_recordings_too_large',
      `the recordings hold ${recordingBytes} bytes; a backup takes at most ${o.recordings.maxBytes}`,
      { bytes: recordingBytes, maxBytes: o.recordings.maxBytes },
    );
  // Linked into staging, recordings take room on the data disk only when they live on another disk (copied).
  const recordingsElsewhere =
    o.recordings !== undefined &&
    statSync(o.recordings.root, { throwIfNoEntry: false })?.dev !== statSync(stagingRoot).dev;
  checkFreeSpace(o, stagingRoot, recordingBytes, recordingsElsewhere);
  const staging = mkdtempSync(join(stagingRoot, `.staging-${process.pid}-`));
  const partial = `${o.out}.partial`;
  rmSync(partial, { force: true }); // left by a backup killed earlier
  try {
    await snapshotDatabase(o, join(staging, DATABASE_FILE));
    if (o.checkSnapshot) checkIntegrity(join(staging, DATABASE_FILE));
    const files = listDataFiles(o.dataDir);
    for (const path of files) {
      mkdirSync(dirname(join(staging, path)), { recursive: true, mode: 0o700 });
      copyFileSync(join(o.dataDir, path), join(staging, path));
    }
    const recorded = stageRecordings(recordings, staging);
    // One file at a time: with recordings there may be hundreds of thousands.
    const entries: BackupManifest['entries'] = [];
    for (const path of [DATABASE_FILE, ...files, ...recorded])
      entries.push({ path, bytes: statSync(join(staging, path)).size, sha256: await sha256File(join(staging, path)) });
    const manifest: BackupManifest = {
      kind: 'hearth-backup',
      hubVersion: HUB_VERSION,
      createdAt: o.now ?? Date.now(),
      ...describe(join(staging, DATABASE_FILE)),
      entries,
    };
    await pipeline(
      Readable.from(writeContainer(manifest, staging)),
      new SealStream(o.passphrase, {
        ...(o.kdf ? { kdf: o.kdf } : {}),
        ...(o.chunkBytes ? { chunkBytes: o.chunkBytes } : {}),
      }),
      createWriteStream(partial, { mode: 0o600, flags: 'wx' }),
    );
    fsyncPath(partial);
    renameSync(partial, o.out);
    fsyncPath(dirname(o.out));
    return { path: o.out, bytes: statSync(o.out).size, manifest };
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Room kept free on the data dir's disk beyond what the backup itself needs, so a backup never
 * takes the last bytes the running hub needs for its database and broker state.
 */
export const FREE_SPACE_MARGIN_BYTES = 16 * 1024 * 1024;

/**
 * Refuses with `backup_storage_full` (nothing written) unless the disks can hold the staging copy
 * (about the size of the database plus the backed-up files) and the sealed file (about as much
 * again), with the margin left over on the data dir's disk.
 */
function checkFreeSpace(
  o: CreateBackupOptions,
  stagingRoot: string,
  recordingBytes = 0,
  recordingsCopied = false,
): void {
  const size = (path: string): number => statSync(path, { throwIfNoEntry: false })?.size ?? 0;
  const db = join(o.dataDir, DATABASE_FILE);
  const staged =
    size(db) +
    size(`${db}-wal`) +
    listDataFiles(o.dataDir).reduce((sum, path) => sum + size(join(o.dataDir, path)), 0) +
    (recordingsCopied ? recordingBytes : 0);
  // What the sealed file holds: everything staged, and the recordings either way.
  const need = staged + (recordingsCopied ? 0 : recordingBytes);
  const free = (dir: string): number => {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  };
  const sameDisk = statSync(stagingRoot).dev === statSync(dirname(o.out)).dev;
  const wantHere = staged + (sameDisk ? need : 0) + FREE_SPACE_MARGIN_BYTES;
  if (free(stagingRoot) < wantHere)
    throw new HubError(
      'backup_storage_full',
      `the data dir's disk has ${free(stagingRoot)} bytes free; this backup needs about ${wantHere}`,
      { freeBytes: free(stagingRoot), neededBytes: wantHere },
    );
  if (!sameDisk && free(dirname(o.out)) < need)
    throw new HubError(
      'backup_storage_full',
      `the output's disk has ${free(dirname(o.out))} bytes free; this backup needs about ${need}`,
      { freeBytes: free(dirname(o.out)), neededBytes: need },
    );
}

/**
 * Recordings into staging by hard link (same disk: no copy, and a segment retention removes
 * meanwhile stays readable until staging goes), else by copy. One gone since it was listed is
 * left out. Returns the archive paths staged.
 */
function stageRecordings(recordings: RecordingFile[], staging: string): string[] {
  const staged: string[] = [];
  for (const r of recordings) {
    const to = join(staging, r.path);
    mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
    try {
      try {
        linkSync(r.source, to);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err;
        copyFileSync(r.source, to);
      }
      staged.push(r.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return staged;
}

/** Where staging dirs are made: DATA/backups, beside the hub's own backups. */
const STAGING_PARENT = 'backups';

/**
 * Removes staging dirs (plaintext copies) left by a backup that was killed: those whose process
 * is gone. A live one (a console backup while the hub runs) is left alone.
 */
export function removeStaleStaging(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^\.staging-(\d+)-/.exec(name);
    if (m && !isAlive(Number(m[1]))) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/**
 * Pages copied per step of the online backup. Between steps the event loop runs (MQTT, rules,
 * HTTP): SQLite's backup API copies `SNAPSHOT_STEP_PAGES` pages (400 KiB at 4 KiB pages) and
 * better-sqlite3 yields before the next step. A write in between through the hub's own connection
 * is carried into the copy by SQLite (no restart), and the writer is never blocked.
 */
export const SNAPSHOT_STEP_PAGES = 100;

async function snapshotDatabase(o: CreateBackupOptions, to: string): Promise<void> {
  const progress = (p: { totalPages: number; remainingPages: number }): number => {
    o.onSnapshotStep?.(p);
    return SNAPSHOT_STEP_PAGES;
  };
  if (o.db) {
    await o.db.backup(to, { progress });
    return;
  }
  // A stopped hub's data dir (hearth-admin): a connection of our own, never creating the file.
  const path = join(o.dataDir, DATABASE_FILE);
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true });
  } catch (err) {
    throw new HubError('not_found', `no hub database at ${path}`, undefined, { cause: err });
  }
  try {
    db.pragma('busy_timeout = 5000');
    await db.backup(to, { progress });
  } finally {
    db.close();
  }
}

function checkIntegrity(snapshot: string): void {
  const db = new Database(snapshot, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    if (rows.some((r) => r.integrity_check !== 'ok'))
      throw new HubError('backup_corrupt', 'the database snapshot fails integrity_check');
  } finally {
    db.close();
  }
}

/** Versions and counts for the manifest, read from the snapshot (not the live database). */
function describe(snapshot: string): Pick<BackupManifest, 'schemaVersion' | 'home' | 'counts'> {
  const db = new Database(snapshot, { readonly: true });
  try {
    const count = (sql: string): number => (db.prepare(sql).pluck().get() as number | undefined) ?? 0;
    const has = (table: string): boolean =>
      count(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '${table}'`) > 0;
    return {
      schemaVersion: db.pragma('user_version', { simple: true }) as number,
      home: has('homes')
        ? ((db.prepare('SELECT name FROM homes ORDER BY created_at LIMIT 1').pluck().get() as string | undefined) ?? '')
        : '',
      counts: {
        users: has('users') ? count('SELECT count(*) FROM users') : 0,
        devices: has('devices') ? count('SELECT count(*) FROM devices') : 0,
        plugs: has('devices') ? count("SELECT count(*) FROM devices WHERE driver = 'plug'") : 0,
        rules: has('rules') ? count('SELECT count(*) FROM rules') : 0,
      },
    };
  } finally {
    db.close();
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path)) hash.update(piece as Buffer);
  return hash.digest('hex');
}

export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `hearth-<home>-<time>.hbk`, the home's name reduced to a safe slug. */
export function backupFileName(home: string, at: number): string {
  const slug =
    home
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'home';
  // Basic ISO 8601 to the millisecond (20261207T172118123Z): sorts by time, safe in a URL.
  const time = new Date(at).toISOString().replace(/[-:.]/g, '');
  return basename(`hearth-${slug}-${time}.hbk`);
}
