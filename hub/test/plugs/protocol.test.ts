import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import {
  claimProof,
  commandMessage,
  ed25519Signer,
  encodeCommand,
  encodeTimeAnswer,
  parseTimeRequest,
  timeMessage,
  helloProof,
  sealClaim,
  signCommand,
  verifyHelloProof,
  type ClaimPlaintext,
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
  const plugBox = nacl.box.keyPair.fromSecretKey(fixed('plug-box-secret', 32));
  const hubBox = nacl.box.keyPair.fromSecretKey(fixed('hub-box-ephemeral', 32));
  const hubNonce = Buffer.from(fixed('hub-hello-nonce', 32)).toString('base64url');
  const plugNonce = b64(fixed('plug-hello-nonce', 32));
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
    pairing: {
      plugBoxPublicKey: b64(plugBox.publicKey),
      plugBoxSecretKey: b64(plugBox.secretKey),
      hubNonce,
      plugNonce,
      helloProof: undefined as string | undefined,
      claimProof: undefined as string | undefined,
      tampered: { wrongCode: '12345679' },
    },
    claim: {
      hubBoxSecretKey: b64(hubBox.secretKey),
      hubBoxPublicKey: b64(hubBox.publicKey),
      nonce: b64(fixed('claim-box-nonce', 24)),
      plaintext: undefined as string | undefined,
      box: undefined as string | undefined,
    },
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

  it('computes and checks the hello proof; a wrong code does not verify', () => {
    const p = v.pairing;
    const proof = helloProof(v.setupCode, v.id, p.plugBoxPublicKey, p.hubNonce, p.plugNonce);
    if (p.helloProof) expect(b64(proof)).toBe(p.helloProof);
    expect(verifyHelloProof(v.setupCode, v.id, p.plugBoxPublicKey, p.hubNonce, p.plugNonce, proof)).toBe(true);
    expect(verifyHelloProof(p.tampered.wrongCode, v.id, p.plugBoxPublicKey, p.hubNonce, p.plugNonce, proof)).toBe(
      false,
    );
    if (p.tampered.helloProof)
      expect(b64(helloProof(p.tampered.wrongCode, v.id, p.plugBoxPublicKey, p.hubNonce, p.plugNonce))).toBe(
        p.tampered.helloProof,
      );
  });

  it('computes the claim proof', () => {
    const proof = b64(claimProof(v.setupCode, v.id, v.pairing.plugNonce));
    if (v.pairing.claimProof) expect(proof).toBe(v.pairing.claimProof);
    if (v.pairing.tampered.claimProof)
      expect(b64(claimProof(v.pairing.tampered.wrongCode, v.id, v.pairing.plugNonce))).toBe(
        v.pairing.tampered.claimProof,
      );
  });

  it('seals the claim to the exact box bytes, which the plug key opens', () => {
    const plaintext: ClaimPlaintext = v.claim.plaintext
      ? JSON.parse(v.claim.plaintext)
      : {
          claimProof: b64(claimProof(v.setupCode, v.id, v.pairing.plugNonce)),
          deviceId: v.id,
          mqtt: { host: '127.0.0.1', port: 1883, username: v.id, password: 'pw' },
          hubSignPublicKey: v.hub.signPublicKey,
          counter: 7,
        };
    const ephemeral = nacl.box.keyPair.fromSecretKey(bytes(v.claim.hubBoxSecretKey));
    const body = sealClaim(plaintext, bytes(v.pairing.plugBoxPublicKey), ephemeral, bytes(v.claim.nonce));
    expect(body.hubBoxPublicKey).toBe(v.claim.hubBoxPublicKey);
    expect(body.nonce).toBe(v.claim.nonce);
    if (v.claim.plaintext) expect(JSON.stringify(plaintext)).toBe(v.claim.plaintext);
    if (v.claim.box) expect(body.box).toBe(v.claim.box);
    const opened = nacl.box.open(
      bytes(body.box),
      bytes(body.nonce),
      bytes(body.hubBoxPublicKey),
      bytes(v.pairing.plugBoxSecretKey),
    );
    expect(opened && JSON.parse(Buffer.from(opened).toString())).toEqual(plaintext);
  });
});
