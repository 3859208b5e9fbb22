import { createHash, createPrivateKey, sign as cryptoSign } from 'node:crypto';
import nacl from 'tweetnacl';
import { HubError } from '../../core/errors.ts';
import type { HubPake, PakeKeys } from './pake.ts';

/**
 * The hub's half of docs/plug-protocol.md (version 2), as pure functions: the pairing messages
 * (the PAKE itself is pake.ts), the sealed claim and the signed command. Everything that crosses the wire is built here and
 * nowhere else, so the shared test vectors check exactly what the driver sends.
 * Binary values in JSON are standard base64 with padding; those in the hello's query string are
 * base64url without padding.
 */
/** Version 2: pairing by CPace (version 1's HMAC proofs let a listener test codes offline). */
export const PROTOCOL_VERSION = 2;
export const SERVICE_TYPE = 'hearth-plug';

/** `plug-` + 12 lowercase hex chars (plug-protocol.md "Identity"). */
export const PLUG_ID = /^plug-[0-9a-f]{12}$/;
const SETUP_CODE = /^\d{8}$/;
const QR = /^HEARTH:(plug-[0-9a-f]{12}):(\d{8})$/;

export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** Strict standard base64 of exactly `length` bytes, else undefined. */
export function fromB64(text: unknown, length: number): Uint8Array | undefined {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === length ? new Uint8Array(bytes) : undefined;
}

/**
 * What a person typed or scanned: the 8 digits, or the QR text `HEARTH:<id>:<code>`, which must
 * name the plug being paired (a QR of another plug is a mistake worth saying so).
 */
export function readSetupCode(input: string, plugId: string): string {
  const text = input.trim();
  if (SETUP_CODE.test(text)) return text;
  const qr = QR.exec(text);
  if (qr) {
    if (qr[1] !== plugId)
      throw new HubError('validation_failed', `this QR code belongs to ${qr[1]}, not ${plugId}`, {
        field: 'setupCode',
      });
    return qr[2]!;
  }
  throw new HubError(
    'validation_failed',
    'setupCode is the 8 digits printed on the plug, or its QR text HEARTH:<id>:<code>',
    { field: 'setupCode' },
  );
}

/**
 * The hello request's query (docs/plug-protocol.md "Pairing"): the protocol version, the
 * session id and the hub's CPace share, both base64url without padding.
 */
export function helloQuery(pake: HubPake): string {
  const url = (u: Uint8Array) => Buffer.from(u).toString('base64url');
  return `pv=${PROTOCOL_VERSION}&sid=${url(pake.sid)}&share=${url(pake.share)}`;
}

export interface ClaimPlaintext {
  deviceId: string;
  mqtt: { host: string; port: number; tlsPort?: number; username: string; password: string };
  hubSignPublicKey: string;
  counter: number;
}

export interface ClaimBody {
  /** The session this claim finishes (standard base64). */
  sid: string;
  /** The hub's key confirmation: the plug's proof that the hub used the same setup code. */
  confirm: string;
  nonce: string;
  box: string;
}

/**
 * The claim: the hub's confirmation, and the credentials in a secretbox under the session's
 * claim key (XSalsa20-Poly1305, tweetnacl `nacl.secretbox` = libsodium `crypto_secretbox_easy`).
 * Only a plug that ran the session with the same code can open it, so credentials never reach a
 * device that merely answered the hello. `nonce` is a parameter only so the vectors can fix it.
 */
export function sealClaim(
  plaintext: ClaimPlaintext,
  sid: Uint8Array,
  keys: PakeKeys,
  nonce = nacl.randomBytes(nacl.secretbox.nonceLength),
): ClaimBody {
  const message = new TextEncoder().encode(JSON.stringify(plaintext));
  const box = nacl.secretbox(message, nonce, keys.claimKey);
  return { sid: b64(sid), confirm: b64(keys.hubConfirm), nonce: b64(nonce), box: b64(box) };
}

/** The plug's answer to an accepted claim carries its key confirmation; undefined if it does not. */
export function claimAnswerConfirm(body: unknown): Uint8Array | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  return b.ok === true ? fromB64(b.confirm, 32) : undefined;
}

export interface SignedCommand {
  c: number;
  t: number;
  cap: string;
  v: boolean | number | string | OtaBeginValue;
  sig: string;
}

/** `"hearth-cmd-v1|" + id + "|" + c + "|" + t + "|" + cap + "|" + JSON(v)`. */
export function commandMessage(
  id: string,
  counter: number,
  at: number,
  capability: string,
  value: boolean | number | string | OtaBeginValue,
): string {
  if (!Number.isSafeInteger(counter) || counter < 0)
    throw new HubError('internal_error', `command counter ${counter} is not a non-negative integer`);
  if (!Number.isSafeInteger(at)) throw new HubError('internal_error', `command time ${at} is not an integer`);
  return `hearth-cmd-v1|${id}|${counter}|${at}|${capability}|${JSON.stringify(value)}`;
}

