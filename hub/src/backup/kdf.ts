import { argon2, createHash, hkdfSync, timingSafeEqual } from 'node:crypto';
import { HubError } from '../core/errors.ts';

/**
 * The backup key comes from the owner's passphrase through argon2id (RFC 9106), the same
 * memory-hard KDF the hub already trusts for passwords (Node's built-in, no native add-on).
 * A backup file may sit on a USB stick or a relay for years, so the parameters are stronger than
 * the login hash's: 64 MiB and 3 passes (RFC 9106's second recommended option), about a second
 * on a Raspberry Pi 4, once per backup or restore. The parameters travel in the file's header so
 * they can be raised later; a reader refuses headers that ask for more than the bounds below.
 */
export interface KdfParams {
  memoryKiB: number;
  passes: number;
  parallelism: number;
}

export const DEFAULT_KDF: KdfParams = { memoryKiB: 65_536, passes: 3, parallelism: 1 };

/** Bounds a header may ask for: a tampered file must not make a restore allocate gigabytes. */
export const KDF_BOUNDS = {
  memoryKiB: { min: 8_192, max: 1 << 20 },
  passes: { min: 1, max: 16 },
  parallelism: { min: 1, max: 16 },
} as const;

export function checkKdfParams(p: KdfParams): boolean {
  return (Object.keys(KDF_BOUNDS) as (keyof KdfParams)[]).every(
    (k) => Number.isInteger(p[k]) && p[k] >= KDF_BOUNDS[k].min && p[k] <= KDF_BOUNDS[k].max,
  );
}

export interface BackupKeys {
  /** The AEAD key for every chunk of this file (unique per file: the salt is random). */
  key: Buffer;
  /** Stored in the header, so a wrong passphrase is told apart from a damaged file. */
  check: Buffer;
}

/** 64 bytes of argon2id output: the first half is the chunk key, the second feeds the check. */
export async function deriveBackupKeys(passphrase: string, salt: Buffer, params: KdfParams): Promise<BackupKeys> {
  if (!checkKdfParams(params))
    throw new HubError('backup_corrupt', 'backup header asks for KDF parameters out of bounds');
  const out = await new Promise<Buffer>((resolve, reject) => {
    argon2(
      'argon2id',
      {
        message: passphrase,
        nonce: salt,
        memory: params.memoryKiB,
        passes: params.passes,
        parallelism: params.parallelism,
        tagLength: 64,
      },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
  const key = Buffer.from(out.subarray(0, 32));
  const check = createHash('sha256').update('hearth-backup-passphrase-check\0').update(out.subarray(32)).digest();
  out.fill(0);
  return { key, check };
}

export function checksMatch(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * What a passphrase yields for one salt and KDF: enough to seal or open any file whose header
 * names that salt, without the passphrase. The scheduled backups keep one in the data dir
 * (schedule-key.ts) so the hub can make them unattended; `key` is never a chunk key itself.
 */
export interface BackupSecret {
  salt: Buffer;
  kdf: KdfParams;
  /** The first 32 bytes of argon2id's output. */
  key: Buffer;
  check: Buffer;
}

export async function deriveBackupSecret(passphrase: string, salt: Buffer, kdf: KdfParams): Promise<BackupSecret> {
  return { salt, kdf, ...(await deriveBackupKeys(passphrase, salt, kdf)) };
}

/**
 * The chunk key of one file. Format 1 used the argon2id key directly (unique per file through its
 * random salt). Format 2 draws it from the argon2id key and the file's own random 12-byte salt
 * (HKDF-SHA256), so files sealed with one stored secret (the same argon2id salt) still each get
 * their own key and counting nonces from zero never repeats a (key, nonce) pair.
 */
export function chunkKey(secretKey: Buffer, formatVersion: number, fileSalt: Buffer): Buffer {
  if (formatVersion === 1) return Buffer.from(secretKey);
  return Buffer.from(hkdfSync('sha256', secretKey, fileSalt, 'hearth-backup chunk key v2', 32));
}
