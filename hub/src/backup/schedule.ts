import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { BackupAlertEvent, EventBus } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { canonicalTimeZone, processTimeZone, Zone } from '../history/zone.ts';
import { homeTimeZoneSetting } from '../devices/home.ts';
import type { SettingsRepo } from '../store/settings-repo.ts';
import { backupFileName, createBackup } from './create.ts';
import type { KdfParams } from './kdf.ts';
import { makeScheduleKey, readScheduleKey, removeScheduleKey } from './schedule-key.ts';
import type {
  BackupInfo,
  BackupSchedule,
  ScheduleChange,
  ScheduleRunRecord,
  ScheduleStatus,
} from './schedule-types.ts';
import { listBackups, type BackupService } from './service.ts';
import { authenticateBackup, checkSealedBackup } from './verify.ts';

export interface BackupSchedulerDeps {
  dataDir: string;
  /** Where the scheduled backups go (`backup.dir`). Not DATA/backups: that is the API's, pruned to its own count. */
  dir: string;
  db: () => Database.Database;
  home: () => string;
  settings: SettingsRepo;
  service: Pick<BackupService, 'exclusive'>;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  kdf?: KdfParams;
  /** Stores a file at the relay (off-site); absent without remote access. */
  offsite?: (path: string, id: string) => Promise<void>;
  /**
   * Tests only: runs between sealing a file and reading it back (a disk that damages what it
   * stores), so the read-back's refusal, removal and alert can be shown on a real file.
   */
  sealed?: (path: string) => Promise<void>;
}

export const SCHEDULE_SETTING = 'backup.schedule';
export const SCHEDULE_RUN_SETTING = 'backup.schedule.runs';
const DEFAULT_SCHEDULE: BackupSchedule = { enabled: false, time: '03:00', keep: 7 };
export const KEEP_MAX = 60;
export const TIME_PATTERN = '^([01][0-9]|2[0-3]):[0-5][0-9]$';
const DAY = 24 * 3600_000;
/** A due run has this long to produce a good backup before the "stale" alert. */
export const STALE_GRACE_MS = 3600_000;
/** How often the stale check looks (cheap: a settings read). */
const WATCH_EVERY_MS = 15 * 60_000;
/** A run that finds another backup being made tries again this much later. */
const BUSY_RETRY_MS = 5 * 60_000;

/**
 * Scheduled backups: nightly at a local time, into `backup.dir` (a USB stick), keeping the newest
 * `keep`. Each run seals with the stored schedule key (schedule-key.ts: no passphrase at 3 a.m.),
 * verifies the new file fully (opened into a scratch dir in DATA/backups, every chunk and hash,
 * `integrity_check`), reads every older kept file through again (chunk authentication only, no
 * scratch copy: a changed byte on the stick is caught without rewriting the home to the card
 * each night) and sets a damaged one aside as `.hbk.corrupt`. A failed run, a damaged file and
 * no good backup an hour after a due run each raise `backup.alert` (the owners' event stream,
 * their phones through the relay) and show in the status. All timers are on the injected clock.
 */
export class BackupScheduler {
  readonly #d: BackupSchedulerDeps;
  #runTimer: TimerHandle | undefined;
  #retryTimer: TimerHandle | undefined;
  #watch: TimerHandle | undefined;
  #running: Promise<unknown> | undefined;
  #staleAlerted = false;
  #stopped = true;

  constructor(deps: BackupSchedulerDeps) {
    this.#d = deps;
  }

  start(): void {
    this.#stopped = false;
    this.#arm();
    this.#watch = this.#d.clock.setInterval(() => this.#checkStale(), WATCH_EVERY_MS);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#runTimer?.cancel();
    this.#retryTimer?.cancel();
    this.#watch?.cancel();
    await this.idle();
  }

