import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, openSync, closeSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { HubError } from '../core/errors.ts';
import { ByteQueue } from './byte-queue.ts';
import { isSafeEntryPath, MANIFEST_PATH, MAX_MANIFEST_BYTES, parseManifest, type BackupManifest } from './manifest.ts';

/**
 * The plaintext inside a backup: a minimal archive of entries, each
 *   [path length u16 BE][path, UTF-8][size u64 BE][size bytes]
 * ending with a path length of 0. The first entry is always `manifest.json`. Files only (no
 * links, owners or modes: everything restored is the hub's own, 0600 in 0700 directories).
 */

function entryHead(path: string, bytes: number): Buffer {
  const p = Buffer.from(path, 'utf8');
  const b = Buffer.alloc(2 + p.length + 8);
  b.writeUInt16BE(p.length, 0);
  p.copy(b, 2);
  b.writeBigUInt64BE(BigInt(bytes), 2 + p.length);
  return b;
}

/** The archive as a stream of buffers: the manifest, then each entry's file read from `root`. */
export async function* writeContainer(manifest: BackupManifest, root: string): AsyncGenerator<Buffer> {
  const text = Buffer.from(JSON.stringify(manifest), 'utf8');
  yield entryHead(MANIFEST_PATH, text.length);
  yield text;
  for (const entry of manifest.entries) {
    yield entryHead(entry.path, entry.bytes);
    let seen = 0;
    for await (const piece of createReadStream(join(root, entry.path))) {
      seen += (piece as Buffer).length;
      yield piece as Buffer;
    }
    // The staged copy is ours alone; a size change means something else wrote into it.
    if (seen !== entry.bytes)
      throw new HubError('internal_error', `staged file ${entry.path} changed while being written`);
  }
  yield Buffer.alloc(2);
}

export interface ExtractOptions {
  /** Called once with the manifest, before any other entry is written; throws to refuse. */
  onManifest(manifest: BackupManifest): void;
}

/**
 * Writes an archive's entries below `root`, checking each against the manifest (path listed,
 * size and SHA-256 equal) and that every listed entry came. Files are created 0600, never
 * outside `root`. Fails with `backup_corrupt` on any mismatch. With `root` null it writes
 * nothing and only checks (verify.ts `checkSealedBackup`).
 */
export class ContainerExtractor extends Writable {
  readonly #root: string | null;
  readonly #options: ExtractOptions;
  readonly #queue = new ByteQueue();
  #manifest: BackupManifest | undefined;
  #expected = new Map<string, { bytes: number; sha256: string }>();
  #current:
    | {
        path: string;
        remaining: number;
        fd: number | undefined;
        hash: ReturnType<typeof createHash>;
        manifestParts?: Buffer[];
      }
    | undefined;
  #ended = false;
  manifest(): BackupManifest | undefined {
    return this.#manifest;
  }

  constructor(root: string | null, options: ExtractOptions) {
    super();
    this.#root = root;
    this.#options = options;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    try {
      this.#queue.push(chunk);
      this.#drain();
      done();
    } catch (err) {
      this.#closeCurrent();
      done(err as Error);
    }
  }

  override _final(done: (err?: Error | null) => void): void {
    if (!this.#ended) return done(new HubError('backup_corrupt', 'backup archive ends before its end marker'));
    if (this.#expected.size > 0)
      return done(
        new HubError('backup_corrupt', `backup archive lacks ${this.#expected.size} entries its manifest lists`),
      );
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.#closeCurrent();
    done(err);
  }

  #drain(): void {
    for (;;) {
      if (this.#ended) {
        if (this.#queue.length > 0)
          throw new HubError('backup_corrupt', 'backup archive has bytes after its end marker');
        return;
      }
      if (!this.#current) {
        if (this.#queue.length < 2) return;
        const pathLength = this.#queue.peek(2).readUInt16BE(0);
        if (pathLength === 0) {
          this.#queue.take(2);
          if (!this.#manifest) throw new HubError('backup_corrupt', 'backup archive has no manifest');
          this.#ended = true;
          continue;
        }
        if (this.#queue.length < 2 + pathLength + 8) return;
        const head = this.#queue.take(2 + pathLength + 8);
        const path = head.subarray(2, 2 + pathLength).toString('utf8');
        const size = head.readBigUInt64BE(2 + pathLength);
        this.#begin(path, size);
        continue;
      }
      const cur = this.#current;
      if (cur.remaining > 0) {
        if (this.#queue.length === 0) return;
        const piece = this.#queue.take(Math.min(cur.remaining, this.#queue.length));
        cur.remaining -= piece.length;
        cur.hash.update(piece);
        if (cur.manifestParts) cur.manifestParts.push(piece);
        else if (cur.fd !== undefined) writeAll(cur.fd, piece);
      }
      if (cur.remaining === 0) this.#finishEntry();
    }
  }

  #begin(path: string, size: bigint): void {
    if (!this.#manifest) {
      if (path !== MANIFEST_PATH || size > BigInt(MAX_MANIFEST_BYTES))
        throw new HubError('backup_corrupt', 'backup archive does not start with its manifest');
      this.#current = { path, remaining: Number(size), fd: undefined, hash: createHash('sha256'), manifestParts: [] };
      return;
    }
    const expected = this.#expected.get(path);
    if (!isSafeEntryPath(path) || !expected || BigInt(expected.bytes) !== size)
      throw new HubError(
        'backup_corrupt',
        `backup archive holds an entry its manifest does not list: ${JSON.stringify(path.slice(0, 80))}`,
      );
    if (this.#root === null) {
      this.#current = { path, remaining: expected.bytes, fd: undefined, hash: createHash('sha256') };
      return;
    }
    const target = join(this.#root, path);
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    this.#current = { path, remaining: expected.bytes, fd: openSync(target, 'wx', 0o600), hash: createHash('sha256') };
  }

  #finishEntry(): void {
    const cur = this.#current!;
    this.#current = undefined;
    if (cur.manifestParts) {
      this.#manifest = parseManifest(Buffer.concat(cur.manifestParts).toString('utf8'));
      for (const e of this.#manifest.entries) this.#expected.set(e.path, { bytes: e.bytes, sha256: e.sha256 });
      this.#options.onManifest(this.#manifest);
      return;
    }
    if (cur.fd !== undefined) closeSync(cur.fd);
    const digest = cur.hash.digest('hex');
    if (digest !== this.#expected.get(cur.path)!.sha256)
      throw new HubError('backup_corrupt', `backup entry ${cur.path} does not match its manifest hash`);
    this.#expected.delete(cur.path);
  }

  #closeCurrent(): void {
    if (this.#current?.fd !== undefined) {
      try {
        closeSync(this.#current.fd);
      } catch {
        // already closed
      }
    }
    this.#current = undefined;
  }
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}
