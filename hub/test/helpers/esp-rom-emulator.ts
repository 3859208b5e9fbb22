/**
 * An emulated Hearth plug on a serial line, for `hearth-admin flash-plug` tests: the ESP32-C3's
 * ROM serial loader while in download mode, then the plug firmware's Improv serial service once
 * the loader is told to run the new firmware. It sits on one end of a pseudo-terminal pair made
 * by socat (Debian's `socat`); the flasher opens the other end as it would /dev/ttyUSB0.
 *
 * Documents it follows:
 * - Espressif, esptool documentation, "Serial Protocol" (ROM loader): SLIP framing (0xC0 ends,
 *   0xDB 0xDC / 0xDB 0xDD escapes); command = direction 0x00, op, size u16, checksum u32, data;
 *   response = direction 0x01, op, size u16, value u32, data ending in status bytes (status,
 *   error: 2 bytes on the ESP32-C3, 4 on the original ESP32); error 0x05 "received message is
 *   invalid", 0x07 "checksum error"; the data commands' checksum is the XOR of the payload seeded
 *   with 0xEF; SYNC (0x08) answered eight times; READ_REG (0x0A) answers in the value field;
 *   SPI_ATTACH (0x0D, 8 bytes from the ROM), SPI_SET_PARAMS (0x0B, 24 bytes), CHANGE_BAUDRATE
 *   (0x0F), FLASH_BEGIN/DATA/END (0x02-0x04) and FLASH_DEFL_BEGIN/DATA/END (0x10-0x12, zlib
 *   stream; on the C3 the begin commands carry a fifth "encrypted" word), SPI_FLASH_MD5 (0x13:
 *   the ROM answers 32 hex digits as text), GET_SECURITY_INFO (0x14: flags, flash_crypt_cnt, 7 key
 *   purposes, chip id, API version); FLASH_END with 1 = leave the loader and run user code.
 *   Flash data blocks are at most 1 KB (esptool's FLASH_WRITE_SIZE for the ROM).
 * - ESP32-C3 Technical Reference Manual and esptool's chip tables: the chip-detect magic register
 *   at 0x40001000 (ESP32-C3 ECO3 0x1B31506F; original ESP32 0x00F01D83), the MAC in eFuse block 1
 *   at 0x60008844 (bytes 2-5) and 0x60008848 (bytes 0-1, low half), image chip id 5.
 * - Improv Wi-Fi, "Improv via Serial" (https://www.improv-wifi.com/serial/): "IMPROV", version 1,
 *   type, length, data, checksum (sum mod 256); states 2 ready / 3 provisioning / 4 provisioned,
 *   error 3 unable to connect; RPC 1 Wi-Fi settings, 2 current state, 3 device info. It answers
 *   as firmware/port/esp-idf/main/provisioning_improv.c does.
 * The original ESP32's ROM has no GET_SECURITY_INFO: it is answered as an unsupported command
 * (a response to another op carrying error 0x05), as esptool expects from that ROM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { constants, inflateSync } from 'node:zlib';
import { autoDetect, type BindingPortInterface } from '@serialport/bindings-cpp';

export type EmulatedChip = 'esp32c3' | 'esp32';

const MAGIC: Record<EmulatedChip, number> = { esp32c3: 0x1b31506f, esp32: 0x00f01d83 };
const CHIP_DETECT_MAGIC_REG = 0x40001000;
const C3_MAC_REG = 0x60008844;
const ROM_MAX_BLOCK = 0x400;
const FLASH_BYTES = 4 * 1024 * 1024;

const OP = {
  FLASH_BEGIN: 0x02,
  FLASH_DATA: 0x03,
  FLASH_END: 0x04,
  SYNC: 0x08,
  WRITE_REG: 0x09,
  READ_REG: 0x0a,
  SPI_SET_PARAMS: 0x0b,
  SPI_ATTACH: 0x0d,
  CHANGE_BAUDRATE: 0x0f,
  FLASH_DEFL_BEGIN: 0x10,
  FLASH_DEFL_DATA: 0x11,
  FLASH_DEFL_END: 0x12,
  SPI_FLASH_MD5: 0x13,
  GET_SECURITY_INFO: 0x14,
} as const;
const OP_NAMES = new Map(Object.entries(OP).map(([k, v]) => [v as number, k]));
const ERR_INVALID = 0x05;
const ERR_CHECKSUM = 0x07;

export interface EmulatorOptions {
  chip?: EmulatedChip;
  mac?: string;
  /** Never answer (a plug that is not in download mode). */
  silent?: boolean;
  /** Called when this many compressed data blocks have arrived (before answering the last). */
  onDataBlock?: (count: number) => void;
  /** The Wi-Fi join result the emulated firmware reports. */
  wifiJoins?: boolean;
  /** A flash cell that does not hold what is written to it (this offset reads back inverted). */
  badFlashAt?: number;
  /** Stops answering after this many data blocks (a hung chip, the cable still in). */
  hangAfterBlocks?: number;
}

