import { createPrivateKey, sign } from 'node:crypto';
import nacl from 'tweetnacl';
import { hubIdOf } from '@hearth/protocol/keys';
import type { SettingsRepo } from '../store/settings-repo.ts';

const SIGN_SEED = 'relay.hubSignSeed';
const HOME_KEY = 'relay.homeKey';

/**
 * The hub's remote identity (docs/relay-protocol.md "Keys"): an Ed25519 key pair whose public
 * key is the hub id at the relay, and the home key that seals the state snapshot. Both are made
 * at first start and kept in settings, so a restored backup keeps its enrolled devices.
 * A separate key from the plugs' command key: a leak of one does not forge the other.
 */
export interface HubIdentity {
  sign: nacl.SignKeyPair;
  hubId: string;
  homeKey: Uint8Array;
  /** Ed25519 via node:crypto: the same bytes as tweetnacl, much faster. */
  signFast(message: Uint8Array): Uint8Array;
}

export function loadHubIdentity(settings: SettingsRepo): HubIdentity {
  const seed = secret(settings, SIGN_SEED);
  const homeKey = secret(settings, HOME_KEY);
  const keyPair = nacl.sign.keyPair.fromSeed(seed);
  // PKCS#8 for an Ed25519 seed is a fixed 16-byte prefix followed by the seed (RFC 8410).
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed)]);
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return {
    sign: keyPair,
    hubId: hubIdOf(keyPair.publicKey),
    homeKey,
    signFast: (message) => new Uint8Array(sign(null, message, privateKey)),
  };
}

/**
 * A new home key, kept at once: called when a device or a user leaves, so whoever held the old
 * key (sealed to a removed device) cannot open the snapshots sealed from now on. Devices that
 * stay get the new key at their next remote login or refresh (service.ts `sessionHomeKey`).
 */
export function rotateHomeKey(settings: SettingsRepo): Uint8Array {
  const key = nacl.randomBytes(32);
  settings.set(HOME_KEY, Buffer.from(key).toString('base64'));
  return key;
}

function secret(settings: SettingsRepo, key: string): Uint8Array {
  let value = settings.get<string>(key);
  if (typeof value !== 'string' || Buffer.from(value, 'base64').length !== 32) {
    value = Buffer.from(nacl.randomBytes(32)).toString('base64');
    settings.set(key, value);
  }
  return new Uint8Array(Buffer.from(value, 'base64'));
}
