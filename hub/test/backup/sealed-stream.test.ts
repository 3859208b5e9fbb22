import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OpenStream, SealStream } from '../../src/backup/sealed-stream.ts';
import { FAST_KDF } from './fixtures.ts';

async function seal(plain: Buffer, chunkBytes: number): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from([plain]),
    new SealStream('pass', { kdf: FAST_KDF, chunkBytes }),
    new Writable({
      write(c, _e, d) {
        out.push(c as Buffer);
        d();
      },
    }),
  );
  return Buffer.concat(out);
}

async function open(file: Buffer, passphrase = 'pass'): Promise<Buffer> {
  const out: Buffer[] = [];
  // Fed in odd-sized pieces so frames straddle reads.
  const pieces = [];
  for (let i = 0; i < file.length; i += 777) pieces.push(file.subarray(i, i + 777));
  await pipeline(
    Readable.from(pieces),
    new OpenStream(passphrase),
    new Writable({
      write(c, _e, d) {
        out.push(c as Buffer);
        d();
      },
    }),
  );
  return Buffer.concat(out);
}

describe('sealed stream', () => {
  const plain = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
  const frame = 5 + 1000 + 16;

  it('round-trips across many chunks, and an empty plaintext', async () => {
    expect(await open(await seal(plain, 1000))).toEqual(plain);
    expect(await open(await seal(Buffer.alloc(0), 1000))).toEqual(Buffer.alloc(0));
  });

  it('refuses a file cut at a chunk boundary: only the final chunk may end it', async () => {
    const file = await seal(plain, 1000);
    expect(file.length).toBe(96 + 10 * frame);
    await expect(open(file.subarray(0, 96 + 9 * frame))).rejects.toMatchObject({ code: 'backup_corrupt' });
    await expect(open(file.subarray(0, 96 + 3 * frame))).rejects.toMatchObject({ code: 'backup_corrupt' });
  });

  it('refuses a chunk whose final flag was set to end the file early', async () => {
    const file = await seal(plain, 1000);
    const forged = Buffer.from(file.subarray(0, 96 + 3 * frame));
    forged[96 + 2 * frame] = 1;
    await expect(open(forged)).rejects.toMatchObject({ code: 'backup_corrupt' });
  });

  it('refuses a chunk moved from another file sealed with the same passphrase', async () => {
    const a = await seal(plain, 1000);
    const b = await seal(plain, 1000);
    const mixed = Buffer.concat([a.subarray(0, 96 + frame), b.subarray(96 + frame)]);
    await expect(open(mixed)).rejects.toMatchObject({ code: 'backup_corrupt' });
    await expect(open(a, 'other')).rejects.toMatchObject({ code: 'backup_passphrase_wrong' });
  });

  it('files sealed from one stored secret (the schedule key) still get a key each: no nonce repeats', async () => {
    const { deriveBackupSecret } = await import('../../src/backup/kdf.ts');
    const { randomBytes } = await import('node:crypto');
    const secret = await deriveBackupSecret('pass', randomBytes(16), FAST_KDF);
    const sealWith = async (): Promise<Buffer> => {
      const out: Buffer[] = [];
      await pipeline(
        Readable.from([plain]),
        new SealStream(secret, { chunkBytes: 1000 }),
        new Writable({
          write(c, _e, d) {
            out.push(c as Buffer);
            d();
          },
        }),
      );
      return Buffer.concat(out);
    };
    const [a, b] = [await sealWith(), await sealWith()];
    // Same salt and check (one secret), different file salts, so the same plaintext under the
    // same nonce gives different ciphertext: a repeated (key, nonce) would give the same.
    expect(a.subarray(28, 76).equals(b.subarray(28, 76))).toBe(true);
    expect(a.subarray(76, 88).equals(b.subarray(76, 88))).toBe(false);
    expect(a.subarray(96, 96 + frame).equals(b.subarray(96, 96 + frame))).toBe(false);
    // Either opens with the passphrase alone, or with the secret; another secret is refused.
    expect((await open(a)).equals(plain)).toBe(true);
    const chunks: Buffer[] = [];
    await pipeline(
      Readable.from([b]),
      new OpenStream(secret),
      new Writable({
        write(c, _e, d) {
          chunks.push(c as Buffer);
          d();
        },
      }),
    );
    expect(Buffer.concat(chunks).equals(plain)).toBe(true);
    const other = await deriveBackupSecret('pass', randomBytes(16), FAST_KDF);
    await expect(
      pipeline(
        Readable.from([b]),
        new OpenStream(other),
        new Writable({
          write(_c, _e, d) {
            d();
          },
        }),
      ),
    ).rejects.toMatchObject({ code: 'backup_passphrase_wrong' });
  });

  it('refuses a header naming a newer format or out-of-bounds KDF memory', async () => {
    const file = await seal(plain, 1000);
    const newer = Buffer.from(file);
    newer.writeUInt16BE(3, 8);
    // Re-stamp the header checksum so only the version is wrong.
    const { createHash } = await import('node:crypto');
    createHash('sha256').update(newer.subarray(0, 88)).digest().copy(newer, 88, 0, 8);
    await expect(open(newer)).rejects.toMatchObject({ code: 'backup_too_new' });
    const greedy = Buffer.from(file);
    greedy.writeUInt32BE(64 << 20, 12);
    createHash('sha256').update(greedy.subarray(0, 88)).digest().copy(greedy, 88, 0, 8);
    await expect(open(greedy)).rejects.toMatchObject({ code: 'backup_corrupt' });
  });
});
