// Writes plug-vectors.json: fixed-seed test vectors for docs/plug-protocol.md, made with the
// same libraries and code the hub uses (tweetnacl, node:crypto, the hub's pake.ts on @noble/curves). The C tests verify every vector with
// libsodium and re-derive the deterministic ones byte for byte; the hub's tests can read the
// same file. Run from the repo root: node firmware/test/vectors/generate.ts
import { createHash, createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nacl from 'tweetnacl';
import {
  finishHubPake,
  generator,
  generatorString,
  PAKE_DSI,
  PAKE_SID_BYTES,
  type PakeKeys,
  plugRespond,
  scalarFromBytes,
  startHubPake,
} from '../../../hub/src/drivers/plug/pake.ts';

// Every "random" value is derived from a label, so the file is the same on every run.
const fixed = (label: string, n: number): Uint8Array =>
  new Uint8Array(createHash('sha256').update(`hearth-vectors|${label}`).digest()).slice(0, n);
const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');
const b64url = (u: Uint8Array): string => Buffer.from(u).toString('base64url');
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const flip = (s: string, at: number): string => {
  const u = Buffer.from(s, 'base64');
  u[at] ^= 0x01;
  return u.toString('base64');
};

const id = 'plug-0a1b2c3d4e5f';
const setupCode = '12345678';

// Hub signing key (Ed25519) from a seed.
const hubSeed = fixed('hub-sign-seed', 32);
const hubSign = nacl.sign.keyPair.fromSeed(hubSeed);

type Value = boolean | number;
const signedMessage = (c: number, t: number, cap: string, v: Value): string =>
  `hearth-cmd-v1|${id}|${c}|${t}|${cap}|${JSON.stringify(v)}`;
const command = (c: number, t: number, cap: string, v: Value) => {
  const message = signedMessage(c, t, cap, v);
  const sig = nacl.sign.detached(new TextEncoder().encode(message), hubSign.secretKey);
  const payload = JSON.stringify({ c, t, cap, v, sig: b64(sig) });
  return { c, t, cap, v, message, sig: b64(sig), payload };
};
const t0 = 1767225600000; // 2026-01-01T00:00:00Z
const commands = [
  command(1, t0, 'switch', true),
  command(2, t0 + 1500, 'switch', false),
  command(41, t0 + 60000, 'switch', true),
  command(9007199254740991, t0 + 120000, 'switch', false),
];
// Tampered: the value flipped after signing, and a signature with one bit changed.
const good = commands[0];
const tamperedCommands = [
  { why: 'value changed after signing', payload: JSON.stringify({ c: good.c, t: good.t, cap: good.cap, v: false, sig: good.sig }) },
  { why: 'signature bit flipped', payload: JSON.stringify({ c: good.c, t: good.t, cap: good.cap, v: good.v, sig: flip(good.sig, 10) }) },
  { why: 'counter changed after signing', payload: JSON.stringify({ c: good.c + 1, t: good.t, cap: good.cap, v: good.v, sig: good.sig }) },
];

// Time: the hub's signed answer to a plug's time request (the nonce is the plug's).
const timeNonce = b64(fixed('time-nonce', 16));
const timeMessage = `hearth-time-v1|${id}|${timeNonce}|${t0 + 5000}`;
const timeSig = b64(nacl.sign.detached(new TextEncoder().encode(timeMessage), hubSign.secretKey));
const time = { nonce: timeNonce, t: t0 + 5000, message: timeMessage, sig: timeSig, payload: JSON.stringify({ n: timeNonce, t: t0 + 5000, sig: timeSig }) };

// Pairing (protocol v2): CPace on ristretto255 (hub/src/drivers/plug/pake.ts, @noble/curves),
// with fixed sid and scalars so the C core (libsodium) must land on the same bytes.
const plugBox = nacl.box.keyPair.fromSecretKey(fixed('plug-box-secret', 32));
const sid = fixed('pake-sid', PAKE_SID_BYTES);
// Scalars as 32 little-endian bytes below L (the top byte cleared), as libsodium takes them.
const scalarBytes = (label: string): Uint8Array => {
  const u = fixed(label, 32);
  u[31] &= 0x0f;
  return u;
};
const hubScalar = scalarBytes('pake-hub-scalar');
const plugScalar = scalarBytes('pake-plug-scalar');
const hubPake = startHubPake(setupCode, id, sid, scalarFromBytes(hubScalar));
const plugSide = plugRespond(setupCode, id, sid, hubPake.share, plugBox.publicKey, scalarFromBytes(plugScalar))!;
const hubKeys = finishHubPake(hubPake, plugSide.share, plugBox.publicKey)!;
if (b64(hubKeys.isk) !== b64(plugSide.keys.isk)) throw new Error('the two sides of the vectors disagree');
const wrongCode = '12345679';
// A hub that was given the wrong code: its share, and the confirmation it would send to the plug.
const wrongHub = startHubPake(wrongCode, id, sid, scalarFromBytes(hubScalar));
const wrongPlug = plugRespond(setupCode, id, sid, wrongHub.share, plugBox.publicKey, scalarFromBytes(plugScalar))!;
const wrongHubKeys = finishHubPake(wrongHub, wrongPlug.share, plugBox.publicKey)!;
const pake = {
  dsi: PAKE_DSI,
  sid: b64(sid),
  sidUrl: b64url(sid),
  generatorString: hex(generatorString(setupCode, id, sid)),
  generator: hex(generator(setupCode, id, sid).toBytes()),
  hubScalar: b64(hubScalar),
  plugScalar: b64(plugScalar),
  hubShare: b64(hubPake.share),
  hubShareUrl: b64url(hubPake.share),
  plugShare: b64(plugSide.share),
  isk: b64(hubKeys.isk),
  hubConfirm: b64(hubKeys.hubConfirm),
  plugConfirm: b64(hubKeys.plugConfirm),
  claimKey: b64(hubKeys.claimKey),
  wrongCode: {
    code: wrongCode,
    hubShareUrl: b64url(wrongHub.share),
    plugShare: b64(wrongPlug.share),
    // What the wrong-code hub sends, and what the plug expects instead: they differ.
    hubConfirm: b64(wrongHubKeys.hubConfirm),
    plugExpects: b64(wrongPlug.keys.hubConfirm),
  },
  // Shares a plug must refuse: the identity, a non-canonical encoding (p + 1), a non-square.
  invalidShares: [
    b64url(new Uint8Array(32)),
    b64url(Buffer.from('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex')),
    b64url(Buffer.from('0100000000000000000000000000000000000000000000000000000000000000', 'hex')),
  ],
};

// Claim: the credentials in a secretbox under the session's claim key (fixed nonce here).
const boxNonce = fixed('claim-box-nonce', 24);
type ClaimMqtt = { host: string; port: number; tlsPort?: number; username: string; password: string };
const sealed = (keys: PakeKeys, mqtt: ClaimMqtt = { host: '127.0.0.1', port: 1883, username: id, password: 'pw-' + hex(fixed('mqtt-password', 12)) }) => {
  const plaintext = JSON.stringify({ deviceId: id, mqtt, hubSignPublicKey: b64(hubSign.publicKey), counter: 7 });
  const box = nacl.secretbox(new TextEncoder().encode(plaintext), boxNonce, keys.claimKey);
  const body = (confirm: Uint8Array, boxB64: string) => JSON.stringify({ sid: b64(sid), confirm: b64(confirm), nonce: b64(boxNonce), box: boxB64 });
  return { plaintext, box: b64(box), body: body(keys.hubConfirm, b64(box)), bodyWith: body };
};
const claim = sealed(hubKeys);
const wrongCodeClaim = sealed(wrongHubKeys);

// Firmware update: a test image, its manifest signed by the firmware-signing TEST key, and the
// refusals (docs/plug-protocol.md "Firmware update"). The plug runs model hearth-plug-sim 1.0.0.
const fwSeed = fixed('firmware-sign-seed', 32);
const fwSign = nacl.sign.keyPair.fromSeed(fwSeed);
const image = new Uint8Array(1000).map((_, i) => fixed(`image-${i >> 5}`, 32)[i & 31]!);
const sha = (u: Uint8Array): string => createHash('sha256').update(u).digest('base64');
type Manifest = { model: string; version: string; size: number; sha256: string };
const fwMessage = (m: Manifest): string => `hearth-fw-v1|${m.model}|${m.version}|${m.size}|${m.sha256}`;
const fwSig = (m: Manifest): string => b64(nacl.sign.detached(new TextEncoder().encode(fwMessage(m)), fwSign.secretKey));
const otaValue = (manifest: Manifest, sig: string, downgrade = false): string => JSON.stringify({ manifest, sig, downgrade });
const goodManifest: Manifest = { model: 'hearth-plug-sim', version: '1.1.0', size: image.length, sha256: sha(image) };
const badImage = image.slice();
badImage[500] ^= 0x40;
const olderManifest: Manifest = { ...goodManifest, version: '0.9.0' };
const otherModel: Manifest = { ...goodManifest, model: 'hearth-plug-eu' };
const firmwareCases = [
  { why: 'good', expect: 'ok', value: otaValue(goodManifest, fwSig(goodManifest)), image: b64(image) },
  { why: 'another model', expect: 'wrong_model', value: otaValue(otherModel, fwSig(otherModel)), image: b64(image) },
  {
    why: 'version changed after signing',
    expect: 'bad_signature',
    value: otaValue({ ...goodManifest, version: '9.9.9' }, fwSig(goodManifest)),
    image: b64(image),
  },
  {
    why: 'signed by another key',
    expect: 'bad_signature',
    value: otaValue(goodManifest, b64(nacl.sign.detached(new TextEncoder().encode(fwMessage(goodManifest)), hubSign.secretKey))),
    image: b64(image),
  },
  { why: 'older version', expect: 'downgrade', value: otaValue(olderManifest, fwSig(olderManifest)), image: b64(image) },
  { why: 'older version, downgrade allowed', expect: 'ok', value: otaValue(olderManifest, fwSig(olderManifest), true), image: b64(image) },
  { why: 'image changed in transfer (one bit)', expect: 'bad_hash', value: otaValue(goodManifest, fwSig(goodManifest)), image: b64(badImage) },
];
// The hub's signed ota_begin command for the good case (the value is an object, signed as sent).
const otaCommandValue = JSON.parse(firmwareCases[0]!.value) as Record<string, unknown>;
const otaMessage = `hearth-cmd-v1|${id}|42|${t0}|ota_begin|${JSON.stringify(otaCommandValue)}`;
const otaCmdSig = b64(nacl.sign.detached(new TextEncoder().encode(otaMessage), hubSign.secretKey));
const firmware = {
  signSeed: b64(fwSeed),
  signPublicKey: b64(fwSign.publicKey),
  model: 'hearth-plug-sim',
  running: '1.0.0',
  manifestMessage: fwMessage(goodManifest),
  cases: firmwareCases,
  command: {
    c: 42,
    t: t0,
    message: otaMessage,
    sig: otaCmdSig,
    payload: JSON.stringify({ c: 42, t: t0, cap: 'ota_begin', v: otaCommandValue, sig: otaCmdSig }),
  },
};

// MQTT over TLS: the plug's TLS 1.3 external PSK, RFC 5869 HKDF spelled out with HMAC here so
// the hub's hkdfSync (broker/plug-psk.ts) and the C core are both checked against it.
const pskPassword = b64url(fixed('mqtt-password', 32));
const pskDigest = createHash('sha256').update(pskPassword, 'utf8').digest();
const pskInfo = 'hearth mqtt psk v1';
const pskPrk = createHmac('sha256', Buffer.alloc(32)).update(pskDigest).digest();
const pskOkm = createHmac('sha256', pskPrk).update(Buffer.concat([Buffer.from(pskInfo, 'utf8'), Buffer.from([1])])).digest();
// A claim from a hub with TLS: the plug connects to tlsPort with the PSK of this password.
const tlsClaim = sealed(hubKeys, { host: '127.0.0.1', port: 1883, tlsPort: 8883, username: id, password: pskPassword });
const mqttPsk = {
  identity: id,
  password: pskPassword,
  passwordSha256: hex(pskDigest),
  info: pskInfo,
  psk: hex(pskOkm),
  claimBody: tlsClaim.body,
  claimPlaintext: tlsClaim.plaintext,
};

const vectors = {
  about: 'Hearth plug protocol v2 test vectors (docs/plug-protocol.md); regenerate with node firmware/test/vectors/generate.ts',
  id,
  setupCode,
  hub: { signSeed: b64(hubSeed), signPublicKey: b64(hubSign.publicKey) },
  commands,
  tamperedCommands,
  time,
  pairing: {
    plugBoxSecretKey: b64(plugBox.secretKey),
    plugBoxPublicKey: b64(plugBox.publicKey),
    pake,
  },
  claim: {
    nonce: b64(boxNonce),
    plaintext: claim.plaintext,
    box: claim.box,
    body: claim.body,
    tampered: { why: 'one ciphertext bit flipped', body: claim.bodyWith(hubKeys.hubConfirm, flip(claim.box, 20)) },
    wrongConfirm: {
      why: 'the right box with a confirmation bit flipped',
      body: claim.bodyWith(Buffer.from(flip(b64(hubKeys.hubConfirm), 3), 'base64'), claim.box),
    },
    wrongCodeBody: wrongCodeClaim.body,
  },
  firmware,
  mqttPsk,
};

const out = join(dirname(fileURLToPath(import.meta.url)), 'plug-vectors.json');
writeFileSync(out, JSON.stringify(vectors, null, 2) + '\n');
console.log(`wrote ${out}`);