export interface ReceivedCommand {
  op: string;
  args: number[];
}

export class EspRomEmulator {
  readonly flash = new Uint8Array(FLASH_BYTES).fill(0xff);
  readonly commands: ReceivedCommand[] = [];
  readonly md5Requests: { offset: number; size: number }[] = [];
  readonly improvRequests: number[] = [];
  wifi: { ssid: string; passphrase: string } | undefined;
  mode: 'rom' | 'app' = 'rom';
  readonly #opts: EmulatorOptions;
  #port: BindingPortInterface | undefined;
  #slip: number[] | undefined;
  #esc = false;
  #write:
    | { offset: number; blockSize: number; blocks: number; seq: number; compressed: Buffer[]; deflate: boolean }
    | undefined;
  #dataBlocks = 0;
  #improv: number[] = [];
  #stopped = false;

  constructor(opts: EmulatorOptions = {}) {
    this.#opts = opts;
  }

  get chip(): EmulatedChip {
    return this.#opts.chip ?? 'esp32c3';
  }

  get macBytes(): number[] {
    return (this.#opts.mac ?? '24:0a:c4:12:34:56').split(':').map((h) => Number.parseInt(h, 16));
  }

  async start(path: string): Promise<void> {
    this.#port = await autoDetect().open({ path, baudRate: 115200 });
    void this.#readLoop(this.#port);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const p = this.#port;
    this.#port = undefined;
    if (p?.isOpen) await p.close().catch(() => undefined);
  }

  async #readLoop(port: BindingPortInterface): Promise<void> {
    const buf = Buffer.alloc(4096);
    while (!this.#stopped) {
      let n: number;
      try {
        n = (await port.read(buf, 0, buf.length)).bytesRead;
      } catch {
        return; // closed or the line went away
      }
      for (const b of buf.subarray(0, n)) {
        if (this.#opts.silent) continue;
        if (this.mode === 'rom') await this.#slipByte(b);
        else await this.#improvByte(b);
      }
    }
  }

  async #send(bytes: Uint8Array): Promise<void> {
    try {
      await this.#port?.write(Buffer.from(bytes));
    } catch {
      /* line gone */
    }
  }

  // ---- ROM loader -------------------------------------------------------------------------

  async #slipByte(b: number): Promise<void> {
    if (b === 0xc0) {
      if (this.#slip && this.#slip.length > 0) {
        const frame = Uint8Array.from(this.#slip);
        this.#slip = [];
        await this.#command(frame);
      } else {
        this.#slip = [];
      }
      return;
    }
    if (!this.#slip) return; // noise outside a frame
    if (this.#esc) {
      this.#esc = false;
      this.#slip.push(b === 0xdc ? 0xc0 : b === 0xdd ? 0xdb : b);
    } else if (b === 0xdb) {
      this.#esc = true;
    } else {
      this.#slip.push(b);
    }
  }

  async #respond(op: number, value: number, data: Uint8Array, status = 0, error = 0): Promise<void> {
    const statusLen = this.chip === 'esp32' ? 4 : 2;
    const body = Buffer.alloc(8 + data.length + statusLen);
    body[0] = 0x01;
    body[1] = op;
    body.writeUInt16LE(data.length + statusLen, 2);
    body.writeUInt32LE(value >>> 0, 4);
    Buffer.from(data).copy(body, 8);
    body[8 + data.length] = status;
    body[9 + data.length] = error;
    const out: number[] = [0xc0];
    for (const x of body) {
      if (x === 0xc0) out.push(0xdb, 0xdc);
      else if (x === 0xdb) out.push(0xdb, 0xdd);
      else out.push(x);
    }
    out.push(0xc0);
    await this.#send(Uint8Array.from(out));
  }

