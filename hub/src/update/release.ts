import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HubError } from '../core/errors.ts';

/**
 * Signed hub releases (docs/update.md). A release file is JSON `{"manifest": TEXT, "sig": B64}`:
 * `manifest` is the manifest's JSON as a string, so the exact bytes signed travel as they are
 * (no canonical JSON to agree on), and `sig` is Ed25519 over `"hearth-release-v1\n" ‖ TEXT`
 * (the prefix keeps a release signature from ever passing as a plug firmware or any other
 * signature made with the same key).
 */
export interface ReleaseManifest {
  kind: 'hearth-release';
  /** The hub version the package installs, MAJOR.MINOR.PATCH. */
  version: string;
  /** The oldest hub version that may update to it directly (e.g. a migration needs a step between). */
  minVersion: string;
  /** The package's file name, its size and SHA-256 (hex). */
  package: { name: string; bytes: number; sha256: string };
  createdAt: number;
}

export interface ReleaseFile {
  manifest: string;
  sig: string;
}

const SIG_CONTEXT = 'hearth-release-v1\n';
const VERSION = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/;
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+~-]{0,200}$/;
/** The package's own trusted keys: hub/release-keys, beside hub/src (read by the hub and the helper). */
export const PACKAGED_RELEASE_KEYS = fileURLToPath(new URL('../../release-keys', import.meta.url));
/** A release file is small; anything bigger is not one. */
export const RELEASE_FILE_MAX_BYTES = 16 * 1024;

/** -1, 0, 1; undefined when either is not MAJOR.MINOR.PATCH. */
export function compareVersions(a: string, b: string): number | undefined {
  const x = VERSION.exec(a);
  const y = VERSION.exec(b);
  if (!x || !y) return undefined;
  for (let i = 1; i <= 3; i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

function invalid(reason: string, message: string): HubError {
  return new HubError('update_release_invalid', message, { reason });
}

function parseManifest(text: string): ReleaseManifest {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw invalid('malformed', 'the release manifest is not JSON');
  }
  const m = v as Partial<ReleaseManifest> | null;
  const p = m?.package as Partial<ReleaseManifest['package']> | undefined;
  const ok =
    m !== null &&
    typeof m === 'object' &&
    m.kind === 'hearth-release' &&
    typeof m.version === 'string' &&
    VERSION.test(m.version) &&
    typeof m.minVersion === 'string' &&
    VERSION.test(m.minVersion) &&
    typeof m.createdAt === 'number' &&
    Number.isFinite(m.createdAt) &&
    typeof p === 'object' &&
    p !== null &&
    typeof p.name === 'string' &&
    PACKAGE_NAME.test(p.name) &&
    Number.isSafeInteger(p.bytes) &&
    (p.bytes as number) > 0 &&
    typeof p.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(p.sha256);
  if (!ok)
    throw invalid(
      'malformed',
      'the release manifest must be {kind: "hearth-release", version, minVersion, package: {name, bytes, sha256}, createdAt}',
    );
  return {
    kind: 'hearth-release',
    version: m.version!,
    minVersion: m.minVersion!,
    package: { name: p.name!, bytes: p.bytes!, sha256: p.sha256! },
    createdAt: m.createdAt!,
  };
}

/** An Ed25519 public key from its 32 raw bytes in base64 (the form config and key files hold). */
export function publicKeyFromB64(b64: string): KeyObject | undefined {
  const raw = Buffer.from(b64.trim(), 'base64');
  if (raw.length !== 32 || raw.toString('base64') !== b64.trim()) return undefined;
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/**
 * Trusted release keys from a key file: one base64 key a line, `#` comments and blank lines
 * ignored. A missing file is no keys; a malformed line is an error (a typo must not silently
 * leave a key untrusted... or, worse, trusted in some other form).
 */
export function readKeysFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const keys: string[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (!line || line.startsWith('#')) continue;
    if (!publicKeyFromB64(line))
      throw new HubError('validation_failed', `${path}: not an Ed25519 public key in base64: ${line.slice(0, 60)}`);
    keys.push(line);
  }
  return keys;
}

/**
 * Checks a release file against the trusted keys and returns its manifest. Nothing in the
 * manifest is looked at before the signature passed. `update_release_invalid` with
 * `details.reason`: `malformed`, `no_trusted_key`, `bad_signature`.
 */
export function verifyRelease(file: unknown, trustedKeysB64: readonly string[]): ReleaseManifest {
  const f = file as Partial<ReleaseFile> | null;
  if (
    typeof f !== 'object' ||
    f === null ||
    typeof f.manifest !== 'string' ||
    typeof f.sig !== 'string' ||
    f.manifest.length > RELEASE_FILE_MAX_BYTES
  ) {
    throw invalid('malformed', 'a release file is {"manifest": "<manifest JSON as a string>", "sig": "<base64>"}');
  }
  const keys = trustedKeysB64.map(publicKeyFromB64).filter((k): k is KeyObject => k !== undefined);
  if (keys.length === 0)
    throw invalid('no_trusted_key', 'no release key is trusted (update.releaseKeys, hub/release-keys)');
  const sig = Buffer.from(f.sig, 'base64');
  const message = Buffer.from(SIG_CONTEXT + f.manifest, 'utf8');
  if (sig.length !== 64 || !keys.some((k) => verify(null, message, k, sig)))
    throw invalid('bad_signature', 'the release is not signed by a trusted release key');
  return parseManifest(f.manifest);
}

/** Parses a release file's bytes (JSON), bounded. */
export function parseReleaseFile(bytes: Buffer | string): unknown {
  if (bytes.length > RELEASE_FILE_MAX_BYTES * 2)
    throw invalid('malformed', 'a release file is a few hundred bytes; this is not one');
  try {
    return JSON.parse(bytes.toString());
  } catch {
    throw invalid('malformed', 'the release file is not JSON');
  }
}

/**
 * The package must be exactly the signed bytes: same size, same SHA-256.
 * `update_package_mismatch` (nothing changes) otherwise.
 */
export async function checkPackage(path: string, manifest: ReleaseManifest): Promise<void> {
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const piece of createReadStream(path)) {
      bytes += (piece as Buffer).length;
      if (bytes > manifest.package.bytes) break;
      hash.update(piece as Buffer);
    }
  } catch (err) {
    throw new HubError('update_package_missing', 'no package was uploaded for this release', undefined, { cause: err });
  }
  if (bytes !== manifest.package.bytes)
    throw new HubError(
      'update_package_mismatch',
      `the package is not the signed one: ${bytes > manifest.package.bytes ? 'longer' : 'shorter'} than ${manifest.package.bytes} bytes`,
      { reason: 'size' },
    );
  if (hash.digest('hex') !== manifest.package.sha256)
    throw new HubError('update_package_mismatch', 'the package is not the signed one: its SHA-256 differs', {
      reason: 'sha256',
    });
}

