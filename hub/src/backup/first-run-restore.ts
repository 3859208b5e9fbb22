import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync, statfsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { FREE_SPACE_MARGIN_BYTES } from './create.ts';
import type { BackupManifest } from './manifest.ts';
import { restoreBackup } from './restore.ts';
import { BACKUPS_DIR } from './service.ts';
import { verifyBackup } from './verify.ts';

/**
 * "Restore from a backup" on a new hub's first-run screen (`POST /api/v1/setup/restore`). The
 * upload is streamed to DATA/backups (never held in memory), bounded by the free space, then
 * verified in full (passphrase, every chunk and hash, integrity_check) while the hub keeps
 * running. Only then is the hub asked to stop; once every part has stopped (database closed),
 * `finish` swaps the data dir as `hearth-admin restore` does (the new hub's dir kept as the safety
 * copy) and the process exits 75 so its service manager starts it again on the restored home.
 */
export class FirstRunRestore {
  readonly #dataDir: string;
  readonly #log: Logger;
  #pending: { file: string; passphrase: string } | undefined;
  #busy = false;

  constructor(deps: { dataDir: string; log: Logger }) {
    this.#dataDir = deps.dataDir;
    this.#log = deps.log;
  }

  get pending(): boolean {
    return this.#pending !== undefined;
  }

  /** Takes the uploaded file and checks it; throws the file's refusal and keeps nothing. */
  async accept(body: Readable, passphrase: string): Promise<BackupManifest> {
    if (this.#busy || this.#pending) throw new HubError('backup_in_progress', 'a restore is already under way');
    this.#busy = true;
    const dir = join(this.#dataDir, BACKUPS_DIR);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `.upload-${process.pid}-${randomBytes(4).toString('hex')}.hbk`);
    try {
      // The whole home arrives here, and is unpacked once more by the restore: half the free
      // space each, with the margin kept for the running hub.
      const s = statfsSync(dir);
      const allowed = Math.floor((Number(s.bavail) * Number(s.bsize) - FREE_SPACE_MARGIN_BYTES) / 2);
      let received = 0;
      const bound = new Transform({
        transform(chunk: Buffer, _enc, done) {
          received += chunk.length;
          if (received > allowed)
            return done(
              new HubError(
                'backup_storage_full',
                `the hub's disk has room for a backup of about ${Math.max(0, allowed)} bytes`,
                { neededBytes: received, freeBytes: Math.max(0, allowed) },
              ),
            );
          done(null, chunk);
        },
      });
      await pipeline(body, bound, createWriteStream(file, { mode: 0o600, flags: 'wx' }));
      if (received === 0) throw new HubError('backup_corrupt', 'no file was sent');
      const manifest = await verifyBackup(file, passphrase, dir);
      this.#pending = { file, passphrase };
      this.#log.warn(
        { home: manifest.home, createdAt: manifest.createdAt, counts: manifest.counts },
        'first-run restore accepted: the hub stops and restores',
      );
      return manifest;
    } catch (err) {
      rmSync(file, { force: true });
      throw err;
    } finally {
      this.#busy = false;
    }
  }

  /** After every part stopped: the data dir swap. The process exits after it either way. */
  async finish(): Promise<void> {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    try {
      const done = await restoreBackup({ file: pending.file, dataDir: this.#dataDir, passphrase: pending.passphrase });
      // The upload went with the replaced dir; the safety copy does not need it.
      if (done.safetyCopy) rmSync(join(done.safetyCopy, BACKUPS_DIR, basename(pending.file)), { force: true });
      this.#log.warn(
        { safetyCopy: done.safetyCopy, plugCountersMoved: done.plugsMoved },
        'first-run restore done: restarting on the restored home',
      );
    } catch (err) {
      rmSync(pending.file, { force: true });
      this.#log.error({ err }, 'first-run restore failed; the new hub is left as it was');
    }
  }
}
