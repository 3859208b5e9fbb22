import { ProtocolError, concat, fromUtf8, utf8 } from './encoding.ts';

/**
 * Streams inside one end-to-end session (docs/relay-protocol.md "Streams"). Each sealed frame's
 * plaintext is `kind (1) | stream id (4, big-endian) | body`. The device opens streams with odd
 * ids it picks; a stream is one API request or one event subscription.
 *
 * Flow control: the hub may have at most WINDOW bytes of DATA/EVENT bodies in flight per stream;
 * the device returns CREDIT as it consumes them. The hub sends one chunk per ready stream in
 * turn, so a large response waiting for credit (or just long) never delays a toggle's answer.
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
  if (plain.length < 5 || plain[0]! < 1 || plain[0]! > 9) throw new ProtocolError('mux_bad_frame', 'unknown stream frame');
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
