/**
 * A plug "ESP-IDF build" made for tests: what `idf.py build` leaves for `idf.py flash` (no ESP32
 * toolchain here). Images follow ESP-IDF's "App Image Format" (24-byte header with chip id,
 * segments, XOR checksum seeded 0xEF at the end of the 16-byte block, appended SHA-256); the
 * partition table is made from the real firmware/port/esp-idf/partitions.csv in ESP-IDF's binary
 * format (32-byte entries, an MD5 entry, 0xFF to 0xC00); otadata is blank (two erased sectors),
 * so the bootloader starts ota_0. Segment contents are random: incompressible like real code.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PARTITIONS_CSV = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../firmware/port/esp-idf/partitions.csv',
);

export function espImage(opts: {
  chipId?: number;
  segments: { addr: number; data: Uint8Array }[];
  hashAppended?: boolean;
}): Uint8Array {
  const hashed = opts.hashAppended ?? true;
  const header = Buffer.alloc(24);
  header[0] = 0xe9;
  header[1] = opts.segments.length;
  header[2] = 2; // DIO
  header[3] = 0x2f; // 4 MB, 80 MHz
  header.writeUInt32LE(opts.segments[0]?.addr ?? 0, 4);
  header[8] = 0xee; // no WP pin
  header.writeUInt16LE(opts.chipId ?? 5, 12);
  header[23] = hashed ? 1 : 0;
  const chunks: Buffer[] = [header];
  let sum = 0xef;
  for (const s of opts.segments) {
    const h = Buffer.alloc(8);
    h.writeUInt32LE(s.addr, 0);
    h.writeUInt32LE(s.data.length, 4);
    chunks.push(h, Buffer.from(s.data));
    for (const b of s.data) sum ^= b;
  }
  let body = Buffer.concat(chunks);
  const padded = Buffer.alloc((body.length | 15) + 1);
  body.copy(padded);
  padded[padded.length - 1] = sum;
  body = padded;
  if (hashed) body = Buffer.concat([body, createHash('sha256').update(body).digest()]);
  return new Uint8Array(body);
}

const TYPES: Record<string, number> = { app: 0, data: 1 };
const SUBTYPES: Record<string, number> = { factory: 0x00, ota_0: 0x10, ota_1: 0x11, ota: 0x00, phy: 0x01, nvs: 0x02 };

export function partitionTable(csv = readFileSync(PARTITIONS_CSV, 'utf8')): Uint8Array {
  const entries: Buffer[] = [];
  for (const line of csv.split('\n')) {
    const t = line.replace(/#.*/, '').trim();
    if (!t) continue;
    const [name, type, subtype, offset, size] = t.split(',').map((s) => s.trim());
    const e = Buffer.alloc(32);
    e[0] = 0xaa;
    e[1] = 0x50;
    e[2] = TYPES[type!] ?? 0xff;
    e[3] = SUBTYPES[subtype!] ?? 0xff;
    e.writeUInt32LE(Number(offset), 4);
    e.writeUInt32LE(Number(size), 8);
    e.write(name!, 12, 16, 'latin1');
    entries.push(e);
  }
  const table = Buffer.concat(entries);
  const md5 = Buffer.alloc(32, 0xff);
  md5[0] = 0xeb;
  md5[1] = 0xeb;
  createHash('md5').update(table).digest().copy(md5, 16);
  const out = Buffer.alloc(0xc00, 0xff);
  Buffer.concat([table, md5]).copy(out);
  return new Uint8Array(out);
}

export interface PlugBuild {
  dir: string;
  flasherArgs: string;
  /** offset -> bytes, as flasher_args.json maps them */
  files: Map<number, Uint8Array>;
}

/** Writes a build directory like firmware/port/esp-idf/build (flasher_args.json and its files). */
export function writePlugBuild(dir: string, appBytes = 48 * 1024): PlugBuild {
  const bootloader = espImage({
    segments: [
      { addr: 0x3fcd5820, data: randomBytes(2000) },
      { addr: 0x403ce000, data: randomBytes(9000) },
    ],
  });
  const app = espImage({
    segments: [
      { addr: 0x3c020020, data: randomBytes(8000) },
      { addr: 0x42000020, data: randomBytes(appBytes) },
    ],
  });
  const files = new Map<number, Uint8Array>([
    [0x0, bootloader],
    [0x8000, partitionTable()],
    [0xf000, new Uint8Array(0x2000).fill(0xff)],
    [0x20000, app],
  ]);
  const names = new Map([
    [0x0, 'bootloader/bootloader.bin'],
    [0x8000, 'partition_table/partition-table.bin'],
    [0xf000, 'ota_data_initial.bin'],
    [0x20000, 'hearth-plug.bin'],
  ]);
  const flashFiles: Record<string, string> = {};
  for (const [off, data] of files) {
    const name = names.get(off)!;
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), data);
    flashFiles[`0x${off.toString(16)}`] = name;
  }
  const flasherArgs = join(dir, 'flasher_args.json');
  writeFileSync(
    flasherArgs,
    JSON.stringify(
      {
        write_flash_args: ['--flash_mode', 'dio', '--flash_size', '4MB', '--flash_freq', '80m'],
        flash_settings: { flash_mode: 'dio', flash_size: '4MB', flash_freq: '80m' },
        flash_files: flashFiles,
        extra_esptool_args: { after: 'hard_reset', before: 'default_reset', stub: true, chip: 'esp32c3' },
      },
      null,
      2,
    ),
  );
  return { dir, flasherArgs, files };
}

/** One file from offset 0, 0xFF between the parts (what `esptool.py merge_bin` writes). */
export function mergeBuild(build: PlugBuild, path: string): Uint8Array {
  const end = Math.max(...[...build.files].map(([o, d]) => o + d.length));
  const out = new Uint8Array(end).fill(0xff);
  for (const [o, d] of build.files) out.set(d, o);
  writeFileSync(path, out);
  return out;
}
