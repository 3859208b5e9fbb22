import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { backupFileName, createBackup, removeStaleStaging } from './create.ts';
import type { KdfParams } from './kdf.ts';
import type { BackupInfo, FirstRunControl, ScheduleControl } from './schedule-types.ts';
import { RECORDINGS_ENTRY_DIR, recordingsSize, type RecordingsSize } from './recordings.ts';
import { checkSealedBackup, verifyBackup } from './verify.ts';

export type { BackupInfo } from './schedule-types.ts';

export interface BackupServiceDeps {
  dataDir: string;
  /** The running hub's database, snapshotted online. */
  db: () => Database.Database;
  /** The home's name, for the file name. */
  home: () => string;
  clock: Clock;
  log: Logger;
  /** Backups kept in DATA/backups; the oldest beyond it are removed after each new one. */
  keep?: number;
  kdf?: KdfParams;
  /**
   * Run before each backup's snapshot: parts that keep files in the data dir bring them up to
   * date (the Zigbee driver writes herdsman's database and a fresh coordinator backup, whose NWK
   * frame counter a restored coordinator must start above). Bounded by `prepareTimeoutMs`; a
   * failure is logged and the backup goes ahead with the files as they are.
   */
  prepare?: () => Promise<void>;
  prepareTimeoutMs?: number;
  /** The recorder's dir: camera recordings go into a backup only when the owner asks. */
  recordingsDir?: string;
  /** The most bytes of recordings one backup takes (`backup_recordings_too_large` above). */
  maxRecordingsBytes?: number;
  /**
   * Tests only: runs between sealing a file and verifying it (a disk that damages what it
   * stores), so the refusal and the removal can be shown on a real file.
   */
  sealed?: (path: string) => Promise<void>;
}

/** 16 GiB: a few weeks of one camera; a file that size takes minutes to write, verify and download. */
export const DEFAULT_MAX_RECORDINGS_BYTES = 16 * 1024 ** 3;

export const BACKUPS_DIR = 'backups';
export const DEFAULT_KEEP = 5;
const ID = /^hearth-[a-z0-9-]{1,40}-\d{8}T\d{9}Z$/;

/**
 * Backups made by the running hub (`POST /api/v1/backups`), kept in DATA/backups (0700 dir,
 * 0600 files), each verified (opened, hashes and integrity_check) before it counts. One at a
 * time: making one costs a database snapshot, a copy of the Zigbee and firmware files and a
 * second of argon2id, so a second request while one runs is refused with `backup_in_progress`
 * rather than queued. At most `keep` are kept.
 */
export class BackupService {
  readonly #d: BackupServiceDeps;
  readonly #dir: string;
  #busy = false;
  /** The nightly backups (schedule.ts), set by the hub; absent in tools and tests that need none. */
  schedule: ScheduleControl | undefined;
  /** First-run restore (first-run-restore.ts), set by the hub. */
  firstRun: FirstRunControl | undefined;

  constructor(deps: BackupServiceDeps) {
    this.#d = deps;
    this.#dir = join(deps.dataDir, BACKUPS_DIR);
    this.#removeLeftovers();
  }

  /**
   * Runs `fn` as the one backup being made (the API's and the schedule's share the slot);
   * `backup_in_progress` while another runs.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#busy) throw new HubError('backup_in_progress', 'a backup is being made; try again when it is done');
    this.#busy = true;
    try {
      await this.#prepare();
      return await fn();
    } finally {
      this.#busy = false;
    }
  }

  /** What the recordings would add to a backup, shown before the owner opts in. */
  recordings(): RecordingsSize & { maxBytes: number } {
    const size = this.#d.recordingsDir ? recordingsSize(this.#d.recordingsDir) : { files: 0, bytes: 0 };
    return { ...size, maxBytes: this.#maxRecordingsBytes };
  }

  get #maxRecordingsBytes(): number {
    return this.#d.maxRecordingsBytes ?? DEFAULT_MAX_RECORDINGS_BYTES;
  }

