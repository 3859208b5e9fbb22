/**
 * Checks of ESP-IDF binary images before anything is written to a plug: a corrupt or foreign
 * image is refused on the hub, where the installer can fix it, not discovered on a plug that no
 * longer boots. Formats (ESP-IDF "App Image Format" and "Partition Tables" docs):
 * - image: 24-byte header (magic 0xE9, segment count, SPI mode, size/speed, entry, wp pin,
 *   pin drive x3, chip id u16 at byte 12, chip revisions, reserved, hash_appended at byte 23),
 *   then segments (load address u32, length u32, data), zero padding up to one byte short of a
 *   16-byte boundary, a checksum byte (XOR of every segment byte, seeded 0xEF), then the SHA-256
 *   of everything before it when hash_appended is 1;
 * - partition table: 32-byte entries (0xAA 0x50, type, subtype, offset u32, size u32, label 16,
 *   flags u32), an optional MD5 entry (0xEB 0xEB ...), then 0xFF.
 */
import { createHash } from 'node:crypto';
import { HubError } from '../core/errors.ts';
import { PLUG_TARGET } from './plug-target.ts';

export const ESP_IMAGE_MAGIC = 0xe9;
const HEADER_LEN = 24;
const SEGMENT_HEADER_LEN = 8;
const MAX_SEGMENTS = 16; // ESP-IDF's ESP_IMAGE_MAX_SEGMENTS

export interface PartitionEntry {
  label: string;
  type: number;
  subtype: number;
  offset: number;
  size: number;
}

function invalid(message: string, details?: Record<string, unknown>): HubError {
  return new HubError('flash_image_invalid', message, details);
}

const u16 = (b: Uint8Array, o: number): number => (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);
const u32 = (b: Uint8Array, o: number): number => (u16(b, o) | (u16(b, o + 2) << 16)) >>> 0;

/**
 * Checks one image (bootloader or app) that starts at `bytes[0]` and may be followed by other
 * data (a merged file). Returns its length. `what` names it in the error.
 */
export function checkEspImage(bytes: Uint8Array, what: string, maxLen = bytes.length): number {
  if (bytes.length < HEADER_LEN || bytes[0] !== ESP_IMAGE_MAGIC) {
    throw invalid(`${what}: not an ESP image (first byte 0x${(bytes[0] ?? 0).toString(16)}, expected 0xe9)`, {
      part: what,
    });
  }
  const chipId = u16(bytes, 12);
  if (chipId !== PLUG_TARGET.imageChipId) {
    throw invalid(
      `${what}: built for chip id ${chipId}, the plug is an ${PLUG_TARGET.chipName} (chip id ${PLUG_TARGET.imageChipId})`,
      { part: what, chipId },
    );
  }
  const segments = bytes[1] ?? 0;
  if (segments === 0 || segments > MAX_SEGMENTS) throw invalid(`${what}: ${segments} segments`, { part: what });
  let pos = HEADER_LEN;
  let sum = 0xef;
  for (let i = 0; i < segments; i++) {
    if (pos + SEGMENT_HEADER_LEN > maxLen) throw invalid(`${what}: truncated in segment ${i}`, { part: what });
    const len = u32(bytes, pos + 4);
    pos += SEGMENT_HEADER_LEN;
    if (pos + len > maxLen) throw invalid(`${what}: segment ${i} runs past the end`, { part: what });
    for (let j = pos; j < pos + len; j++) sum ^= bytes[j] ?? 0;
    pos += len;
  }
  const checksumAt = pos | 15; // the last byte of the 16-byte block the data ends in
  if (checksumAt >= maxLen) throw invalid(`${what}: truncated before its checksum`, { part: what });
  if (bytes[checksumAt] !== sum) throw invalid(`${what}: checksum mismatch (corrupt image)`, { part: what });
  let end = checksumAt + 1;
  if (bytes[23] === 1) {
    if (end + 32 > maxLen) throw invalid(`${what}: truncated before its SHA-256`, { part: what });
    const digest = createHash('sha256').update(bytes.subarray(0, end)).digest();
    if (!digest.equals(bytes.subarray(end, end + 32)))
      throw invalid(`${what}: SHA-256 mismatch (corrupt image)`, { part: what });
    end += 32;
  }
  return end;
}

/** Reads a partition table (at most 95 entries in its 0xC00 bytes). */
export function parsePartitionTable(bytes: Uint8Array): PartitionEntry[] {
  const out: PartitionEntry[] = [];
  for (let o = 0; o + 32 <= Math.min(bytes.length, 0xc00); o += 32) {
    const a = bytes[o];
    const b = bytes[o + 1];
    if (a === 0xaa && b === 0x50) {
      const label = Buffer.from(bytes.subarray(o + 12, o + 28))
        .toString('latin1')
        .replace(/\0.*$/s, '');
      out.push({
        type: bytes[o + 2] ?? 0,
        subtype: bytes[o + 3] ?? 0,
        offset: u32(bytes, o + 4),
        size: u32(bytes, o + 8),
        label,
      });
      continue;
    }
    if ((a === 0xeb && b === 0xeb) || (a === 0xff && b === 0xff)) break;
    throw invalid(`partition table: entry ${out.length} has no magic (corrupt table)`);
  }
  if (out.length === 0) throw invalid('partition table: no entries (not a partition table)');
  return out;
}

/** The app the bootloader starts first: a factory app, else ota_0 (otadata blank). */
export function bootApp(table: PartitionEntry[]): PartitionEntry {
  const apps = table.filter((p) => p.type === 0);
  const app = apps.find((p) => p.subtype === 0x00) ?? apps.find((p) => p.subtype === 0x10);
  if (!app) throw invalid('partition table: no factory or ota_0 app partition');
  return app;
}
