// Writes plug-vectors.json: fixed-seed test vectors for docs/plug-protocol.md, made with the
// same libraries the hub uses (tweetnacl, node:crypto). The C tests verify every vector with
// libsodium and re-derive the deterministic ones byte for byte; the hub's tests can read the
// same file. Run from the repo root: node firmware/test/vectors/generate.ts
import { createHash, createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nacl from 'tweetnacl';

// Every "random" value is derived from a label, so the file is the same on every run.
const fixed = (label: string, n: number): Uint8Array =>
  new Uint8Array(createHash('sha256').update(`hearth-vectors|${label}`).digest()).slice(0, n);
const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');
const b64url = (u: Uint8Array): string => Buffer.from(u).toString('base64url');
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const hmac = (key: string, msg: string): Uint8Array =>
  new Uint8Array(createHmac('sha256', Buffer.from(key, 'ascii')).update(msg, 'utf8').digest());
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

// Pairing: the plug's box key pair, both nonces, the two proofs.
const plugBox = nacl.box.keyPair.fromSecretKey(fixed('plug-box-secret', 32));
const hubNonce = b64url(fixed('hub-hello-nonce', 32));
const plugNonce = fixed('plug-hello-nonce', 32);
const helloMessage = `hearth-pair-v1|${id}|${b64(plugBox.publicKey)}|${hubNonce}|${b64(plugNonce)}`;
const helloProof = hmac(setupCode, helloMessage);
const claimMessage = `hearth-claim-v1|${id}|${b64(plugNonce)}`;
const claimProof = hmac(setupCode, claimMessage);
const wrongCode = '12345679';

// Claim: the credentials sealed with nacl.box from a fixed ephemeral hub key and nonce.
const hubBox = nacl.box.keyPair.fromSecretKey(fixed('hub-box-ephemeral', 32));
const boxNonce = fixed('claim-box-nonce', 24);
type ClaimMqtt = { host: string; port: number; tlsPort?: number; username: string; password: string };
const sealed = (proof: Uint8Array, mqtt: ClaimMqtt = { host: '127.0.0.1', port: 1883, username: id, password: 'pw-' + hex(fixed('mqtt-password', 12)) }) => {
  const plaintext = JSON.stringify({
    claimProof: b64(proof),
    deviceId: id,
    mqtt,
    hubSignPublicKey: b64(hubSign.publicKey),
    counter: 7,
  });
  const box = nacl.box(new TextEncoder().encode(plaintext), boxNonce, plugBox.publicKey, hubBox.secretKey);
  return { plaintext, body: JSON.stringify({ hubBoxPublicKey: b64(hubBox.publicKey), nonce: b64(boxNonce), box: b64(box) }), box: b64(box) };
};
const claim = sealed(claimProof);
const wrongCodeClaim = sealed(hmac(wrongCode, claimMessage));

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
const tlsClaim = sealed(claimProof, { host: '127.0.0.1', port: 1883, tlsPort: 8883, username: id, password: pskPassword });
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
  about: 'Hearth plug protocol v1 test vectors (docs/plug-protocol.md); regenerate with node firmware/test/vectors/generate.ts',
  id,
  setupCode,
  hub: { signSeed: b64(hubSeed), signPublicKey: b64(hubSign.publicKey) },
  commands,
  tamperedCommands,
  time,
  pairing: {
    plugBoxSecretKey: b64(plugBox.secretKey),
    plugBoxPublicKey: b64(plugBox.publicKey),
    hubNonce,
    plugNonce: b64(plugNonce),
    helloMessage,
    helloProof: b64(helloProof),
    claimMessage,
    claimProof: b64(claimProof),
    tampered: {
      why: 'proofs made with the wrong setup code',
      wrongCode,
      helloProof: b64(hmac(wrongCode, helloMessage)),
      claimProof: b64(hmac(wrongCode, claimMessage)),
    },
  },
  claim: {
    hubBoxSecretKey: b64(hubBox.secretKey),
    hubBoxPublicKey: b64(hubBox.publicKey),
    nonce: b64(boxNonce),
    plaintext: claim.plaintext,
    box: claim.box,
    body: claim.body,
    tampered: {
      why: 'one ciphertext bit flipped',
      body: JSON.stringify({ hubBoxPublicKey: b64(hubBox.publicKey), nonce: b64(boxNonce), box: flip(claim.box, 20) }),
    },
    wrongCodeBody: wrongCodeClaim.body,
  },
  firmware,
  mqttPsk,
};

const out = join(dirname(fileURLToPath(import.meta.url)), 'plug-vectors.json');
writeFileSync(out, JSON.stringify(vectors, null, 2) + '\n');
console.log(`wrote ${out}`);
