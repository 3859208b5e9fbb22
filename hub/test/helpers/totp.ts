import { createHmac } from 'node:crypto';

/**
 * The tests' own RFC 6238 TOTP (HMAC-SHA1), written apart from hub/src/auth/totp.ts so a mistake
 * there is not repeated here; checked against the RFC's appendix B vectors (test/api/totp.test.ts).
 */
export function rfc6238(key: Buffer, unixSeconds: number, digits = 6, stepS = 30): string {
  const counter = Math.floor(unixSeconds / stepS);
  const message = Buffer.alloc(8);
  message.writeUInt32BE(Math.floor(counter / 2 ** 32), 0);
  message.writeUInt32BE(counter % 2 ** 32, 4);
  const hmac = createHmac('sha1', key).update(message).digest();
  const offset = hmac[19]! & 0xf;
  const code =
    ((hmac[offset]! & 0x7f) << 24) | (hmac[offset + 1]! << 16) | (hmac[offset + 2]! << 8) | hmac[offset + 3]!;
  return String(code % 10 ** digits).padStart(digits, '0');
}

/** RFC 4648 base32 (as authenticator apps read it) to bytes. */
export function fromBase32(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bitString = '';
  for (const ch of text.replace(/[\s=]/g, '').toUpperCase()) {
    const value = alphabet.indexOf(ch);
    if (value < 0) throw new Error(`not base32: ${ch}`);
    bitString += value.toString(2).padStart(5, '0');
  }
  const bytes: number[] = [];
  for (let i = 0; i + 8 <= bitString.length; i += 8) bytes.push(parseInt(bitString.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The code an authenticator app shows for a base32 secret at `ms` (ms since epoch). */
export function totpAt(secret: string, ms: number): string {
  return rfc6238(fromBase32(secret), Math.floor(ms / 1000));
}
