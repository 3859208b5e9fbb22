import { createPublicKey, verify } from 'node:crypto';
import { fromBase64, toBase64Url } from '@hearth/protocol/encoding';

/**
 * Ed25519 verification with node:crypto: the same answer as tweetnacl's (Ed25519 is one
 * standard) at a fraction of its cost, which matters when thousands of hubs reconnect at once.
 */
export function verifyEd25519(message: Uint8Array, signatureB64: unknown, publicKey: Uint8Array): boolean {
  if (typeof signatureB64 !== 'string' || signatureB64.length > 100 || publicKey.length !== 32) return false;
  try {
    const signature = fromBase64(signatureB64);
    if (signature.length !== 64) return false;
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(publicKey) }, format: 'jwk' });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