  async create(passphrase: string, options: { recordings?: boolean } = {}): Promise<BackupInfo> {
    return this.exclusive(async () => {
      const at = this.#d.clock.now();
      const name = backupFileName(this.#d.home(), at);
      const out = join(this.#dir, name);
      const withRecordings = options.recordings === true && this.#d.recordingsDir !== undefined;
      const made = await createBackup({
        dataDir: this.#d.dataDir,
        db: this.#d.db(),
        out,
        passphrase,
        now: at,
        ...(this.#d.kdf ? { kdf: this.#d.kdf } : {}),
        ...(withRecordings
          ? { recordings: { root: this.#d.recordingsDir!, maxBytes: this.#maxRecordingsBytes }, checkSnapshot: true }
          : {}),
      });
      // A backup that cannot be opened is worse than none: it is checked before it counts (and
      // before an older, good one is pruned for it). With recordings the check reads the file
      // once and writes nothing (the snapshot was integrity-checked before sealing): a plaintext
      // scratch copy of gigabytes of footage would double the disk it needs.
      try {
        await this.#d.sealed?.(out);
        if (withRecordings) await checkSealedBackup(out, passphrase);
        else await verifyBackup(out, passphrase, this.#dir);
      } catch (err) {
        rmSync(out, { force: true });
        this.#d.log.error({ err, file: name }, 'backup failed its verification; removed');
        throw new HubError(
          'backup_verify_failed',
          `the new backup did not verify (${(err as Error).message}); nothing was kept`,
          undefined,
          { cause: err },
        );
      }
      this.#prune();
      this.#d.log.info({ file: name, bytes: made.bytes, counts: made.manifest.counts }, 'backup made');
      const info: BackupInfo = { id: name.replace(/\.hbk$/, ''), bytes: made.bytes, createdAt: at };
      if (withRecordings) {
        const footage = made.manifest.entries.filter((e) => e.path.startsWith(`${RECORDINGS_ENTRY_DIR}/`));
        info.recordings = { files: footage.length, bytes: footage.reduce((sum, e) => sum + e.bytes, 0) };
      }
      return info;
    });
  }

  /** Newest first. */
  list(): BackupInfo[] {
    return listBackups(this.#dir);
  }

  /** The file of one backup, for download; `backup_not_found` for anything else. */
  file(id: string): { path: string; name: string; bytes: number } {
    if (!ID.test(id)) throw new HubError('backup_not_found', 'no such backup');
    const name = `${id}.hbk`;
    const path = join(this.#dir, name);
    try {
      return { path, name, bytes: statSync(path).size };
    } catch {
      throw new HubError('backup_not_found', 'no such backup');
    }
  }

  async #prepare(): Promise<void> {
    const prepare = this.#d.prepare;
    if (!prepare) return;
    const ms = this.#d.prepareTimeoutMs ?? 30_000;
    let timer: { cancel(): void } | undefined;
    try {
      await Promise.race([
        prepare(),
        new Promise<never>((_, reject) => {
          timer = this.#d.clock.setTimeout(() => reject(new Error(`not done within ${ms} ms`)), ms);
        }),
      ]);
    } catch (err) {
      this.#d.log.warn(
        { err: (err as Error).message },
        'parts did not refresh their files before the backup; backing up the last ones',
      );
    } finally {
      timer?.cancel();
    }
  }

  #prune(): void {
    for (const old of this.list().slice(this.#d.keep ?? DEFAULT_KEEP))
      rmSync(join(this.#dir, `${old.id}.hbk`), { force: true });
  }

  /** A hub stopped mid-backup leaves a `.partial` file and a staging dir: neither is a backup. */
  #removeLeftovers(): void {
    let names: string[] = [];
    try {
      names = readdirSync(this.#dir);
    } catch {
      return;
    }
    for (const n of names) if (n.endsWith('.hbk.partial')) rmSync(join(this.#dir, n), { force: true });
    removeStaleStaging(this.#dir);
  }
}

/** The backups (`hearth-<home>-<time>.hbk`) in `dir`, newest first; nothing else there counts. */
export function listBackups(dir: string): BackupInfo[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.hbk') && ID.test(n.slice(0, -4)))
    .flatMap((n) => {
      const stat = statSync(join(dir, n), { throwIfNoEntry: false });
      return stat ? [{ id: n.slice(0, -4), bytes: stat.size, createdAt: createdAtOf(n) }] : [];
    })
    .sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id));
}

/** `hearth-<home>-20261207T172118123Z.hbk` → its time in ms. */
function createdAtOf(name: string): number {
  const m = /(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z\.hbk$/.exec(name)!;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!);
}
