import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HubError } from '../../core/errors.ts';
import { checkFirmware, compareVersions, fromB64, parseManifest, type FirmwareManifest } from './protocol.ts';

export interface FirmwareEntry {
  manifest: FirmwareManifest;
  /** The release signature over the manifest (base64), handed to the plug as is. */
  sig: string;
  addedAt: number;
}

/** Largest image accepted: the ESP32-C3 slots are 1.875 MB (port/esp-idf/partitions.csv). */
export const FIRMWARE_MAX_BYTES = 0x1e0000;
const SAFE = /^[A-Za-z0-9._-]+$/;

/**
 * Signed firmware images the hub can offer its plugs (plug-protocol.md "Firmware update"), as
 * files in `DATA/firmware/`: `<model>@<version>.bin` and its `.json` (manifest, signature). An
 * image is stored only if its manifest is signed by one of the trusted release keys and its
 * bytes have the signed size and SHA-256: the hub never offers what a plug would refuse.
 * The hub holds no signing key; images are signed by the release process.
 */
export class FirmwareStore {
  readonly #dir: string;
  readonly #keys: Uint8Array[];
  readonly #cache = new Map<string, Buffer>();

  constructor(dataDir: string, trustedKeysB64: readonly string[]) {
    this.#dir = join(dataDir, 'firmware');
    this.#keys = trustedKeysB64.map((k) => fromB64(k, 32)).filter((k): k is Uint8Array => k !== undefined);
  }

  /** Verifies and stores an image; the same model and version again replaces nothing (409). */
  add(manifestValue: unknown, sig: string, image: Uint8Array, at: number): FirmwareEntry {
    const manifest = parseManifest(manifestValue);
    if (!manifest)
      throw new HubError(
        'firmware_invalid',
        'manifest must be {model, version MAJOR.MINOR.PATCH, size, sha256 (32 bytes base64)}',
        { reason: 'malformed' },
      );
    if (this.#keys.length === 0)
      throw new HubError('firmware_invalid', 'no firmware release key is trusted (plugs.firmwareKeys)', {
        reason: 'no_trusted_key',
      });
    if (image.length > FIRMWARE_MAX_BYTES)
      throw new HubError('firmware_invalid', `an image is at most ${FIRMWARE_MAX_BYTES} bytes`, {
        reason: 'too_large',
      });
    const reason = checkFirmware(manifest, sig, image, this.#keys);
    if (reason) throw new HubError('firmware_invalid', `the image was refused: ${reason}`, { reason });
    if (!SAFE.test(manifest.model))
      throw new HubError('firmware_invalid', 'model may hold only letters, digits, ".", "_" and "-"', {
        reason: 'malformed',
      });
    const base = `${manifest.model}@${manifest.version}`;
    if (this.get(manifest.model, manifest.version))
      throw new HubError('conflict', `firmware ${manifest.model} ${manifest.version} is stored already`, {
        model: manifest.model,
        version: manifest.version,
      });
    mkdirSync(this.#dir, { recursive: true });
    const entry: FirmwareEntry = { manifest, sig, addedAt: at };
    // The image first, the manifest last (each by rename): a listed entry always has its bytes.
    writeFileSync(join(this.#dir, `${base}.bin.tmp`), image);
    renameSync(join(this.#dir, `${base}.bin.tmp`), join(this.#dir, `${base}.bin`));
    writeFileSync(join(this.#dir, `${base}.json.tmp`), JSON.stringify(entry));
    renameSync(join(this.#dir, `${base}.json.tmp`), join(this.#dir, `${base}.json`));
    return entry;
  }

  list(): FirmwareEntry[] {
    let names: string[];
    try {
      names = readdirSync(this.#dir);
    } catch {
      return [];
    }
    const out: FirmwareEntry[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      try {
        const entry = JSON.parse(readFileSync(join(this.#dir, name), 'utf8')) as FirmwareEntry;
        if (parseManifest(entry.manifest)) out.push(entry);
      } catch {
        // a damaged file is simply not offered
      }
    }
    return out.sort(
      (a, b) =>
        a.manifest.model.localeCompare(b.manifest.model) ||
        (compareVersions(a.manifest.version, b.manifest.version) ?? 0),
    );
  }

  get(model: string, version: string): FirmwareEntry | undefined {
    if (!SAFE.test(model) || compareVersions(version, version) === undefined) return undefined;
    try {
      const entry = JSON.parse(readFileSync(join(this.#dir, `${model}@${version}.json`), 'utf8')) as FirmwareEntry;
      return parseManifest(entry.manifest) ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  /** The image's bytes (kept in memory while an update uses them), checked against the manifest again. */
  image(entry: FirmwareEntry): Buffer | undefined {
    const key = `${entry.manifest.model}@${entry.manifest.version}`;
    let bytes = this.#cache.get(key);
    if (!bytes) {
      try {
        bytes = readFileSync(join(this.#dir, `${key}.bin`));
      } catch {
        return undefined;
      }
      if (checkFirmware(entry.manifest, entry.sig, bytes, this.#keys)) return undefined;
      this.#cache.set(key, bytes);
    }
    return bytes;
  }

  /** Drops cached bytes no update needs any more. */
  release(model: string, version: string): void {
    this.#cache.delete(`${model}@${version}`);
  }
}