/**
 * Whether this hub may go from `current` to the release: `update_too_old` when the release
 * needs a newer hub to update from, `update_downgrade` for an older (or the same) version unless
 * confirmed.
 */
export function checkVersionStep(
  current: string,
  manifest: ReleaseManifest,
  confirmDowngrade: boolean,
): 'upgrade' | 'downgrade' | 'reinstall' {
  const vsMin = compareVersions(current, manifest.minVersion);
  const vsNew = compareVersions(manifest.version, current);
  if (vsNew === undefined || vsMin === undefined)
    throw new HubError('update_release_invalid', `cannot compare versions ${current} and ${manifest.version}`, {
      reason: 'version',
    });
  const step = vsNew > 0 ? 'upgrade' : vsNew < 0 ? 'downgrade' : 'reinstall';
  if (step === 'upgrade' && vsMin < 0)
    throw new HubError(
      'update_too_old',
      `${manifest.version} updates hubs from ${manifest.minVersion} on; this one runs ${current}: update to ${manifest.minVersion} first`,
      { current, minVersion: manifest.minVersion },
    );
  if (step !== 'upgrade' && !confirmDowngrade)
    throw new HubError(
      'update_downgrade',
      `${manifest.version} is not newer than ${current}: confirm the ${step} explicitly`,
      { current, version: manifest.version },
    );
  return step;
}

/** A new release key pair: the private key as PKCS#8 PEM, the public key as the base64 hubs trust. */
export function generateReleaseKey(): { privatePem: string; publicB64: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicB64: publicB64Of(publicKey),
  };
}

function publicB64Of(key: KeyObject): string {
  return Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
}

/** Signs a release for a package (the release process and tests; hubs never hold the private key). */
export async function signRelease(o: {
  packagePath: string;
  packageName: string;
  version: string;
  minVersion: string;
  privatePem: string;
  now?: number;
}): Promise<{ file: ReleaseFile; manifest: ReleaseManifest; publicB64: string }> {
  if (!VERSION.test(o.version) || !VERSION.test(o.minVersion))
    throw new HubError('validation_failed', 'versions are MAJOR.MINOR.PATCH');
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const piece of createReadStream(o.packagePath)) {
    bytes += (piece as Buffer).length;
    hash.update(piece as Buffer);
  }
  const manifest: ReleaseManifest = {
    kind: 'hearth-release',
    version: o.version,
    minVersion: o.minVersion,
    package: { name: o.packageName, bytes, sha256: hash.digest('hex') },
    createdAt: o.now ?? Date.now(),
  };
  const text = JSON.stringify(manifest);
  const key = createPrivateKey(o.privatePem);
  const sig = sign(null, Buffer.from(SIG_CONTEXT + text, 'utf8'), key).toString('base64');
  return { file: { manifest: text, sig }, manifest, publicB64: publicB64Of(createPublicKey(key)) };
}
