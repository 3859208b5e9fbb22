import nacl from 'tweetnacl';
import { fromBase64, toBase64, toBase64Url, utf8, concat } from './encoding.ts';
import { ProtocolError } from './errors.ts';

/**
 * Keys of the remote protocol (docs/relay-protocol.md "Keys"). A device holds one 32-byte seed:
 * its Ed25519 key (identity at the relay and in the end-to-end handshake) comes from the seed,
 * its X25519 key (the home key is sealed to it at enrolment) from SHA-512 of the seed, so one
 * secret backs both and a browser stores a single value.
 */
export interface DeviceKeys {
  seed: Uint8Array;
  sign: nacl.SignKeyPair;
  box: nacl.BoxKeyPair;
}

export function deviceKeysFromSeed(seed: Uint8Array): DeviceKeys {
  if (seed.length !== 32) throw new ProtocolError('bad_key', 'a device seed is 32 bytes');
  return {
    seed,
    sign: nacl.sign.keyPair.fromSeed(seed),
    box: nacl.box.keyPair.fromSecretKey(nacl.hash(seed).subarray(0, 32)),
  };
}

export function newDeviceKeys(): DeviceKeys {
  return deviceKeysFromSeed(nacl.randomBytes(32));
}

/** A hub id is its Ed25519 public key in base64url: self-certifying, so no registry is needed. */
export function hubIdOf(hubSignPublicKey: Uint8Array): string {
  return toBase64Url(hubSignPublicKey);
}

export function hubKeyOfId(hubId: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]{43}$/.test(hubId)) throw new ProtocolError('bad_hub_id', 'not a hub id');
  return fromBase64(hubId);
}

/** Domain-separation labels: a signature made for one purpose never verifies for another. */
export const CONTEXT = {
  relayAuth: utf8('hearth-relay-auth-v1'),
  e2eClient: utf8('hearth-e2e-client-v1'),
  e2eHub: utf8('hearth-e2e-hub-v1'),
  deviceList: utf8('hearth-relay-devices-v1'),
  stateBlob: utf8('hearth-state-blob-v1'),
} as const;

/**
 * What a peer signs to answer the relay's challenge: the label, its role, the challenge and,
 * for a device, the hub it wants (so a signature cannot be replayed towards another home).
 */
export function relayAuthMessage(role: 'hub' | 'device', challenge: Uint8Array, hubId: string): Uint8Array {
  return concat(CONTEXT.relayAuth, utf8(`:${role}:${hubId}:`), challenge);
}

export function signDetached(message: Uint8Array, secretKey: Uint8Array): string {
  return toBase64(nacl.sign.detached(message, secretKey));
}