export type Signer = (message: Uint8Array) => Uint8Array;

/** PKCS#8 DER prefix of an Ed25519 private key (RFC 8410); the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * Ed25519 signing with a tweetnacl secret key (seed ‖ public key), done by Node's OpenSSL:
 * Ed25519 is deterministic (RFC 8032), so the bytes equal `nacl.sign.detached`'s (the vector
 * tests check both), but it takes ~0.05 ms instead of tweetnacl's 1-4 ms, which was most of a
 * command's round trip.
 */
export function ed25519Signer(secretKey: Uint8Array): Signer {
  const key = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, secretKey.subarray(0, 32)]),
    format: 'der',
    type: 'pkcs8',
  });
  return (message) => new Uint8Array(cryptoSign(null, message, key));
}

/** The command as published on `hearth/<id>/cmd`, signed (Ed25519, detached) over `commandMessage`. */
export function signCommand(
  sign: Signer,
  id: string,
  counter: number,
  at: number,
  capability: string,
  value: boolean | number | string | OtaBeginValue,
): SignedCommand {
  const message = new TextEncoder().encode(commandMessage(id, counter, at, capability, value));
  return { c: counter, t: at, cap: capability, v: value, sig: b64(sign(message)) };
}

/** The JSON text published; field order as in the protocol document. */
export function encodeCommand(cmd: SignedCommand): string {
  return JSON.stringify({ c: cmd.c, t: cmd.t, cap: cmd.cap, v: cmd.v, sig: cmd.sig });
}

/** `"hearth-time-v1|" + id + "|" + nonce + "|" + t`: the hub's time, bound to the plug's nonce. */
export function timeMessage(id: string, nonceB64: string, at: number): string {
  if (!Number.isSafeInteger(at) || at <= 0)
    throw new HubError('internal_error', `time ${at} is not a positive integer`);
  return `hearth-time-v1|${id}|${nonceB64}|${at}`;
}

