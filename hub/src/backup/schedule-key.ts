import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_KDF, deriveBackupSecret, type BackupSecret, type KdfParams } from './kdf.ts';

/**
 * The scheduled backups' key, in `DATA/backup-schedule.key` (0600): the argon2id output of the
 * owner's schedule passphrase for one salt (kdf.ts `BackupSecret`), never the passphrase itself.
 * The hub needs it at 3 a.m. with nobody there to type the passphrase; keeping the derived key
 * instead means:
 * - the passphrase cannot be recovered from the card (argon2id is one-way), so backups the owner
 *   made by hand with other passphrases stay closed, and a passphrase used elsewhere does not leak;
 * - whoever holds the card (a stolen hub) can open the scheduled backups, but holds the live
 *   database with every key already: the scheduled backups protect the copies that leave the hub
 *   (a USB stick, the relay), which is their point;
 * - it is never inside a backup (contents.ts takes only the database, zigbee/ and firmware/), so a
 *   backup made with one passphrase cannot open the ones made with another. A restored hub has
 *   the schedule but not its key: the owner sets the passphrase again (status `keyMissing`).
 * Each file still gets its own chunk key (format 2's file salt), so one stored key never repeats
 * a nonce.
 */
export const SCHEDULE_KEY_FILE = 'backup-schedule.key';

interface Stored {
  v: 1;
  salt: string;
  kdf: KdfParams;
  key: string;
  check: string;
}

export async function makeScheduleKey(
  dataDir: string,
  passphrase: string,
  kdf: KdfParams = DEFAULT_KDF,
): Promise<void> {
  const secret = await deriveBackupSecret(passphrase, randomBytes(16), kdf);
  const stored: Stored = {
    v: 1,
    salt: secret.salt.toString('base64'),
    kdf: secret.kdf,
    key: secret.key.toString('base64'),
    check: secret.check.toString('base64'),
  };
  const path = join(dataDir, SCHEDULE_KEY_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(stored)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
  secret.key.fill(0);
}

/** The stored key, or undefined when there is none (never set, removed, or a restored hub). */
export function readScheduleKey(dataDir: string): BackupSecret | undefined {
  let s: Stored;
  try {
    s = JSON.parse(readFileSync(join(dataDir, SCHEDULE_KEY_FILE), 'utf8')) as Stored;
  } catch {
    return undefined;
  }
  if (s?.v !== 1 || typeof s.key !== 'string') return undefined;
  return {
    salt: Buffer.from(s.salt, 'base64'),
    kdf: s.kdf,
    key: Buffer.from(s.key, 'base64'),
    check: Buffer.from(s.check, 'base64'),
  };
}

export function removeScheduleKey(dataDir: string): void {
  rmSync(join(dataDir, SCHEDULE_KEY_FILE), { force: true });
}
