import type { Duplex } from 'node:stream';

/** Below this a chunk is copied into the turn's buffer; a bigger one (an OTA image) is passed on as it is. */
const COPY_LIMIT = 16 * 1024;
/**
 * The smallest first buffer of a turn. A turn starts with a bit more than the connection sent in
 * its last turn and doubles as needed: a publisher's few PUBACKs take a small slice of Node's
 * shared buffer pool, a busy subscriber gets one buffer of the right size, and one big turn does
 * not make every later turn allocate as much.
 */
const MIN_BUFFER = 64;

/** The stream's own write, called with whatever arguments the caller gave. */
type Write = (this: Duplex, ...args: unknown[]) => boolean;

/** One connection's bytes gathered in the current event-loop turn. */
class Batch {
  readonly conn: Duplex;
  readonly write: Write;
  buf: Buffer | undefined = undefined;
  len = 0;
  /** Size to start the next turn's buffer with (see MIN_BUFFER). */
  hint = MIN_BUFFER;

  constructor(conn: Duplex, write: Write) {
    this.conn = conn;
    this.write = write;
  }

  /** Room for `n` more bytes; the buffer is created on the first write of a turn, so an idle connection holds none. */
  reserve(n: number): Buffer {
    const buf = this.buf;
    const need = this.len + n;
    if (buf !== undefined && need <= buf.length) return buf;
    const grown = Buffer.allocUnsafe(Math.max(need, this.hint, buf === undefined ? 0 : buf.length * 2));
    if (buf !== undefined) buf.copy(grown, 0, 0, this.len);
    else pending.push(this);
    this.buf = grown;
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushAll);
    }
    return grown;
  }

  /** Hands the gathered bytes to the stream in one write. */
  flush(): void {
    const buf = this.buf;
    if (buf === undefined) return;
    const len = this.len;
    this.buf = undefined;
    this.len = 0;
    this.hint = Math.max(MIN_BUFFER, len + (len >> 2));
    if (len > 0 && !this.conn.destroyed) this.write.call(this.conn, buf.subarray(0, len));
  }
}

/** Connections with bytes gathered in this turn, in the order they first wrote. */
let pending: Batch[] = [];
let flushScheduled = false;

function flushAll(): void {
  flushScheduled = false;
  const batches = pending;
  pending = [];
  for (let i = 0; i < batches.length; i++) batches[i]!.flush();
}

/**
 * aedes writes every packet from its own setImmediate callback, and mqtt-packet writes each one in
 * pieces (a PUBLISH is 6 `write` calls: header, length, topic length, topic, message id, payload),
 * corking the stream for each packet and uncorking it in a `process.nextTick`. With corking
 * alone a busy subscriber cost one `writev` system call per turn, but with 6 iovecs and 6 stream
 * queue entries per message, a nextTick per packet, and a Buffer made of every topic string.
 *
 * Instead every write of a turn is copied into one buffer per connection, and one `setImmediate`
 * hands each connection's buffer to its stream in a single `write`: one chunk per connection per
 * turn, whatever the number of packets. The stream's own `cork` is hidden from mqtt-packet (it
 * corks only `if (stream.cork)`), which saves its nextTick per packet; nothing else corks these
 * connections.
 *
 * Back-pressure is unchanged: gathered writes report success (they go out at the end of the
 * turn, which is not a sign of a slow client), but once the stream's own buffer is over its
 * high-water mark (`writableNeedDrain`), writes bypass the batch and go to the stream one by one,
 * so each returns false and counts towards the slow-client bound (listeners.ts). Writes with a
 * callback, and chunks over COPY_LIMIT, also go straight to the stream, after what was gathered.
 */
export function batchWrites(conn: Duplex): void {
  const write = conn.write as Write;
  const end = conn.end as (this: Duplex, ...args: unknown[]) => Duplex;
  const batch = new Batch(conn, write);
  conn.write = function batchedWrite(this: Duplex, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    // The stream's state is checked when a turn's batch starts; while it is open, writes just
    // gather (mqtt-packet makes six per PUBLISH). A stream destroyed meanwhile gets nothing
    // (flush), one ended meanwhile gets its 'write after end' error from the flush, as before.
    if (
      typeof encoding === 'function' ||
      cb !== undefined ||
      (batch.buf === undefined && (this.destroyed || this.writableNeedDrain || this.writableEnded))
    ) {
      batch.flush();
      // biome-ignore lint/complexity/noArguments: forwards the caller's exact arguments, count included, on the hot path.
      return write.apply(this, arguments as unknown as unknown[]);
    }
    if (typeof chunk === 'string') {
      const enc = (encoding as BufferEncoding | undefined) ?? 'utf8';
      const n = Buffer.byteLength(chunk, enc);
      const buf = batch.reserve(n);
      batch.len += buf.write(chunk, batch.len, n, enc);
      return true;
    }
    const bytes = chunk as Uint8Array;
    const n = bytes.length;
    if (n > COPY_LIMIT) {
      batch.flush();
      return write.call(this, bytes);
    }
    const buf = batch.reserve(n);
    const at = batch.len;
    // Most chunks are 1-2 bytes (header, lengths, message id): a loop beats set() there.
    if (n <= 8) for (let i = 0; i < n; i++) buf[at + i] = bytes[i]!;
    else buf.set(bytes, at);
    batch.len = at + n;
    return true;
  } as Duplex['write'];
  conn.end = function batchedEnd(this: Duplex, ...args: unknown[]) {
    batch.flush();
    return end.apply(this, args);
  } as Duplex['end'];
  // See above: mqtt-packet then skips its per-packet cork and nextTick uncork.
  (conn as { cork: Duplex['cork'] | undefined }).cork = undefined;
}
