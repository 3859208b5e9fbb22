import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { isHubError } from '../../src/core/errors.ts';
import { FirmwareStore } from '../../src/drivers/plug/firmware-store.ts';
import {
  checkFirmware,
  compareVersions,
  ed25519Signer,
  encodeChunk,
  encodeCommand,
  firmwareMessage,
  parseManifest,
  signCommand,
  type OtaBeginValue,
} from '../../src/drivers/plug/protocol.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * Firmware manifests on the hub's side (tweetnacl), against the shared vectors the C tests check
 * with libsodium (firmware/test/vectors/plug-vectors.json, "firmware"): each case gets the same
 * answer here as on the plug, and the hub signs the same ota_begin command bytes.
 */
const vectors = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../firmware/test/vectors/plug-vectors.json', import.meta.url)), 'utf8'),
);
const fw = vectors.firmware as {
  signSeed: string;
  signPublicKey: string;
  model: string;
  running: string;
  manifestMessage: string;
  cases: { why: string; expect: string; value: string; image: string }[];
  command: { c: number; t: number; message: string; sig: string; payload: string };
};
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const key = bytes(fw.signPublicKey);

/** What the plug decides (core/ota.c order): signature, model, version, then the received bytes. */
function decide(value: string, image: string): string {
  const v = JSON.parse(value) as { manifest: unknown; sig: string; downgrade: boolean };
  const m = parseManifest(v.manifest);
  if (!m) return 'malformed';
  const sigOk = nacl.sign.detached.verify(new TextEncoder().encode(firmwareMessage(m)), bytes(v.sig), key);
  if (!sigOk) return 'bad_signature';
  if (m.model !== fw.model) return 'wrong_model';
  if ((compareVersions(m.version, fw.running) ?? 1) <= 0 && !v.downgrade) return 'downgrade';
  return checkFirmware(m, v.sig, bytes(image), [key]) ?? 'ok';
}

describe('firmware manifests (shared vectors)', () => {
  it('the firmware test key comes from its seed', () => {
    expect(Buffer.from(nacl.sign.keyPair.fromSeed(bytes(fw.signSeed)).publicKey).toString('base64')).toBe(
      fw.signPublicKey,
    );
  });

  it.each(fw.cases.map((c) => [c.why, c] as const))('%s', (_why, c) => {
    expect(decide(c.value, c.image)).toBe(c.expect);
  });

  it('the manifest message is the documented string', () => {
    const m = parseManifest(JSON.parse(fw.cases[0]!.value).manifest)!;
    expect(firmwareMessage(m)).toBe(fw.manifestMessage);
  });

  it('signs the ota_begin command byte for byte like the vectors', () => {
    const hub = nacl.sign.keyPair.fromSeed(bytes(vectors.hub.signSeed));
    const value = JSON.parse(fw.cases[0]!.value) as OtaBeginValue;
    const signed = signCommand(
      ed25519Signer(hub.secretKey),
      vectors.id,
      fw.command.c,
      fw.command.t,
      'ota_begin',
      value,
    );
    expect(encodeCommand(signed)).toBe(fw.command.payload);
  });

  it('a chunk is offset, image hash, then at most 4 KB', () => {
    const image = new Uint8Array(5000).map((_, i) => i & 0xff);
    const sha = Buffer.alloc(32, 7).toString('base64');
    const last = encodeChunk(image, sha, 4096);
    expect(last.length).toBe(36 + 904);
    expect(last.readUInt32BE(0)).toBe(4096);
    expect(last.subarray(4, 36).equals(Buffer.alloc(32, 7))).toBe(true);
    expect(last[36]).toBe(4096 & 0xff);
  });
});

describe('FirmwareStore', () => {
  const good = JSON.parse(fw.cases[0]!.value) as { manifest: unknown; sig: string };
  const image = bytes(fw.cases[0]!.image);
  const code = (fn: () => unknown) => {
    try {
      fn();
      return 'ok';
    } catch (err) {
      if (isHubError(err)) return `${err.code}:${String(err.details?.reason ?? '')}`;
      throw err;
    }
  };

  it('keeps only images signed by a trusted key whose bytes match the manifest', () => {
    const tmp = tempDir();
    try {
      const store = new FirmwareStore(tmp.dir, [fw.signPublicKey]);
      expect(code(() => store.add(good.manifest, good.sig, bytes(fw.cases[6]!.image), 1))).toBe(
        'firmware_invalid:bad_hash',
      );
      expect(code(() => store.add(good.manifest, good.sig, image.subarray(1), 1))).toBe(
        'firmware_invalid:size_mismatch',
      );
      const other = JSON.parse(fw.cases[3]!.value) as { manifest: unknown; sig: string };
      expect(code(() => store.add(other.manifest, other.sig, image, 1))).toBe('firmware_invalid:bad_signature');
      expect(code(() => store.add({ model: 'x' }, good.sig, image, 1))).toBe('firmware_invalid:malformed');
      expect(store.list()).toEqual([]);
      expect(code(() => store.add(good.manifest, good.sig, image, 1))).toBe('ok');
      expect(code(() => store.add(good.manifest, good.sig, image, 1))).toBe('conflict:');
      const entry = store.get('hearth-plug-sim', '1.1.0')!;
      expect(entry.manifest.size).toBe(1000);
      expect(Buffer.from(store.image(entry)!).equals(Buffer.from(image))).toBe(true);
      // Another hub without the key trusts nothing.
      expect(code(() => new FirmwareStore(tmp.dir, []).add(good.manifest, good.sig, image, 1))).toBe(
        'firmware_invalid:no_trusted_key',
      );
    } finally {
      tmp.cleanup();
    }
  });
});
