import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import {
  commandMessage,
  ed25519Signer,
  encodeCommand,
  encodeTimeAnswer,
  parseTimeRequest,
  timeMessage,
  signCommand,
} from '../../src/drivers/plug/protocol.ts';

/**
 * The shared test vectors (firmware/test/vectors/plug-vectors.json, made by generate.ts with
 * tweetnacl from fixed seeds; the C tests check the same file with libsodium). The hub must
 * produce exactly these bytes. If the file is missing (a checkout without firmware/), vectors
 * built here from the protocol text stand in, so the test still pins the formats.
 */
const VECTORS = fileURLToPath(new URL('../../../firmware/test/vectors/plug-vectors.json', import.meta.url));

const fixed = (label: string, n: number) =>
  new Uint8Array(createHash('sha256').update(`hearth-vectors|${label}`).digest()).slice(0, n);
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

function localVectors() {
  const id = 'plug-0a1b2c3d4e5f';
  const hub = nacl.sign.keyPair.fromSeed(fixed('hub-sign-seed', 32));
  const t0 = 1767225600000;
  const message = (c: number, t: number, v: boolean) => `hearth-cmd-v1|${id}|${c}|${t}|switch|${v}`;
  const cmd = (c: number, t: number, v: boolean) => {
    const sig = b64(nacl.sign.detached(new TextEncoder().encode(message(c, t, v)), hub.secretKey));
    return {
      c,
      t,
      cap: 'switch',
      v,
      message: message(c, t, v),
      sig,
      payload: `{"c":${c},"t":${t},"cap":"switch","v":${v},"sig":"${sig}"}`,
    };
  };
  return {
    id,
    setupCode: '12345678',
    hub: { signSeed: b64(fixed('hub-sign-seed', 32)), signPublicKey: b64(hub.publicKey) },
    commands: [cmd(1, t0, true), cmd(2, t0 + 1500, false), cmd(9007199254740991, t0 + 120000, false)],
    time: (() => {
      const nonce = b64(fixed('time-nonce', 16));
      const message = `hearth-time-v1|${id}|${nonce}|${t0 + 5000}`;
      const sig = b64(nacl.sign.detached(new TextEncoder().encode(message), hub.secretKey));
      return { nonce, t: t0 + 5000, message, sig, payload: `{"n":"${nonce}","t":${t0 + 5000},"sig":"${sig}"}` };
    })(),
  };
}

const shared = existsSync(VECTORS);
const v = shared ? JSON.parse(readFileSync(VECTORS, 'utf8')) : localVectors();

describe(`plug protocol against ${shared ? 'the shared vectors' : 'vectors built from the protocol text'}`, () => {
  const hubKey = nacl.sign.keyPair.fromSeed(bytes(v.hub.signSeed));

  it('derives the hub signing key from the seed', () => {
    expect(b64(hubKey.publicKey)).toBe(v.hub.signPublicKey);
  });

  it('signs every command to the exact message, signature and payload bytes', () => {
    for (const c of v.commands) {
      expect(commandMessage(v.id, c.c, c.t, c.cap, c.v)).toBe(c.message);
      const signed = signCommand(ed25519Signer(hubKey.secretKey), v.id, c.c, c.t, c.cap, c.v);
      expect(signed.sig).toBe(c.sig);
      expect(encodeCommand(signed)).toBe(c.payload);
    }
  });

  it('answers a time request with the exact message and payload bytes; rejects odd nonces', () => {
    expect(timeMessage(v.id, v.time.nonce, v.time.t)).toBe(v.time.message);
    expect(encodeTimeAnswer(ed25519Signer(hubKey.secretKey), v.id, v.time.nonce, v.time.t)).toBe(v.time.payload);
    expect(parseTimeRequest(Buffer.from(JSON.stringify({ n: v.time.nonce })))).toBe(v.time.nonce);
    for (const bad of [
      '{"n":"AAAA"}',
      '{"n":1}',
      '{}',
      'null',
      '[',
      JSON.stringify({ n: Buffer.alloc(17).toString('base64') }),
    ]) {
      expect(parseTimeRequest(Buffer.from(bad))).toBeUndefined();
    }
  });

  it("signs with Node's Ed25519 exactly as tweetnacl does, for any key and message", () => {
    for (let i = 0; i < 20; i++) {
      const key = nacl.sign.keyPair();
      const message = nacl.randomBytes(1 + i * 13);
      expect(b64(ed25519Signer(key.secretKey)(message))).toBe(b64(nacl.sign.detached(message, key.secretKey)));
    }
  });
});
