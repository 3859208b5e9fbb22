import nacl from 'tweetnacl';
import type { SettingsRepo } from '../../store/settings-repo.ts';

const SETTING = 'plugs.hubSignSeed';

/**
 * The hub's one Ed25519 key pair for signing plug commands (plug-protocol.md "Signed commands").
 * Made at first start; its 32-byte seed lives in the settings table, so a restored backup keeps
 * commanding the plugs it paired. Every plug learns the public key when it is claimed.
 */
export function loadHubSignKey(settings: SettingsRepo): nacl.SignKeyPair {
  let seed = settings.get<string>(SETTING);
  if (typeof seed !== 'string' || Buffer.from(seed, 'base64').length !== 32) {
    seed = Buffer.from(nacl.randomBytes(32)).toString('base64');
    settings.set(SETTING, seed);
  }
  return nacl.sign.keyPair.fromSeed(new Uint8Array(Buffer.from(seed, 'base64')));
}