  async #command(frame: Uint8Array): Promise<void> {
    if (frame.length < 8 || frame[0] !== 0x00) return;
    const view = Buffer.from(frame);
    const op = view[1]!;
    const size = view.readUInt16LE(2);
    const chk = view.readUInt32LE(4);
    const data = view.subarray(8);
    if (data.length !== size) return this.#respond(op, 0, new Uint8Array(0), 1, ERR_INVALID);
    const words = (n: number): number[] =>
      Array.from({ length: Math.min(n, Math.floor(data.length / 4)) }, (_, i) => data.readUInt32LE(i * 4));
    const fail = (err: number) => this.#respond(op, 0, new Uint8Array(0), 1, err);
    const ok = (value = 0, body = new Uint8Array(0)) => this.#respond(op, value, body);
    const name = OP_NAMES.get(op) ?? `0x${op.toString(16)}`;
    if (op !== OP.FLASH_DATA && op !== OP.FLASH_DEFL_DATA) this.commands.push({ op: name, args: words(6) });
    switch (op) {
      case OP.SYNC: {
        const want = [0x07, 0x07, 0x12, 0x20, ...Array<number>(32).fill(0x55)];
        if (data.length !== 36 || want.some((x, i) => data[i] !== x)) return fail(ERR_INVALID);
        for (let i = 0; i < 8; i++) await ok(0x20120707);
        return;
      }
      case OP.READ_REG: {
        const [addr] = words(1);
        return ok(this.#register(addr ?? 0));
      }
      case OP.WRITE_REG:
        return ok();
      case OP.GET_SECURITY_INFO: {
        if (this.chip === 'esp32') return this.#respond(0x00, 0, new Uint8Array([1, ERR_INVALID]));
        const info = Buffer.alloc(20);
        info.writeUInt32LE(5, 12); // chip id: ESP32-C3
        return ok(0, new Uint8Array(info));
      }
      case OP.SPI_ATTACH:
        return data.length === 8 ? ok() : fail(ERR_INVALID);
      case OP.SPI_SET_PARAMS:
        return data.length === 24 ? ok() : fail(ERR_INVALID);
      case OP.CHANGE_BAUDRATE:
        return data.length === 8 ? ok() : fail(ERR_INVALID);
      case OP.FLASH_BEGIN:
      case OP.FLASH_DEFL_BEGIN: {
        const w = words(5);
        if (this.chip === 'esp32c3' && w.length !== 5) return fail(ERR_INVALID);
        const [eraseSize = 0, blocks = 0, blockSize = 0, offset = 0] = w;
        if (blockSize > ROM_MAX_BLOCK || offset + eraseSize > FLASH_BYTES) return fail(ERR_INVALID);
        this.flash.fill(0xff, offset, offset + eraseSize);
        this.#write = { offset, blockSize, blocks, seq: 0, compressed: [], deflate: op === OP.FLASH_DEFL_BEGIN };
        return ok();
      }
      case OP.FLASH_DATA:
      case OP.FLASH_DEFL_DATA: {
        const w = this.#write;
        const [len = 0, seq = 0] = words(2);
        const payload = data.subarray(16);
        if (
          !w ||
          w.deflate !== (op === OP.FLASH_DEFL_DATA) ||
          payload.length !== len ||
          len > w.blockSize ||
          seq !== w.seq
        )
          return fail(ERR_INVALID);
        let sum = 0xef;
        for (const x of payload) sum ^= x;
        if (sum !== chk) return fail(ERR_CHECKSUM);
        this.#dataBlocks++;
        this.#opts.onDataBlock?.(this.#dataBlocks);
        if (this.#opts.hangAfterBlocks !== undefined && this.#dataBlocks > this.#opts.hangAfterBlocks) {
          this.#opts.silent = true;
          return;
        }
        if (w.deflate) {
          w.compressed.push(Buffer.from(payload));
          // The ROM inflates as blocks arrive; all output so far is written at the offset.
          const out = inflateSync(Buffer.concat(w.compressed), { finishFlush: constants.Z_SYNC_FLUSH });
          this.flash.set(out, w.offset);
        } else {
          this.flash.set(payload, w.offset + seq * w.blockSize);
        }
        const bad = this.#opts.badFlashAt;
        if (bad !== undefined) this.flash[bad] = (this.flash[bad] ?? 0) ^ 0xff;
        w.seq++;
        return ok();
      }
      case OP.FLASH_END:
      case OP.FLASH_DEFL_END: {
        await ok();
        // 0 = reboot, 1 = run user code: either way the loader leaves and the firmware boots.
        this.#write = undefined;
        setTimeout(() => void this.#boot(), 50);
        return;
      }
      case OP.SPI_FLASH_MD5: {
        const [offset = 0, len = 0] = words(2);
        this.md5Requests.push({ offset, size: len });
        const hex = createHash('md5')
          .update(this.flash.subarray(offset, offset + len))
          .digest('hex');
        return ok(0, new TextEncoder().encode(hex));
      }
      default:
        return this.#respond(0x00, 0, new Uint8Array([1, ERR_INVALID]));
    }
  }

  #register(addr: number): number {
    const mac = this.macBytes;
    if (addr === CHIP_DETECT_MAGIC_REG) return MAGIC[this.chip];
    if (addr === C3_MAC_REG) return ((mac[2]! << 24) | (mac[3]! << 16) | (mac[4]! << 8) | mac[5]!) >>> 0;
    if (addr === C3_MAC_REG + 4) return (mac[0]! << 8) | mac[1]!;
    return 0;
  }

