/**
 * The firmware to write to a plug, from what an ESP-IDF build leaves behind:
 * - `build/flasher_args.json` (what `idf.py flash` writes): `flash_files` maps flash offsets to
 *   files next to it (bootloader 0x0, partition table 0x8000, otadata 0xf000, app 0x20000 for
 *   firmware/port/esp-idf/partitions.csv), `extra_esptool_args.chip` names the target;
 * - a merged image (`esptool.py merge_bin`, or `idf.py merge-bin`): one file written at 0x0.
 * Either way the result is checked as the plug would see it: bootloader image, partition table,
 * the app the bootloader will start, all for an ESP32-C3 and inside its 4 MB.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HubError } from '../core/errors.ts';
import { bootApp, checkEspImage, parsePartitionTable } from './esp-image.ts';
import { PLUG_TARGET, type FlashPart } from './plug-target.ts';

export type { FlashPart };

export interface PlugImage {
  source: string;
  parts: FlashPart[];
}

const SECTOR = 0x1000;
const MAX_FILE = PLUG_TARGET.flashBytes;

/** Where a checkout's ESP-IDF build puts its flasher_args.json (used when --image is not given). */
export const DEFAULT_IMAGE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../firmware/port/esp-idf/build/flasher_args.json',
);

function readPart(path: string, what: string): Uint8Array {
  if (!existsSync(path)) throw new HubError('flash_image_not_found', `${what}: no such file ${path}`, { path });
  const st = statSync(path);
  if (!st.isFile()) throw new HubError('flash_image_invalid', `${what}: ${path} is not a file`, { path });
  if (st.size === 0) throw new HubError('flash_image_invalid', `${what}: ${path} is empty`, { path });
  if (st.size > MAX_FILE)
    throw new HubError('flash_image_invalid', `${what}: ${path} is larger than the plug's ${MAX_FILE} bytes of flash`, {
      path,
    });
  return new Uint8Array(readFileSync(path));
}

function fromFlasherArgs(path: string): FlashPart[] {
  let args: unknown;
  try {
    args = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new HubError('flash_image_invalid', `${path}: not JSON (${(err as Error).message})`);
  }
  const a = args as { flash_files?: unknown; extra_esptool_args?: { chip?: unknown } };
  const chip = a.extra_esptool_args?.chip;
  if (chip !== undefined && chip !== PLUG_TARGET.idfTarget) {
    throw new HubError(
      'flash_image_invalid',
      `${path}: built for ${String(chip)}, the plug is an ${PLUG_TARGET.idfTarget}`,
      { chip },
    );
  }
  if (!a.flash_files || typeof a.flash_files !== 'object')
    throw new HubError('flash_image_invalid', `${path}: no flash_files`);
  const parts: FlashPart[] = [];
  for (const [off, file] of Object.entries(a.flash_files as Record<string, unknown>)) {
    const offset = /^0x[0-9a-f]+$/i.test(off) ? Number.parseInt(off, 16) : Number.NaN;
    if (!Number.isSafeInteger(offset) || typeof file !== 'string')
      throw new HubError('flash_image_invalid', `${path}: bad flash_files entry ${off}`);
    parts.push({ name: file, offset, data: readPart(resolve(dirname(path), file), file) });
  }
  return parts;
}

/** Loads and checks the image; throws flash_image_not_found / flash_image_invalid. */
export function loadPlugImage(path: string): PlugImage {
  if (!existsSync(path))
    throw new HubError(
      'flash_image_not_found',
      `no plug firmware at ${path} (build firmware/port/esp-idf with idf.py, or pass --image FILE)`,
      { path },
    );
  const parts = path.endsWith('.json')
    ? fromFlasherArgs(path)
    : [{ name: 'merged image', offset: 0, data: readPart(path, 'image') }];
  if (parts.length === 0) throw new HubError('flash_image_invalid', `${path}: nothing to flash`);
  parts.sort((x, y) => x.offset - y.offset);
  let end = 0;
  for (const p of parts) {
    if (p.offset % SECTOR !== 0)
      throw new HubError('flash_image_invalid', `${p.name}: offset 0x${p.offset.toString(16)} is not on a 4 KB sector`);
    if (p.offset < end) throw new HubError('flash_image_invalid', `${p.name}: overlaps the part before it`);
    end = p.offset + p.data.length;
    if (end > PLUG_TARGET.flashBytes)
      throw new HubError('flash_image_invalid', `${p.name}: ends past the plug's 4 MB of flash`);
  }
  checkLayout(parts);
  return { source: path, parts };
}

/** The bytes the plug's flash will hold at [offset, offset + len), as far as the parts cover it. */
function flashView(parts: FlashPart[], offset: number): Uint8Array | undefined {
  const p = parts.find((q) => offset >= q.offset && offset < q.offset + q.data.length);
  return p?.data.subarray(offset - p.offset);
}

function checkLayout(parts: FlashPart[]): void {
  const boot = flashView(parts, PLUG_TARGET.bootloaderOffset);
  if (!boot)
    throw new HubError(
      'flash_image_invalid',
      'no bootloader at 0x0 (not a complete plug image: give flasher_args.json or a merged image)',
    );
  checkEspImage(boot, 'bootloader');
  const tableBytes = flashView(parts, PLUG_TARGET.partitionTableOffset);
  if (!tableBytes) throw new HubError('flash_image_invalid', 'no partition table at 0x8000');
  const app = bootApp(parsePartitionTable(tableBytes));
  const appBytes = flashView(parts, app.offset);
  if (!appBytes)
    throw new HubError('flash_image_invalid', `no app at 0x${app.offset.toString(16)} (partition ${app.label})`);
  checkEspImage(appBytes, `app (${app.label})`, Math.min(appBytes.length, app.size));
}
