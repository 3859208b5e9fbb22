import { createHash, hkdfSync } from 'node:crypto';

/**
 * The TLS 1.3 external PSK a plug and the hub share (docs/plug-protocol.md, "MQTT over TLS"):
 * `HKDF-SHA256(ikm = SHA-256(password), salt = none, info = "hearth mqtt psk v1", 32 bytes)`,
 * with the plug's MQTT username (its id) as the PSK identity. The input is the SHA-256 of the
 * password because that digest is what the hub keeps (credentials.ts): every plug paired before
 * TLS existed has a PSK the hub can compute without ever seeing its password again. The digest
 * is therefore as secret as the PSK, like the hub's signing key next to it in the same database.
 */
export const PLUG_PSK_INFO = 'hearth mqtt psk v1';
export const PLUG_PSK_BYTES = 32;

export function plugPskFromDigest(passwordDigest: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', passwordDigest, Buffer.alloc(0), PLUG_PSK_INFO, PLUG_PSK_BYTES));
}

export function plugPsk(password: string | Buffer): Buffer {
  return plugPskFromDigest(createHash('sha256').update(password).digest());
}

/**
 * A plug dials `<id>` with the PSK of its password, and `<id>/next` with the PSK of a new one it
 * was sent and has not yet connected with (docs/plug-protocol.md "Changing a plug's password").
 * `/` never occurs in a device id (credentials.ts).
 */
export const PSK_NEXT_SUFFIX = '/next';

export function parsePskIdentity(identity: string): { username: string; next: boolean } {
  return identity.endsWith(PSK_NEXT_SUFFIX)
    ? { username: identity.slice(0, -PSK_NEXT_SUFFIX.length), next: true }
    : { username: identity, next: false };
}