  // ---- the firmware ------------------------------------------------------------------------

  get plugId(): string {
    return `plug-${this.macBytes.map((b) => b.toString(16).padStart(2, '0')).join('')}`;
  }

  async #boot(): Promise<void> {
    this.mode = 'app';
    const enc = new TextEncoder();
    await this.#send(
      enc.encode('ESP-ROM:esp32c3-api1-20210207\r\nrst:0x1 (POWERON),boot:0xc (SPI_FAST_FLASH_BOOT)\r\n'),
    );
    // The second-stage bootloader starts ota_0 only if it holds an image (magic 0xE9).
    if (this.flash[0] !== 0xe9 || this.flash[0x20000] !== 0xe9) {
      await this.#send(enc.encode('invalid header: 0xffffffff\r\n'));
      return;
    }
    await this.#send(
      enc.encode(
        `I (312) hearth: id ${this.plugId}\r\nW (330) hearth: no working Wi-Fi credentials: waiting for Improv over serial\r\n`,
      ),
    );
    await this.#improvState(2);
  }

  async #improvSend(type: number, data: number[]): Promise<void> {
    const pkt = [0x49, 0x4d, 0x50, 0x52, 0x4f, 0x56, 1, type, data.length, ...data];
    pkt.push(
      pkt.reduce((s, x) => (s + x) & 0xff, 0),
      0x0a,
    );
    await this.#send(Uint8Array.from(pkt));
  }

  #improvState(s: number): Promise<void> {
    return this.#improvSend(0x01, [s]);
  }

  #improvResult(cmd: number, strings: string[]): Promise<void> {
    const body: number[] = [];
    for (const s of strings) {
      const b = [...Buffer.from(s)];
      body.push(b.length, ...b);
    }
    return this.#improvSend(0x04, [cmd, body.length, ...body]);
  }

  /** Byte by byte, resynchronising on the header, as provisioning_improv.c reads its UART. */
  async #improvByte(b: number): Promise<void> {
    const pkt = this.#improv;
    if (pkt.length < 6 && b !== 'IMPROV'.charCodeAt(pkt.length)) {
      this.#improv = b === 0x49 ? [b] : [];
      return;
    }
    pkt.push(b);
    if (pkt.length < 9) return;
    const want = 9 + pkt[8]! + 1;
    if (pkt.length < want) return;
    this.#improv = [];
    const sum = pkt.slice(0, want - 1).reduce((s, x) => (s + x) & 0xff, 0);
    if (pkt[6] !== 1 || pkt[want - 1] !== sum) return this.#improvSend(0x02, [0x01]);
    if (pkt[7] !== 0x03) return;
    const d = pkt.slice(9, want - 1);
    if (d.length < 2 || d[1] !== d.length - 2) return this.#improvSend(0x02, [0x01]);
    this.improvRequests.push(d[0]!);
    switch (d[0]) {
      case 0x01: {
        const sl = d[2] ?? 0;
        const pl = d[3 + sl] ?? 0;
        if (sl === 0 || sl > 32 || 4 + sl + pl !== d.length || pl > 64) return this.#improvSend(0x02, [0x01]);
        this.wifi = {
          ssid: Buffer.from(d.slice(3, 3 + sl)).toString('utf8'),
          passphrase: Buffer.from(d.slice(4 + sl, 4 + sl + pl)).toString('utf8'),
        };
        await this.#improvState(3);
        if (this.#opts.wifiJoins === false) {
          await this.#improvSend(0x02, [0x03]);
          return this.#improvState(2);
        }
        await this.#improvState(4);
        return this.#improvResult(0x01, ['http://192.0.2.10/pair/hello']);
      }
      case 0x02:
        return this.#improvState(this.wifi ? 4 : 2);
      case 0x03:
        return this.#improvResult(0x03, ['Hearth plug', '1.0.0', 'esp32c3', this.plugId]);
      default:
        return this.#improvSend(0x02, [0x02]);
    }
  }
}

/** A pseudo-terminal pair from socat: `plug` for the emulator, `host` for the flasher. */
export interface PtyPair {
  plug: string;
  host: string;
  /** The cable pulled: socat killed, both ends gone. */
  unplug: () => void;
  close: () => Promise<void>;
}

export async function ptyPair(dir: string): Promise<PtyPair> {
  const plug = join(dir, 'plug-tty');
  const host = join(dir, 'host-tty');
  const child: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${plug}`, `pty,raw,echo=0,link=${host}`], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 10_000;
  while (!(existsSync(plug) && existsSync(host))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('socat did not make a pty pair');
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    plug,
    host,
    unplug: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