/** A plug's time request `{"n":"<16 bytes, base64>"}`: the nonce text, or undefined. */
export function parseTimeRequest(payload: Buffer): string | undefined {
  try {
    const value: unknown = JSON.parse(payload.toString('utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const n = (value as { n?: unknown }).n;
    // Re-encoding must give the same text: one spelling per nonce, as the plug compares bytes.
    const bytes = fromB64(n, 16);
    return bytes && b64(bytes) === n ? (n as string) : undefined;
  } catch {
    return undefined;
  }
}

/** The answer published on `hearth/<id>/time`. */
export function encodeTimeAnswer(sign: Signer, id: string, nonceB64: string, at: number): string {
  const sig = b64(sign(new TextEncoder().encode(timeMessage(id, nonceB64, at))));
  return JSON.stringify({ n: nonceB64, t: at, sig });
}

export interface HelloAnswer {
  id: string;
  model: string;
  fw: string;
  pv: number;
  claimed: boolean;
  boxPublicKey: string;
  /** The plug's CPace share. */
  share: string;
}

/** Checks the shape of a hello answer; undefined when anything is missing or the wrong size. */
export function parseHello(body: unknown): HelloAnswer | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  if (
    typeof b.id !== 'string' ||
    typeof b.model !== 'string' ||
    typeof b.fw !== 'string' ||
    typeof b.pv !== 'number' ||
    typeof b.claimed !== 'boolean'
  )
    return undefined;
  if (!fromB64(b.boxPublicKey, 32) || !fromB64(b.share, 32)) return undefined;
  return {
    id: b.id,
    model: b.model,
    fw: b.fw,
    pv: b.pv,
    claimed: b.claimed,
    boxPublicKey: b.boxPublicKey as string,
    share: b.share as string,
  };
}

// ---- firmware update (plug-protocol.md "Firmware update") ----

export interface FirmwareManifest {
  model: string;
  version: string;
  size: number;
  /** SHA-256 of the image, base64. */
  sha256: string;
}

/** Bytes per chunk and the chunk header (offset u32 big-endian, then the image's SHA-256). */
export const OTA_CHUNK = 4096;
export const OTA_HEADER = 36;
const VERSION = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;

/** `"hearth-fw-v1|" + model + "|" + version + "|" + size + "|" + sha256`: what the release key signs. */
export function firmwareMessage(m: FirmwareManifest): string {
  return `hearth-fw-v1|${m.model}|${m.version}|${m.size}|${m.sha256}`;
}

/** Compares MAJOR.MINOR.PATCH numerically; undefined when either is not one. */
export function compareVersions(a: string, b: string): number | undefined {
  const pa = VERSION.exec(a),
    pb = VERSION.exec(b);
  if (!pa || !pb) return undefined;
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** A manifest with the shape the plug accepts (ota.c `ota_parse`), else undefined. */
export function parseManifest(value: unknown): FirmwareManifest | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  if (typeof m.model !== 'string' || m.model.length === 0 || m.model.length > 63 || /[|\x00-\x1f]/.test(m.model))
    return undefined;
  if (typeof m.version !== 'string' || m.version.length > 23 || compareVersions(m.version, m.version) === undefined)
    return undefined;
  if (typeof m.size !== 'number' || !Number.isSafeInteger(m.size) || m.size <= 0 || m.size > 0xffffffff)
    return undefined;
  const sha = fromB64(m.sha256, 32);
  if (!sha || b64(sha) !== m.sha256) return undefined;
  return { model: m.model, version: m.version, size: m.size, sha256: m.sha256 as string };
}

/**
 * Why an image would be refused, checked as the plug checks it (tweetnacl here, libsodium
 * there; the shared vectors hold both to the same answers): the release signature over the
 * manifest by one of `keys`, then the size and SHA-256 of the bytes. undefined: acceptable.
 */
export function checkFirmware(
  manifest: FirmwareManifest,
  sigB64: string,
  image: Uint8Array,
  keys: readonly Uint8Array[],
): 'bad_signature' | 'size_mismatch' | 'bad_hash' | undefined {
  const sig = fromB64(sigB64, 64);
  const message = new TextEncoder().encode(firmwareMessage(manifest));
  if (!sig || !keys.some((k) => nacl.sign.detached.verify(message, sig, k))) return 'bad_signature';
  if (image.length !== manifest.size) return 'size_mismatch';
  if (createHash('sha256').update(image).digest('base64') !== manifest.sha256) return 'bad_hash';
  return undefined;
}

/** The value of the hub's signed `ota_begin` command; key order fixed, signed as sent. */
export function otaBeginValue(manifest: FirmwareManifest, sigB64: string, downgrade: boolean): OtaBeginValue {
  return {
    manifest: { model: manifest.model, version: manifest.version, size: manifest.size, sha256: manifest.sha256 },
    sig: sigB64,
    downgrade,
  };
}
export interface OtaBeginValue {
  manifest: FirmwareManifest;
  sig: string;
  downgrade: boolean;
}

/** A plug's chunk request `{"offset":N,"sha256":"<image hash>"}`. */
export function parseChunkRequest(payload: Buffer): { offset: number; sha256: string } | undefined {
  try {
    const v = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    if (
      typeof v !== 'object' ||
      v === null ||
      typeof v.offset !== 'number' ||
      !Number.isSafeInteger(v.offset) ||
      v.offset < 0
    )
      return undefined;
    if (v.offset % OTA_CHUNK !== 0 || !fromB64(v.sha256, 32)) return undefined;
    return { offset: v.offset, sha256: v.sha256 as string };
  } catch {
    return undefined;
  }
}

/** The binary chunk published on `hearth/<id>/ota`: offset, image SHA-256, up to 4 KB of image. */
export function encodeChunk(image: Uint8Array, sha256B64: string, offset: number): Buffer {
  const data = image.subarray(offset, Math.min(image.length, offset + OTA_CHUNK));
  const out = Buffer.alloc(OTA_HEADER + data.length);
  out.writeUInt32BE(offset, 0);
  Buffer.from(sha256B64, 'base64').copy(out, 4);
  out.set(data, OTA_HEADER);
  return out;
}

export interface OtaReport {
  state: string;
  firmware: string | undefined;
  version: string | undefined;
  offset: number | undefined;
  size: number | undefined;
  error: string | undefined;
}

export type PlugEvent =
  | { type: 'cmd_rejected'; reason: string; counter: number | undefined }
  | { type: 'overcurrent'; current: number | undefined }
  | ({ type: 'ota' } & OtaReport)
  | { type: 'unknown'; raw: Record<string, unknown> };

export function parseEvent(payload: Buffer): PlugEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const e = value as Record<string, unknown>;
  if (e.type === 'cmd_rejected')
    return {
      type: 'cmd_rejected',
      reason: typeof e.reason === 'string' ? e.reason : 'unknown',
      counter: typeof e.counter === 'number' ? e.counter : undefined,
    };
  if (e.type === 'overcurrent')
    return { type: 'overcurrent', current: typeof e.current === 'number' ? e.current : undefined };
  if (e.type === 'ota' && typeof e.state === 'string') {
    const str = (v: unknown) => (typeof v === 'string' && v.length <= 64 ? v : undefined);
    const int = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);
    return {
      type: 'ota',
      state: e.state,
      firmware: str(e.firmware),
      version: str(e.version),
      offset: int(e.offset),
      size: int(e.size),
      error: str(e.error),
    };
  }
  return { type: 'unknown', raw: e };
}
