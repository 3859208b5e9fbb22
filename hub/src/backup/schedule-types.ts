/** The shapes the backup service, the schedule and the API share (no code: keeps imports one way). */

export interface BackupInfo {
  id: string;
  bytes: number;
  createdAt: number;
  /** When the backup holds camera recordings (only on request): how many segments, how many bytes. */
  recordings?: { files: number; bytes: number };
}

/** The schedule, a home setting (`backup.schedule`): nightly at `time`, local to the home. */
export interface BackupSchedule {
  enabled: boolean;
  /** HH:MM in the home's time zone (`home.timezone`, else the hub's). */
  time: string;
  /** Scheduled backups kept in `backup.dir`; the oldest beyond it are removed after a good one. */
  keep: number;
  /** Also store each scheduled backup at the relay (off-site), within the home's quota there. */
  offsite?: boolean;
  /** When it was last switched on: no "stale" alert for runs due before that. */
  enabledAt?: number;
}

export interface ScheduleRunRecord {
  lastRunAt: number | null;
  lastGoodAt: number | null;
  lastGood: string | null;
  /** `reason`: the relay's refusal code when the off-site copy failed (`backup_quota_exceeded`, ...). */
  lastError: { code: string; message: string; at: number; file?: string; reason?: string } | null;
  /** The last backup stored at the relay, and when. */
  lastOffsite?: string | null;
  lastOffsiteAt?: number | null;
}

export interface ScheduleStatus extends BackupSchedule, ScheduleRunRecord {
  dir: string;
  timeZone: string;
  /** Whether the schedule's key is on this hub (false after a restore: set the passphrase again). */
  passphraseSet: boolean;
  nextRunAt: number | null;
  /** No good backup since the last run that was due (an alert was raised). */
  stale: boolean;
  files: BackupInfo[];
}

export interface ScheduleChange {
  enabled: boolean;
  time: string;
  keep: number;
  offsite?: boolean;
  /** Sets (or replaces) the schedule's passphrase; needed to switch on a schedule without a key. */
  passphrase?: string;
}

/** What the API reaches of the schedule (schedule.ts `BackupScheduler`). */
export interface ScheduleControl {
  status(): ScheduleStatus;
  set(change: ScheduleChange): Promise<ScheduleStatus>;
  runNow(): Promise<BackupInfo>;
}

/** What the API reaches of a first-run restore (first-run-restore.ts, wired by the hub). */
export interface FirstRunControl {
  accept(
    body: import('node:stream').Readable,
    passphrase: string,
  ): Promise<{ home: string; createdAt: number; counts: Record<string, number> }>;
  /** After the answer went out: the hub stops, swaps the data dir and exits to be restarted. */
  restart(): void;
}
