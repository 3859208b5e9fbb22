import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';

/**
 * CPace on ristretto255 with SHA-512 (draft-irtf-cfrg-cpace, "CPaceRistretto255"), the pairing
 * PAKE of docs/plug-protocol.md (version 2, "Pairing"). The group arithmetic is @noble/curves'
 * (RFC 9496 element derivation, scalar multiplication, canonical encodings); the plug does the
 * same with libsodium (crypto_core_ristretto255_from_hash, crypto_scalarmult_ristretto255).
 * What is built here is only the byte strings the draft fixes (lv_cat, generator string,
 * transcript) and Hearth's key schedule after it.
 *
 * Roles: the hub is the initiator (its share goes first, in the hello request), the plug the
 * responder (its share comes back in the hello answer, with its box public key as its
 * associated data, so a key swapped on the way fails the confirmation).
 */

export const PAKE_DSI = 'CPaceRistretto255';
/** The protocol label that makes the channel identifier (with the plug's id). */
export const PAKE_LABEL = 'hearth-pair-v2';
export const PAKE_SID_BYTES = 16;
const HASH_BLOCK = 128; // SHA-512's input block: s_in_bytes in the draft

const Point = ristretto255.Point;
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const sha512 = (data: Uint8Array): Uint8Array => new Uint8Array(createHash('sha512').update(data).digest());
const hmac256 = (key: Uint8Array, label: string): Uint8Array =>
  new Uint8Array(createHmac('sha256', key).update(label, 'utf8').digest());

/** The draft's prepend_len for fields shorter than 128 bytes (one LEB128 byte), concatenated. */
export function lvCat(...fields: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    if (f.length > 127) throw new RangeError('lv_cat field longer than 127 bytes');
    parts.push(Uint8Array.of(f.length), f);
  }
  return Buffer.concat(parts);
}

/** CI: who the session is about, so a share made for one plug is useless for another. */
export const channelId = (plugId: string): Uint8Array => lvCat(utf8(PAKE_LABEL), utf8(plugId));

/** generator_string(DSI, PRS, CI, sid): lv_cat(DSI, PRS, zero padding to one hash block, CI, sid). */
export function generatorString(setupCode: string, plugId: string, sid: Uint8Array): Uint8Array {
  const dsi = utf8(PAKE_DSI);
  const prs = utf8(setupCode);
  const zpad = Math.max(0, HASH_BLOCK - 1 - (prs.length + 1) - (dsi.length + 1));
  return lvCat(dsi, prs, new Uint8Array(zpad), channelId(plugId), sid);
}

/** g = element_derivation(SHA-512(generator_string)): a point nobody knows a logarithm of. */
export function generator(setupCode: string, plugId: string, sid: Uint8Array) {
  return ristretto255_hasher.deriveToCurve!(sha512(generatorString(setupCode, plugId, sid)));
}

/** A uniformly random scalar in [1, L): 64 random bytes reduced mod L (as libsodium does). */
export function randomScalar(): bigint {
  for (;;) {
    const s = Point.Fn.create(bytesToNumberLE(randomBytes(64)));
    if (s !== 0n) return s;
  }
}

/** Scalar from 32 little-endian bytes (the test vectors fix the scalars this way). */
export const scalarFromBytes = (bytes: Uint8Array): bigint => Point.Fn.create(bytesToNumberLE(bytes));

/** K = scalar * peer share, or undefined for a share that is not a canonical, non-identity point. */
export function sharedPoint(scalar: bigint, peerShare: Uint8Array): Uint8Array | undefined {
  if (peerShare.length !== 32) return undefined;
  let peer: InstanceType<typeof Point>;
  try {
    peer = Point.fromBytes(peerShare);
  } catch {
    return undefined;
  }
  const k = peer.multiply(scalar);
  return k.is0() ? undefined : k.toBytes();
}

/** What both sides derive from one session: the two confirmations and the claim's key. */
export interface PakeKeys {
  /** ISK, 64 bytes (SHA-512 of the session and its transcript). */
  isk: Uint8Array;
  /** The hub's key confirmation, sent in the claim. */
  hubConfirm: Uint8Array;
  /** The plug's key confirmation, in its answer to the claim. */
  plugConfirm: Uint8Array;
  /** The claim's secretbox key (XSalsa20-Poly1305). */
  claimKey: Uint8Array;
}

/**
 * ISK = SHA-512(lv_cat(DSI + "_ISK", sid, K) || lv_cat(Ya, ADa) || lv_cat(Yb, ADb)) (the draft's
 * initiator-responder transcript; ADa empty, ADb the plug's box public key), then three keys
 * from it with HMAC-SHA256 and distinct labels.
 */
export function deriveKeys(
  sid: Uint8Array,
  k: Uint8Array,
  hubShare: Uint8Array,
  plugShare: Uint8Array,
  plugBoxPublicKey: Uint8Array,
): PakeKeys {
  const isk = sha512(
    Buffer.concat([
      lvCat(utf8(`${PAKE_DSI}_ISK`), sid, k),
      lvCat(hubShare, new Uint8Array(0)),
      lvCat(plugShare, plugBoxPublicKey),
    ]),
  );
  return {
    isk,
    hubConfirm: hmac256(isk, `${PAKE_LABEL}|hub confirm`),
    plugConfirm: hmac256(isk, `${PAKE_LABEL}|plug confirm`),
    claimKey: hmac256(isk, `${PAKE_LABEL}|claim key`),
  };
}

/** The hub's side of one session, kept between the hello and the claim. */
export interface HubPake {
  sid: Uint8Array;
  share: Uint8Array;
  scalar: bigint;
}

/** Fresh sid and scalar (parameters only so the test vectors can fix them). */
export function startHubPake(
  setupCode: string,
  plugId: string,
  sid: Uint8Array = new Uint8Array(randomBytes(PAKE_SID_BYTES)),
  scalar: bigint = randomScalar(),
): HubPake {
  return { sid, scalar, share: generator(setupCode, plugId, sid).multiply(scalar).toBytes() };
}

/** The hub's keys once the plug's share and box key are in; undefined for an invalid share. */
export function finishHubPake(s: HubPake, plugShare: Uint8Array, plugBoxPublicKey: Uint8Array): PakeKeys | undefined {
  const k = sharedPoint(s.scalar, plugShare);
  return k && deriveKeys(s.sid, k, s.share, plugShare, plugBoxPublicKey);
}

/**
 * The plug's side (the firmware does this in C; here for the test vectors and the hub's fake
 * plug): its share and keys for the hub's share, or undefined for an invalid hub share.
 */
export function plugRespond(
  setupCode: string,
  plugId: string,
  sid: Uint8Array,
  hubShare: Uint8Array,
  plugBoxPublicKey: Uint8Array,
  scalar: bigint = randomScalar(),
): { share: Uint8Array; keys: PakeKeys } | undefined {
  const share = generator(setupCode, plugId, sid).multiply(scalar).toBytes();
  const k = sharedPoint(scalar, hubShare);
  return k && { share, keys: deriveKeys(sid, k, hubShare, share, plugBoxPublicKey) };
}

/** Constant-time equality of two confirmations. */
export const confirmEqual = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b);
