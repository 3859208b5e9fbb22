import { createHash } from 'node:crypto';
import { HubError } from '../core/errors.ts';
import type { KdfParams } from './kdf.ts';

/**
 * The plain header at the start of a `.hbk` file (docs/backup.md), 96 bytes, big-endian:
 *   0  8  magic "HEARTHBK"
 *   8  2  format version (1)
 *  10  1  KDF id (1 = argon2id)
 *  11  1  AEAD id (1 = ChaCha20-Poly1305)
 *  12  4  argon2 memory (KiB)
 *  16  4  argon2 passes
 *  20  4  argon2 parallelism
 *  24  4  chunk size (plaintext bytes per chunk)
 *  28 16  salt (random per file)
 *  44 32  passphrase check (kdf.ts)
 *  76 12  file salt (format 2: random per file, feeds the chunk key; format 1: zero)
 *  88  8  first 8 bytes of SHA-256 of bytes 0..87
 * The checksum is not a secret: it only tells a damaged header (`backup_corrupt`) from a wrong
 * passphrase. The whole header is also the AAD of every chunk, so no header byte can be changed
 * without every chunk failing to open.
 */
export const MAGIC = Buffer.from('HEARTHBK', 'ascii');
export const FORMAT_VERSION = 2;
export const FILE_SALT_BYTES = 12;
export const HEADER_BYTES = 96;
export const KDF_ARGON2ID = 1;
export const AEAD_CHACHA20_POLY1305 = 1;
export const DEFAULT_CHUNK_BYTES = 1 << 20;
export const MAX_CHUNK_BYTES = 16 << 20;

export interface BackupHeader {
  formatVersion: number;
  kdf: KdfParams;
  chunkBytes: number;
  salt: Buffer;
  check: Buffer;
  fileSalt: Buffer;
}

export function encodeHeader(h: BackupHeader): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(b, 0);
  b.writeUInt16BE(h.formatVersion, 8);
  b.writeUInt8(KDF_ARGON2ID, 10);
  b.writeUInt8(AEAD_CHACHA20_POLY1305, 11);
  b.writeUInt32BE(h.kdf.memoryKiB, 12);
  b.writeUInt32BE(h.kdf.passes, 16);
  b.writeUInt32BE(h.kdf.parallelism, 20);
  b.writeUInt32BE(h.chunkBytes, 24);
  h.salt.copy(b, 28, 0, 16);
  h.check.copy(b, 44, 0, 32);
  h.fileSalt.copy(b, 76, 0, FILE_SALT_BYTES);
  digest8(b).copy(b, 88);
  return b;
}

/** Throws `backup_corrupt` (not a backup, damaged header) or `backup_too_new` (newer format). */
export function decodeHeader(b: Buffer): BackupHeader {
  if (b.length < HEADER_BYTES || !b.subarray(0, 8).equals(MAGIC))
    throw new HubError('backup_corrupt', 'not a Hearth backup file');
  if (!digest8(b).equals(b.subarray(88, 96))) throw new HubError('backup_corrupt', 'backup header is damaged');
  const formatVersion = b.readUInt16BE(8);
  if (formatVersion > FORMAT_VERSION)
    throw new HubError(
      'backup_too_new',
      `backup format ${formatVersion} is newer than this hub reads (${FORMAT_VERSION}); upgrade the hub`,
    );
  if (formatVersion < 1 || b[10] !== KDF_ARGON2ID || b[11] !== AEAD_CHACHA20_POLY1305)
    throw new HubError('backup_corrupt', 'backup header names an unknown format, KDF or cipher');
  const chunkBytes = b.readUInt32BE(24);
  if (chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES)
    throw new HubError('backup_corrupt', 'backup header has an out-of-range chunk size');
  return {
    formatVersion,
    kdf: { memoryKiB: b.readUInt32BE(12), passes: b.readUInt32BE(16), parallelism: b.readUInt32BE(20) },
    chunkBytes,
    salt: Buffer.from(b.subarray(28, 44)),
    check: Buffer.from(b.subarray(44, 76)),
    fileSalt: Buffer.from(b.subarray(76, 88)),
  };
}

function digest8(b: Buffer): Buffer {
  return createHash('sha256').update(b.subarray(0, 88)).digest().subarray(0, 8);
}
