import nacl from 'tweetnacl';
import { concat, fromUtf8, utf8 } from './encoding.ts';
import { ProtocolError } from './errors.ts';

/**
 * The last-known state the relay keeps for a home (docs/relay-protocol.md "State sync"):
 * nonce (24) | secretbox(JSON snapshot, nonce, homeKey). The home key is random, made by the
 * hub and given only to enrolled devices, sealed to each device's X25519 key:
 * ephemeral public (32) | nonce (24) | box(homeKey).
 */
export interface StateSnapshot {
  /** When the hub took the snapshot (ms since the epoch). */
  at: number;
  devices: unknown[];
}

export function sealState(snapshot: StateSnapshot, homeKey: Uint8Array): Uint8Array {
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  return concat(nonce, nacl.secretbox(utf8(JSON.stringify(snapshot)), nonce, homeKey));
}

export function openState(blob: Uint8Array, homeKey: Uint8Array): StateSnapshot {
  const n = nacl.secretbox.nonceLength;
  const plain = blob.length > n ? nacl.secretbox.open(blob.subarray(n), blob.subarray(0, n), homeKey) : null;
  if (!plain) throw new ProtocolError('state_unreadable', 'the state blob does not open with this home key');
  return JSON.parse(fromUtf8(plain)) as StateSnapshot;
}

export function sealToDevice(secret: Uint8Array, deviceBoxPublic: Uint8Array): Uint8Array {
  const eph = nacl.box.keyPair();
  const nonce = nacl.randomBytes(nacl.box.nonceLength);
  return concat(eph.publicKey, nonce, nacl.box(secret, nonce, deviceBoxPublic, eph.secretKey));
}

export function openFromHub(sealed: Uint8Array, deviceBoxSecret: Uint8Array): Uint8Array {
  const plain =
    sealed.length > 56
      ? nacl.box.open(sealed.subarray(56), sealed.subarray(32, 56), sealed.subarray(0, 32), deviceBoxSecret)
      : null;
  if (!plain) throw new ProtocolError('state_unreadable', 'the sealed home key does not open with this device key');
  return plain;
}