  /** Resolves once no run is in progress (tests on a ManualClock wait on it after `advance`). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running.catch(() => {});
  }

  schedule(): BackupSchedule {
    return { ...DEFAULT_SCHEDULE, ...(this.#d.settings.get<BackupSchedule>(SCHEDULE_SETTING) ?? {}) };
  }

  status(): ScheduleStatus {
    const s = this.schedule();
    const now = this.#d.clock.now();
    return {
      ...s,
      ...this.#runs(),
      dir: this.#d.dir,
      timeZone: this.#zone().name,
      passphraseSet: readScheduleKey(this.#d.dataDir) !== undefined,
      nextRunAt: s.enabled ? this.#nextRunAt(now) : null,
      stale: this.#isStale(now),
      files: listBackups(this.#d.dir),
    };
  }

  /**
   * Changes the schedule. A passphrase (8+ characters, checked by the route) derives and stores a
   * new key (about a second of argon2id); switching on without one and without a stored key is
   * `backup_passphrase_required`. Switching off removes the key: no secret sits unused on the card.
   */
  async set(change: ScheduleChange): Promise<ScheduleStatus> {
    const before = this.schedule();
    if (change.enabled && change.passphrase === undefined && !readScheduleKey(this.#d.dataDir)) {
      throw new HubError(
        'backup_passphrase_required',
        'scheduled backups need a passphrase: it is the only way to open them',
        { field: 'passphrase' },
      );
    }
    if (change.enabled && change.passphrase !== undefined)
      await makeScheduleKey(this.#d.dataDir, change.passphrase, this.#d.kdf);
    if (!change.enabled) removeScheduleKey(this.#d.dataDir);
    const enabledAt = change.enabled
      ? before.enabled && before.enabledAt !== undefined
        ? before.enabledAt
        : this.#d.clock.now()
      : undefined;
    const next: BackupSchedule = {
      enabled: change.enabled,
      time: change.time,
      keep: change.keep,
      offsite: change.offsite ?? before.offsite ?? false,
      ...(enabledAt !== undefined ? { enabledAt } : {}),
    };
    this.#d.settings.set(SCHEDULE_SETTING, next);
    this.#staleAlerted = false;
    if (!this.#stopped) this.#arm();
    return this.status();
  }

  /**
   * One scheduled backup now (also what the timer runs): made, verified, older ones checked and
   * pruned. Throws the refusal (`backup_schedule_key_missing`, `backup_in_progress`,
   * `backup_verify_failed`, ...) after recording and alerting it.
   */
  async runNow(): Promise<BackupInfo> {
    const run = this.#run();
    this.#running = run;
    try {
      return await run;
    } finally {
      if (this.#running === run) this.#running = undefined;
    }
  }

  async #run(): Promise<BackupInfo> {
    const { clock, dir, dataDir } = this.#d;
    const at = clock.now();
    const key = readScheduleKey(dataDir);
    const record = this.#runs();
    record.lastRunAt = at;
    try {
      if (!key)
        throw new HubError(
          'backup_schedule_key_missing',
          'the schedule has no passphrase on this hub (restored or never set): set it again',
        );
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const name = backupFileName(this.#d.home(), at);
      const out = join(dir, name);
      const id = name.slice(0, -4);
      const made = await this.#d.service.exclusive(async () => {
        // integrity_check on the snapshot, then the sealed file read back against the manifest's
        // hashes: the check verifyBackup makes, with no plaintext copy written each night.
        const made = await createBackup({
          dataDir,
          db: this.#d.db(),
          out,
          passphrase: key,
          now: at,
          checkSnapshot: true,
        });
        try {
          await this.#d.sealed?.(out);
          await checkSealedBackup(out, key);
        } catch (err) {
          rmSync(out, { force: true });
          throw new HubError(
            'backup_verify_failed',
            `the scheduled backup did not verify (${(err as Error).message}); it was removed`,
            { file: id },
            { cause: err },
          );
        }
        return made;
      });
      record.lastGoodAt = at;
      record.lastGood = id;
      record.lastError = null;
      this.#staleAlerted = false;
      const damaged = await this.#checkKept(key, id);
      this.#prune();
      if (damaged.length > 0) {
        const message = `${damaged.length} older scheduled backup(s) no longer open and were set aside as .hbk.corrupt: ${damaged.join(', ')}`;
        record.lastError = { code: 'backup_corrupt', message, at, file: damaged[0]! };
        this.#alert({ kind: 'corrupt', code: 'backup_corrupt', message, file: damaged[0]!, lastGoodAt: at, at });
      }
      // Off-site after it verified here: a copy at the relay is never one that did not open.
      if (this.schedule().offsite) {
        try {
          if (!this.#d.offsite)
            throw new HubError('backup_offsite_failed', 'this hub has no remote access', {
              code: 'relay_not_configured',
            });
          await this.#d.offsite(out, id);
          record.lastOffsite = id;
          record.lastOffsiteAt = clock.now();
        } catch (err) {
          const code = err instanceof HubError ? err.code : 'backup_offsite_failed';
          const message = `stored here but not at the relay: ${(err as Error).message}`;
          const reason =
            err instanceof HubError && typeof err.details?.code === 'string' ? err.details.code : undefined;
          record.lastError = { code, message, at, file: id, ...(reason ? { reason } : {}) };
          this.#d.log.error({ err, file: id }, 'scheduled backup not stored off-site');
          this.#alert({ kind: 'failed', code, message, file: id, lastGoodAt: at, at });
        }
      }
      this.#d.log.info({ file: name, bytes: made.bytes }, 'scheduled backup made and verified');
      return { id, bytes: made.bytes, createdAt: at };
    } catch (err) {
      const code = err instanceof HubError ? err.code : 'backup_failed';
      const message = (err as Error).message;
      // Another backup in the slot is not a failure: the run is tried again a little later.
      if (code === 'backup_in_progress') {
        this.#retryTimer?.cancel();
        if (!this.#stopped)
          this.#retryTimer = this.#d.clock.setTimeout(() => void this.runNow().catch(() => {}), BUSY_RETRY_MS);
        throw err;
      }
      const file = err instanceof HubError && typeof err.details?.file === 'string' ? err.details.file : undefined;
      record.lastError = { code, message, at, ...(file ? { file } : {}) };
      this.#d.log.error({ err, code }, 'scheduled backup failed');
      this.#alert({ kind: 'failed', code, message, ...(file ? { file } : {}), lastGoodAt: record.lastGoodAt, at });
      throw err instanceof HubError ? err : new HubError('backup_failed', message, undefined, { cause: err });
    } finally {
      this.#d.settings.set(SCHEDULE_RUN_SETTING, record);
    }
  }

  /** Reads every kept scheduled backup but the new one through; a damaged one is moved aside. */
  async #checkKept(key: NonNullable<ReturnType<typeof readScheduleKey>>, newId: string): Promise<string[]> {
    const damaged: string[] = [];
    for (const b of listBackups(this.#d.dir)) {
      if (b.id === newId) continue;
      const path = join(this.#d.dir, `${b.id}.hbk`);
      try {
        await authenticateBackup(path, key);
      } catch (err) {
        // A file made with an earlier passphrase cannot be read with this key: not damage.
        if (err instanceof HubError && err.code === 'backup_passphrase_wrong') continue;
        damaged.push(b.id);
        renameSync(path, `${path}.corrupt`);
        this.#d.log.error({ err, file: b.id }, 'a kept scheduled backup is damaged; set aside');
      }
    }
    return damaged;
  }

  #prune(): void {
    for (const old of listBackups(this.#d.dir).slice(this.schedule().keep))
      rmSync(join(this.#d.dir, `${old.id}.hbk`), { force: true });
  }

  #runs(): ScheduleRunRecord {
    return {
      lastRunAt: null,
      lastGoodAt: null,
      lastGood: null,
      lastError: null,
      ...(this.#d.settings.get<ScheduleRunRecord>(SCHEDULE_RUN_SETTING) ?? {}),
    };
  }

  #arm(): void {
    this.#runTimer?.cancel();
    this.#runTimer = undefined;
    const s = this.schedule();
    if (!s.enabled) return;
    const now = this.#d.clock.now();
    this.#runTimer = this.#d.clock.setTimeout(() => this.#fire(), this.#nextRunAt(now) - now);
  }

  #fire(): void {
    if (this.#stopped) return;
    if (this.#running) return void this.#running.finally(() => this.#fire());
    void this.runNow().catch(() => {}); // recorded and alerted by the run
    this.#arm();
  }

  #zone(): Zone {
    const set = homeTimeZoneSetting(this.#d.settings);
    return new Zone((typeof set === 'string' ? canonicalTimeZone(set) : undefined) ?? processTimeZone());
  }

  /** The schedule's local HH:MM on the local day of wall-clock time `wall`, as wall-clock ms. */
  #slot(wall: number): number {
    const [hh, mm] = this.schedule().time.split(':').map(Number) as [number, number];
    return Math.floor(wall / DAY) * DAY + hh * 3600_000 + mm * 60_000;
  }

  /** The first scheduled instant after `now`. */
  #nextRunAt(now: number): number {
    const zone = this.#zone();
    const wall = zone.wall(now);
    let slot = this.#slot(wall);
    if (slot <= wall) slot += DAY;
    return zone.instant(slot);
  }

  /** The last scheduled instant at or before `t`. */
  #previousRunAt(t: number): number {
    const zone = this.#zone();
    const wall = zone.wall(t);
    let slot = this.#slot(wall);
    if (slot > wall) slot -= DAY;
    return zone.instant(slot);
  }

  #isStale(now: number): boolean {
    const s = this.schedule();
    if (!s.enabled) return false;
    const due = this.#previousRunAt(now - STALE_GRACE_MS);
    if (due < (s.enabledAt ?? 0)) return false;
    return (this.#runs().lastGoodAt ?? -Infinity) < due;
  }

  #checkStale(): void {
    const now = this.#d.clock.now();
    if (!this.#isStale(now)) {
      this.#staleAlerted = false;
      return;
    }
    if (this.#staleAlerted || this.#running) return;
    this.#staleAlerted = true;
    const last = this.#runs().lastGoodAt;
    this.#alert({
      kind: 'stale',
      code: 'backup_stale',
      message:
        last === null
          ? 'no scheduled backup has succeeded yet'
          : `the last good backup is from ${new Date(last).toISOString()}, older than the schedule`,
      lastGoodAt: last,
      at: now,
    });
  }

  #alert(event: BackupAlertEvent): void {
    this.#d.log.warn({ alert: event }, 'backup alert');
    this.#d.bus.emit('backup.alert', event);
  }
}
