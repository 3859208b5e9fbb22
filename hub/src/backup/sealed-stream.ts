import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { HubError } from '../core/errors.ts';
import { ByteQueue } from './byte-queue.ts';
import {
  decodeHeader,
  encodeHeader,
  DEFAULT_CHUNK_BYTES,
  FILE_SALT_BYTES,
  FORMAT_VERSION,
  HEADER_BYTES,
  type BackupHeader,
} from './header.ts';
import { checksMatch, chunkKey, DEFAULT_KDF, deriveBackupSecret, type BackupSecret, type KdfParams } from './kdf.ts';

/**
 * The encrypted body of a `.hbk` file: after the header, a run of frames
 *   [flags u8][length u32 BE][ciphertext: length bytes][Poly1305 tag: 16 bytes]
 * each holding at most `chunkBytes` of plaintext, sealed with ChaCha20-Poly1305 under the file's
 * key. The nonce is the chunk's index (u64 BE) and its final flag, and the AAD is the header plus
 * the frame's flags and length, so a reordered, dropped, duplicated or changed chunk, a changed
 * header and a file cut short all fail to open. The key is unique per file (random file salt,
 * kdf.ts `chunkKey`), so counting nonces from zero never repeats a (key, nonce) pair. Only one
 * chunk is ever in memory.
 *
 * Both ends take a passphrase (argon2id with a fresh salt when sealing) or a `BackupSecret`
 * derived from one earlier (the scheduled backups': no passphrase at run time).
 */
const TAG_BYTES = 16;
const FRAME_HEAD = 5;
const FLAG_FINAL = 1;

function nonceFor(index: number, final: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(index), 0);
  n[8] = final ? FLAG_FINAL : 0;
  return n;
}

export interface SealOptions {
  kdf?: KdfParams;
  chunkBytes?: number;
}

/** Plaintext in, a complete `.hbk` file out (header first, final chunk last). */
export class SealStream extends Transform {
  readonly #passphrase: string | BackupSecret;
  readonly #options: SealOptions;
  readonly #pending = new ByteQueue();
  #header: Buffer | undefined;
  #key: Buffer | undefined;
  #chunkBytes = DEFAULT_CHUNK_BYTES;
  #index = 0;

  constructor(passphrase: string | BackupSecret, options: SealOptions = {}) {
    super();
    this.#passphrase = passphrase;
    this.#options = options;
  }

  async #start(): Promise<void> {
    this.#chunkBytes = this.#options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    const secret =
      typeof this.#passphrase === 'string'
        ? await deriveBackupSecret(this.#passphrase, randomBytes(16), this.#options.kdf ?? DEFAULT_KDF)
        : this.#passphrase;
    const fileSalt = randomBytes(FILE_SALT_BYTES);
    this.#key = chunkKey(secret.key, FORMAT_VERSION, fileSalt);
    if (typeof this.#passphrase === 'string') secret.key.fill(0);
    this.#header = encodeHeader({
      formatVersion: FORMAT_VERSION,
      kdf: secret.kdf,
      chunkBytes: this.#chunkBytes,
      salt: secret.salt,
      check: secret.check,
      fileSalt,
    });
    this.push(this.#header);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    (async () => {
      if (!this.#key) await this.#start();
      this.#pending.push(chunk);
      // Keep at least one byte back: the last chunk must be the one marked final.
      while (this.#pending.length > this.#chunkBytes) this.#seal(this.#pending.take(this.#chunkBytes), false);
    })().then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    (async () => {
      if (!this.#key) await this.#start();
      this.#seal(this.#pending.take(this.#pending.length), true);
      this.#key!.fill(0);
    })().then(() => done(), done);
  }

  #seal(plain: Buffer, final: boolean): void {
    const head = Buffer.alloc(FRAME_HEAD);
    head[0] = final ? FLAG_FINAL : 0;
    head.writeUInt32BE(plain.length, 1);
    const cipher = createCipheriv('chacha20-poly1305', this.#key!, nonceFor(this.#index++, final), {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(Buffer.concat([this.#header!, head]), { plaintextLength: plain.length });
    const body = cipher.update(plain);
    cipher.final();
    this.push(Buffer.concat([head, body, cipher.getAuthTag()]));
  }
}

/**
 * A `.hbk` file in, its plaintext out. Refuses with `backup_corrupt` (damaged, reordered,
 * truncated, trailing bytes), `backup_passphrase_wrong` or `backup_too_new`. A consumer must
 * treat everything it received as provisional until the stream ends without error: the final
 * chunk is what proves the file was not cut short.
 */
export class OpenStream extends Transform {
  readonly #passphrase: string | BackupSecret;
  readonly #pending = new ByteQueue();
  #headerBytes: Buffer | undefined;
  #header: BackupHeader | undefined;
  #key: Buffer | undefined;
  #index = 0;
  #finished = false;

