import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import {
  finishHubPake,
  generator,
  generatorString,
  plugRespond,
  scalarFromBytes,
  sharedPoint,
  startHubPake,
} from '../../src/drivers/plug/pake.ts';
import { helloQuery, sealClaim, type ClaimPlaintext } from '../../src/drivers/plug/protocol.ts';

/**
 * Pairing by CPace (docs/plug-protocol.md "Pairing", protocol 2): the hub's side against the
 * shared vectors (firmware/test/vectors/plug-vectors.json; the C core checks the same file with
 * libsodium), and what a listener can and cannot do with a whole transcript.
 */
const VECTORS = fileURLToPath(new URL('../../../firmware/test/vectors/plug-vectors.json', import.meta.url));
const v = JSON.parse(readFileSync(VECTORS, 'utf8'));
const pk = v.pairing.pake;
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
const boxPk = bytes(v.pairing.plugBoxPublicKey);

describe('pairing PAKE (CPace on ristretto255) against the shared vectors', () => {
  it('derives the generator, both shares, ISK, the confirmations and the claim key byte for byte', () => {
    const sid = bytes(pk.sid);
    expect(hex(generatorString(v.setupCode, v.id, sid))).toBe(pk.generatorString);
    expect(hex(generator(v.setupCode, v.id, sid).toBytes())).toBe(pk.generator);
    const hub = startHubPake(v.setupCode, v.id, sid, scalarFromBytes(bytes(pk.hubScalar)));
    expect(b64(hub.share)).toBe(pk.hubShare);
    expect(helloQuery(hub)).toBe(`pv=2&sid=${pk.sidUrl}&share=${pk.hubShareUrl}`);
    const plug = plugRespond(v.setupCode, v.id, sid, hub.share, boxPk, scalarFromBytes(bytes(pk.plugScalar)))!;
    expect(b64(plug.share)).toBe(pk.plugShare);
    const keys = finishHubPake(hub, plug.share, boxPk)!;
    expect([b64(keys.isk), b64(keys.hubConfirm), b64(keys.plugConfirm), b64(keys.claimKey)]).toEqual([
      pk.isk,
      pk.hubConfirm,
      pk.plugConfirm,
      pk.claimKey,
    ]);
    expect(plug.keys).toEqual(keys);
  });

  it('a hub with the wrong code ends with keys the plug does not share: its confirmation is refused', () => {
    const sid = bytes(pk.sid);
    const hub = startHubPake(pk.wrongCode.code, v.id, sid, scalarFromBytes(bytes(pk.hubScalar)));
    expect(Buffer.from(hub.share).toString('base64url')).toBe(pk.wrongCode.hubShareUrl);
    const plug = plugRespond(v.setupCode, v.id, sid, hub.share, boxPk, scalarFromBytes(bytes(pk.plugScalar)))!;
    expect(b64(plug.share)).toBe(pk.wrongCode.plugShare);
    const keys = finishHubPake(hub, plug.share, boxPk)!;
    expect(b64(keys.hubConfirm)).toBe(pk.wrongCode.hubConfirm);
    expect(b64(plug.keys.hubConfirm)).toBe(pk.wrongCode.plugExpects);
    expect(pk.wrongCode.hubConfirm).not.toBe(pk.wrongCode.plugExpects);
  });

  it('a box key swapped on the way (someone in the middle) changes every key', () => {
    const sid = bytes(pk.sid);
    const hub = startHubPake(v.setupCode, v.id, sid, scalarFromBytes(bytes(pk.hubScalar)));
    const keys = finishHubPake(hub, bytes(pk.plugShare), nacl.box.keyPair().publicKey)!;
    expect(b64(keys.hubConfirm)).not.toBe(pk.hubConfirm);
    expect(b64(keys.claimKey)).not.toBe(pk.claimKey);
  });

  it('refuses shares that are not canonical points or give the identity', () => {
    for (const s of pk.invalidShares)
      expect(sharedPoint(5n, new Uint8Array(Buffer.from(s, 'base64url')))).toBe(undefined);
    expect(sharedPoint(5n, new Uint8Array(31))).toBe(undefined);
  });

  it('seals the claim to the exact secretbox bytes and body, which the claim key opens', () => {
    const plaintext: ClaimPlaintext = JSON.parse(v.claim.plaintext);
    const keys = {
      isk: bytes(pk.isk),
      hubConfirm: bytes(pk.hubConfirm),
      plugConfirm: bytes(pk.plugConfirm),
      claimKey: bytes(pk.claimKey),
    };
    const body = sealClaim(plaintext, bytes(pk.sid), keys, bytes(v.claim.nonce));
    expect(JSON.stringify(plaintext)).toBe(v.claim.plaintext);
    expect(body.box).toBe(v.claim.box);
    expect(JSON.stringify(body)).toBe(v.claim.body);
    const opened = nacl.secretbox.open(bytes(body.box), bytes(body.nonce), keys.claimKey);
    expect(opened && Buffer.from(opened).toString()).toBe(v.claim.plaintext);
  });
});

