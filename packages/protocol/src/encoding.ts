import { ProtocolError, type ProtocolErrorCode } from './errors.ts';

/**
 * Byte helpers that run the same in Node and in a browser (no Buffer): the remote client, the
 * hub and the relay all speak through them.
 */
export function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

export function fromBase64(text: string): Uint8Array {
  let binary: string;
  try {
    binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    throw new ProtocolError('bad_encoding', 'not base64');
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** URL- and file-name-safe base64 without padding: hub ids are this form of a public key. */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A base64 key of exactly `length` bytes, or a ProtocolError with `code`. */
export function keyFromBase64(text: unknown, length: number, code: ProtocolErrorCode = 'bad_key'): Uint8Array {
  if (typeof text !== 'string' || text.length > 200) throw new ProtocolError(code, 'key must be base64 text');
  const bytes = fromBase64(text);
  if (bytes.length !== length) throw new ProtocolError(code, `key must be ${length} bytes`);
  return bytes;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function fromUtf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new ProtocolError('bad_encoding', 'not UTF-8');
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