  constructor(passphrase: string | BackupSecret) {
    super();
    this.#passphrase = passphrase;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#pending.push(chunk);
    this.#drain().then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    if (!this.#finished)
      return done(new HubError('backup_corrupt', 'backup file is truncated (its final chunk is missing)'));
    done();
  }

  async #drain(): Promise<void> {
    if (!this.#key) {
      if (this.#pending.length < HEADER_BYTES) return;
      this.#headerBytes = this.#pending.take(HEADER_BYTES);
      this.#header = decodeHeader(this.#headerBytes);
      const h = this.#header;
      const given = this.#passphrase;
      // A stored secret opens only files sealed from its own salt and KDF parameters.
      const sameSalt =
        typeof given !== 'string' &&
        given.salt.equals(h.salt) &&
        given.kdf.memoryKiB === h.kdf.memoryKiB &&
        given.kdf.passes === h.kdf.passes &&
        given.kdf.parallelism === h.kdf.parallelism;
      if (typeof given !== 'string' && !sameSalt)
        throw new HubError('backup_passphrase_wrong', "this backup was not made with the schedule's passphrase");
      const secret = typeof given === 'string' ? await deriveBackupSecret(given, h.salt, h.kdf) : given;
      if (!checksMatch(secret.check, h.check))
        throw new HubError('backup_passphrase_wrong', 'the passphrase does not open this backup');
      this.#key = chunkKey(secret.key, h.formatVersion, h.fileSalt);
      if (typeof given === 'string') secret.key.fill(0);
    }
    while (this.#pending.length >= FRAME_HEAD) {
      if (this.#finished) throw new HubError('backup_corrupt', 'backup file has bytes after its final chunk');
      const head = this.#pending.peek(FRAME_HEAD);
      const flags = head[0]!;
      const length = head.readUInt32BE(1);
      if ((flags & ~FLAG_FINAL) !== 0 || length > this.#header!.chunkBytes)
        throw new HubError('backup_corrupt', `backup chunk ${this.#index} is damaged`);
      if (this.#pending.length < FRAME_HEAD + length + TAG_BYTES) return;
      const frame = this.#pending.take(FRAME_HEAD + length + TAG_BYTES);
      const final = flags === FLAG_FINAL;
      const decipher = createDecipheriv('chacha20-poly1305', this.#key, nonceFor(this.#index, final), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.concat([this.#headerBytes!, frame.subarray(0, FRAME_HEAD)]), { plaintextLength: length });
      decipher.setAuthTag(frame.subarray(FRAME_HEAD + length));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(frame.subarray(FRAME_HEAD, FRAME_HEAD + length)), decipher.final()]);
      } catch {
        throw new HubError(
          'backup_corrupt',
          `backup chunk ${this.#index} fails authentication (changed, reordered or damaged)`,
        );
      }
      this.#index++;
      if (final) {
        this.#finished = true;
        this.#key.fill(0);
      }
      if (plain.length > 0) this.push(plain);
    }
    if (this.#finished && this.#pending.length > 0)
      throw new HubError('backup_corrupt', 'backup file has bytes after its final chunk');
  }
}