/** One whole pairing exchange as a listener on the LAN records it (every byte that travels). */
function record(hubCode: string, plugCode = '12345678', id = v.id as string) {
  const hub = startHubPake(hubCode, id);
  const box = nacl.box.keyPair();
  const plug = plugRespond(plugCode, id, hub.sid, hub.share, box.publicKey)!;
  const keys = finishHubPake(hub, plug.share, box.publicKey)!;
  const claim = sealClaim(
    {
      deviceId: id,
      mqtt: { host: '10.0.0.2', port: 1883, username: id, password: 'secret-pw' },
      hubSignPublicKey: b64(new Uint8Array(32)),
      counter: 0,
    },
    hub.sid,
    keys,
  );
  // The plug checks the hub's confirmation online; only then does it answer with its own.
  const accepted = b64(plug.keys.hubConfirm) === claim.confirm;
  const answer = accepted ? { ok: true, confirm: b64(plug.keys.plugConfirm) } : { error: 'wrong_code' };
  return {
    query: helloQuery(hub),
    hello: { id, boxPublicKey: b64(box.publicKey), share: b64(plug.share) },
    claim,
    answer,
  };
}

/** Every binary value in a transcript, decoded (base64 and base64url alike). */
function values(t: ReturnType<typeof record>): Buffer[] {
  const q = new URLSearchParams(t.query);
  const texts = [q.get('sid')!, q.get('share')!, t.hello.boxPublicKey, t.hello.share, ...Object.values(t.claim)];
  if ('confirm' in t.answer) texts.push(t.answer.confirm as string);
  return texts.map((s) => Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

describe('what a listener gets from a pairing transcript', () => {
  const codes = (n: number) => Array.from({ length: n }, (_, i) => String(12345678 + i - 3).padStart(8, '0'));

  /**
   * A listener's offline test of one guessed code against a recording: recompute what protocol 1
   * sent (HMAC of the code over the public values, in both of its forms) and the code's CPace
   * generator, and look for any of them on the wire.
   */
  const offlineHit = (
    seen: Set<string>,
    code: string,
    box: string,
    nonceA: string,
    nonceB: string,
    sid?: Uint8Array,
  ) => {
    const hmac = (m: string) => createHmac('sha256', Buffer.from(code, 'ascii')).update(m).digest('hex');
    const candidates = [
      hmac(`hearth-pair-v1|${v.id}|${box}|${nonceA}|${nonceB}`),
      hmac(`hearth-claim-v1|${v.id}|${nonceB}`),
    ];
    if (sid) candidates.push(hex(generator(code, v.id, sid).toBytes()));
    return candidates.some((c) => seen.has(c));
  };

  it('control: in a protocol-1 recording that test finds the code, and only the right one', () => {
    const box = b64(nacl.box.keyPair().publicKey);
    const hubNonce = Buffer.from(nacl.randomBytes(32)).toString('base64url');
    const plugNonce = b64(nacl.randomBytes(32));
    const proof = createHmac('sha256', '12345678')
      .update(`hearth-pair-v1|${v.id}|${box}|${hubNonce}|${plugNonce}`)
      .digest();
    const seen = new Set([box, plugNonce, b64(proof)].map((s) => Buffer.from(s, 'base64').toString('hex')));
    const hits = codes(200).filter((c) => offlineHit(seen, c, box, hubNonce, plugNonce));
    expect(hits).toEqual(['12345678']);
  });

  it('nothing in a protocol-2 recording checks a guessed code offline, the right one included', () => {
    const t = record('12345678');
    expect(t.answer).toMatchObject({ ok: true });
    const seen = new Set(values(t).map((b) => b.toString('hex')));
    const q = new URLSearchParams(t.query);
    const sid = Buffer.from(q.get('sid')!, 'base64url');
    const hits = codes(200).filter((c) => offlineHit(seen, c, t.hello.boxPublicKey, q.get('sid')!, t.hello.share, sid));
    expect(codes(200)).toContain('12345678');
    expect(hits).toEqual([]);
  });

  it('a wrong-code run looks the same on the wire up to the plug refusing it online', () => {
    const right = record('12345678');
    const wrong = record('87654321');
    const shape = (t: ReturnType<typeof record>) => ({
      query: t.query.replace(/=[^&]*/g, (m) => `=${m.length}`),
      hello: Object.fromEntries(Object.entries(t.hello).map(([k, s]) => [k, k === 'id' ? s : s.length])),
      claim: Object.fromEntries(Object.entries(t.claim).map(([k, s]) => [k, s.length])),
    });
    expect(shape(wrong)).toEqual(shape(right));
    // Only the online answer differs: the one guess that run was.
    expect(right.answer).toMatchObject({ ok: true });
    expect(wrong.answer).toEqual({ error: 'wrong_code' });
  });

  it('shares are fresh random points every session: the same code and plug never repeat one', () => {
    const a = record('12345678');
    const b = record('12345678');
    for (const x of values(a)) if (x.length === 32) expect(values(b).some((y) => y.equals(x))).toBe(false);
  });

  it('a recorded claim does not verify in a new session of the same plug (replay)', () => {
    const old = record('12345678');
    const hub = startHubPake('12345678', v.id);
    const box = nacl.box.keyPair();
    const plug = plugRespond('12345678', v.id, hub.sid, hub.share, box.publicKey)!;
    expect(b64(plug.keys.hubConfirm)).not.toBe(old.claim.confirm);
    expect(nacl.secretbox.open(bytes(old.claim.box), bytes(old.claim.nonce), plug.keys.claimKey)).toBeNull();
  });
});
