import { concat, fromUtf8, utf8 } from './encoding.ts';
import { ProtocolError } from './errors.ts';

/**
 * Streams inside one end-to-end session (docs/relay-protocol.md "Streams"). Each sealed frame's
 * plaintext is `kind (1) | stream id (4, big-endian) | body`. The device opens streams with odd
 * ids it picks; a stream is one API request or one event subscription.
 *
 * Flow control: the hub may have at most WINDOW bytes of DATA/EVENT bodies in flight per stream;
 * the device returns CREDIT as it consumes them. The hub sends one chunk per ready stream in
 * turn, so a large response waiting for credit (or just long) never delays a toggle's answer.
 * A live view (LIVE, then MEDIA frames) spends the same window; the hub drops whole fragments
 * up to the next keyframe rather than queue more than a bound for it.
 */
export const MUX = {
  /** device → hub, JSON {method, path, headers?, body?} */
  REQUEST: 1,
  /** hub → device, JSON {status, headers} then DATA chunks then END */
  RESPONSE: 2,
  DATA: 3,
  END: 4,
  /** device → hub, u32 bytes the hub may send more on this stream */
  CREDIT: 5,
  /** device → hub, JSON {token}: subscribe to the events stream */
  SUBSCRIBE: 6,
  /** hub → device, JSON: one bus event the user may see */
  EVENT: 7,
  /** device → hub: stop this stream */
  CANCEL: 8,
  /** hub → device, JSON {code, message}: the stream failed */
  ERROR: 9,
  /** device → hub, JSON {camera, stream?: 'main'|'sub', token}: a camera's live view */
  LIVE: 10,
  /** hub → device, flags (1) | up to CHUNK bytes of one live message (init segment or fragment) */
  MEDIA: 11,
} as const;

/** Flags of a MEDIA frame: where the chunk sits in its message and what the message is. */
export const MEDIA_FLAG = {
  /** The first chunk of a message (a receiver drops any unfinished one). */
  FIRST: 1,
  /** The last chunk: the message is complete. */
  LAST: 2,
  /** The message is an init segment (ftyp + moov). */
  INIT: 4,
  /** The message is a fragment that starts with a keyframe. */
  KEY: 8,
} as const;

export type MuxKind = (typeof MUX)[keyof typeof MUX];
export const WINDOW = 64 * 1024;
export const CHUNK = 16 * 1024;

export interface MuxMessage {
  kind: MuxKind;
  stream: number;
  body: Uint8Array;
}

export function encodeMux(kind: MuxKind, stream: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const head = new Uint8Array(5);
  head[0] = kind;
  new DataView(head.buffer).setUint32(1, stream);
  return concat(head, body);
}

export function encodeMuxJson(kind: MuxKind, stream: number, value: unknown): Uint8Array {
  return encodeMux(kind, stream, utf8(JSON.stringify(value)));
}

export function encodeCredit(stream: number, bytes: number): Uint8Array {
  const body = new Uint8Array(4);
  new DataView(body.buffer).setUint32(0, bytes);
  return encodeMux(MUX.CREDIT, stream, body);
}

export function decodeMux(plain: Uint8Array): MuxMessage {
  if (plain.length < 5 || plain[0]! < 1 || plain[0]! > 11)
    throw new ProtocolError('mux_bad_frame', 'unknown stream frame');
  const stream = new DataView(plain.buffer, plain.byteOffset, plain.length).getUint32(1);
  return { kind: plain[0] as MuxKind, stream, body: plain.subarray(5) };
}

export function muxJson<T = Record<string, unknown>>(body: Uint8Array): T {
  try {
    const value = JSON.parse(fromUtf8(body)) as unknown;
    if (typeof value !== 'object' || value === null) throw new Error('not an object');
    return value as T;
  } catch {
    throw new ProtocolError('mux_bad_frame', 'stream body is not a JSON object');
  }
}

export function creditOf(body: Uint8Array): number {
  if (body.length !== 4) throw new ProtocolError('mux_bad_frame', 'credit is 4 bytes');
  return new DataView(body.buffer, body.byteOffset, 4).getUint32(0);
}

/**
 * One live message (init segment or fragment) as MEDIA frames of at most CHUNK bytes each.
 * `kind` is MEDIA_FLAG.INIT, MEDIA_FLAG.KEY or 0 (a fragment that is not a keyframe).
 */
export function encodeMedia(stream: number, data: Uint8Array, kind: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let at = 0; at === 0 || at < data.length; at += CHUNK) {
    const chunk = data.subarray(at, at + CHUNK);
    const flags = kind | (at === 0 ? MEDIA_FLAG.FIRST : 0) | (at + CHUNK >= data.length ? MEDIA_FLAG.LAST : 0);
    frames.push(encodeMux(MUX.MEDIA, stream, concat(new Uint8Array([flags]), chunk)));
  }
  return frames;
}

export interface MediaMessage {
  data: Uint8Array;
  init: boolean;
  key: boolean;
}

/**
 * Puts MEDIA chunks back together. A FIRST chunk drops an unfinished message: the hub may cut
 * a fragment whose tail was still queued when it skipped ahead to a keyframe.
 */
export class MediaAssembler {
  #parts: Uint8Array[] = [];
  #flags = 0;
  #open = false;

  /** Returns the message the chunk completed, if any. */
  push(body: Uint8Array): MediaMessage | null {
    if (body.length < 1) throw new ProtocolError('mux_bad_frame', 'empty media frame');
    const flags = body[0]!;
    if (flags & MEDIA_FLAG.FIRST) {
      this.#parts = [];
      this.#flags = flags;
      this.#open = true;
    }
    if (!this.#open) return null;
    this.#parts.push(body.slice(1));
    if (!(flags & MEDIA_FLAG.LAST)) return null;
    this.#open = false;
    const data = this.#parts.length === 1 ? this.#parts[0]! : concat(...this.#parts);
    this.#parts = [];
    return { data, init: (this.#flags & MEDIA_FLAG.INIT) !== 0, key: (this.#flags & MEDIA_FLAG.KEY) !== 0 };
  }
}
