import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createReadStream } from 'node:fs';
import Database from 'better-sqlite3';
import { HubError } from '../core/errors.ts';
import { DATABASE_FILE } from '../store/store.ts';
import { ContainerExtractor } from './container.ts';
import type { BackupManifest } from './manifest.ts';
import type { BackupSecret } from './kdf.ts';
import { OpenStream } from './sealed-stream.ts';

/**
 * Proves a backup can be restored without restoring it: opens it into a scratch dir under
 * `scratchParent` (every chunk authenticated, every entry against the manifest's hash), runs
 * `PRAGMA integrity_check` on the database, then removes the scratch dir. Throws the file's
 * refusal (`backup_corrupt`, `backup_passphrase_wrong`, ...) or `backup_corrupt` for a database
 * that fails its check.
 */
export async function verifyBackup(
  file: string,
  passphrase: string | BackupSecret,
  scratchParent: string,
): Promise<BackupManifest> {
  mkdirSync(scratchParent, { recursive: true, mode: 0o700 });
  const scratch = mkdtempSync(join(scratchParent, `.staging-${process.pid}-verify-`));
  try {
    const extractor = new ContainerExtractor(scratch, { onManifest: () => {} });
    await pipeline(createReadStream(file), new OpenStream(passphrase), extractor);
    const db = new Database(join(scratch, DATABASE_FILE), { readonly: true, fileMustExist: true });
    try {
      const rows = db.pragma('integrity_check') as { integrity_check: string }[];
      if (rows.some((r) => r.integrity_check !== 'ok'))
        throw new HubError('backup_corrupt', 'the database in the backup fails integrity_check');
    } finally {
      db.close();
    }
    return extractor.manifest()!;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Reads a backup through, authenticating every chunk, and writes nothing: catches any byte that
 * changed on the disk since the file was verified (the AEAD covers every byte), without the
 * scratch copy a full verification writes. Used on the scheduled backups already kept.
 */
export async function authenticateBackup(file: string, passphrase: string | BackupSecret): Promise<void> {
  await pipeline(
    createReadStream(file),
    new OpenStream(passphrase),
    new Writable({ write: (_chunk, _enc, done) => done() }),
  );
}

/**
 * Checks a backup by reading it once and writing nothing: every chunk authenticated, every
 * entry's size and SHA-256 against the manifest, every listed entry present. Together with an
 * `integrity_check` of the snapshot before it was sealed (createBackup `checkSnapshot`), this
 * proves what `verifyBackup` proves, since the database in the file is byte for byte the one
 * checked, without writing a plaintext copy of the home to the data disk (the scheduled backups'
 * nightly check: docs/writes.md).
 */
export async function checkSealedBackup(file: string, passphrase: string | BackupSecret): Promise<BackupManifest> {
  const extractor = new ContainerExtractor(null, { onManifest: () => {} });
  await pipeline(createReadStream(file), new OpenStream(passphrase), extractor);
  return extractor.manifest()!;
}
