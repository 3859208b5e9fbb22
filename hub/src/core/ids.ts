import { randomBytes, createHash } from 'node:crypto';

/** A short random id with a readable prefix, e.g. `dev_3kZ8v1QpA0xY`. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(9).toString('base64url')}`;
}

/** A secret with 256 bits of entropy, safe to show once and store only as its digest. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
