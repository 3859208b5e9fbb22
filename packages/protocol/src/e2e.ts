import nacl from 'tweetnacl';
import { CONTEXT } from './keys.ts';
import { concat, equalBytes } from './encoding.ts';
import { ProtocolError } from './errors.ts';

/**
 * The end-to-end layer between a remote device and its hub (docs/relay-protocol.md "Sessions").
 * The relay forwards these frames and sees only their sizes.
 *
 *   HELLO   0x01 | device Ed25519 pub (32) | client ephemeral X25519 pub (32) | sig (64)
 *   WELCOME 0x02 | hub ephemeral X25519 pub (32) | sig (64)
 *   SEALED  0x03 | counter (8, big-endian) | secretbox(plaintext, nonce, sessionKey)
 *
 * Both sides sign their ephemeral key with their long-term Ed25519 key, bound to the other's
 * identity, so the relay can neither read nor impersonate; the session key is
 * nacl.box.before(ephemeral keys), fresh per session (forward secrecy). The nonce is the
 * direction byte plus the counter, so the two directions never share one; a receiver takes only
 * counters above the last it accepted (no replay, no reordering; gaps are allowed because the
 * relay may drop a frame it rate-limits).
 */
export const FRAME_HELLO = 0x01;
export const FRAME_WELCOME = 0x02;
export const FRAME_SEALED = 0x03;
const HELLO_LENGTH = 1 + 32 + 32 + 64;
const WELCOME_LENGTH = 1 + 32 + 64;
const SEALED_OVERHEAD = 1 + 8 + nacl.secretbox.overheadLength;

export type Direction = 'toHub' | 'toDevice';

export class E2eSession {
  readonly #key: Uint8Array;
  readonly #sendDir: number;
  readonly #recvDir: number;
  #sent = 0n;
  #received = 0n;

  constructor(key: Uint8Array, sends: Direction) {
    this.#key = key;
    this.#sendDir = sends === 'toHub' ? 1 : 2;
    this.#recvDir = sends === 'toHub' ? 2 : 1;
  }

  seal(plaintext: Uint8Array): Uint8Array {
    this.#sent += 1n;
    const counter = new Uint8Array(8);
    new DataView(counter.buffer).setBigUint64(0, this.#sent);
    const box = nacl.secretbox(plaintext, nonceOf(this.#sendDir, counter), this.#key);
    return concat(Uint8Array.of(FRAME_SEALED), counter, box);
  }

  open(frame: Uint8Array): Uint8Array {
    if (frame.length < SEALED_OVERHEAD || frame[0] !== FRAME_SEALED)
      throw new ProtocolError('e2e_bad_frame', 'not a sealed frame');
    const counter = frame.subarray(1, 9);
    const value = new DataView(counter.buffer, counter.byteOffset, 8).getBigUint64(0);
    if (value <= this.#received) throw new ProtocolError('e2e_replay', 'counter not above the last one');
    const plain = nacl.secretbox.open(frame.subarray(9), nonceOf(this.#recvDir, counter), this.#key);
    if (!plain) throw new ProtocolError('e2e_bad_frame', 'authentication failed');
    this.#received = value;
    return plain;
  }
}

/**
 * The counter of a sealed frame (clear text in its header): the relay names it when it refuses
 * a frame, so the device knows which request was dropped. null for other frames.
 */
export function sealedCounter(frame: Uint8Array): string | null {
  if (frame.length < SEALED_OVERHEAD || frame[0] !== FRAME_SEALED) return null;
  return new DataView(frame.buffer, frame.byteOffset + 1, 8).getBigUint64(0).toString();
}

function nonceOf(direction: number, counter: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(nacl.secretbox.nonceLength);
  nonce[0] = direction;
  nonce.set(counter, 1);
  return nonce;
}

/** The device's side: sends HELLO, then turns the hub's WELCOME into a session. */
export function clientHandshake(
  deviceSign: nacl.SignKeyPair,
  hubSignPublic: Uint8Array,
): { hello: Uint8Array; finish(welcome: Uint8Array): E2eSession } {
  const eph = nacl.box.keyPair();
  const signed = concat(CONTEXT.e2eClient, hubSignPublic, deviceSign.publicKey, eph.publicKey);
  const hello = concat(
    Uint8Array.of(FRAME_HELLO),
    deviceSign.publicKey,
    eph.publicKey,
    nacl.sign.detached(signed, deviceSign.secretKey),
  );
  return {
    hello,
    finish(welcome) {
      if (welcome.length !== WELCOME_LENGTH || welcome[0] !== FRAME_WELCOME)
        throw new ProtocolError('e2e_bad_frame', 'not a welcome frame');
      const hubEph = welcome.subarray(1, 33);
      const sig = welcome.subarray(33);
      const message = concat(CONTEXT.e2eHub, deviceSign.publicKey, eph.publicKey, hubEph);
      if (!nacl.sign.detached.verify(message, sig, hubSignPublic))
        throw new ProtocolError('e2e_bad_signature', 'the welcome is not signed by this hub');
      return new E2eSession(nacl.box.before(hubEph, eph.secretKey), 'toHub');
    },
  };
}

/** What the hub learns from a HELLO; it checks `devicePublic` is enrolled before `accept`. */
export interface Hello {
  devicePublic: Uint8Array;
  /** `signFast` may replace tweetnacl's signing (the hub uses node:crypto: same bytes, faster). */
  accept(
    hubSign: nacl.SignKeyPair,
    signFast?: (message: Uint8Array) => Uint8Array,
  ): { welcome: Uint8Array; session: E2eSession };
}

/** The hub's side: verifies the device's signature (bound to this hub's key) and answers. */
export function readHello(frame: Uint8Array, hubSignPublic: Uint8Array): Hello {
  if (frame.length !== HELLO_LENGTH || frame[0] !== FRAME_HELLO)
    throw new ProtocolError('e2e_bad_frame', 'not a hello frame');
  const devicePublic = frame.slice(1, 33);
  const clientEph = frame.slice(33, 65);
  const sig = frame.subarray(65);
  const signed = concat(CONTEXT.e2eClient, hubSignPublic, devicePublic, clientEph);
  if (!nacl.sign.detached.verify(signed, sig, devicePublic))
    throw new ProtocolError('e2e_bad_signature', 'the hello is not signed by its device key');
  return {
    devicePublic,
    accept(hubSign, signFast) {
      if (!equalBytes(hubSign.publicKey, hubSignPublic)) throw new ProtocolError('e2e_bad_key', "not this hub's key");
      const eph = nacl.box.keyPair();
      const message = concat(CONTEXT.e2eHub, devicePublic, clientEph, eph.publicKey);
      const signature = signFast ? signFast(message) : nacl.sign.detached(message, hubSign.secretKey);
      const welcome = concat(Uint8Array.of(FRAME_WELCOME), eph.publicKey, signature);
      return { welcome, session: new E2eSession(nacl.box.before(clientEph, eph.secretKey), 'toDevice') };
    },
  };
}
