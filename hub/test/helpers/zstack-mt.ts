import { createRequire } from 'node:module';

/**
 * The MT (Monitor and Test) frame codec of a Texas Instruments Z-Stack coordinator (ZNP), as TI's
 * "Z-Stack Monitor and Test API" document describes it: a frame is SOF 0xFE, payload length,
 * cmd0 (type << 5 | subsystem), cmd1 (command id), payload, and an FCS that XORs every byte from
 * the length to the end of the payload. Command ids and payload layouts are not copied here: they
 * come from herdsman's own ZNP command table (parameter names and types, as TI documents them).
 * Used by the emulated coordinator (zstack-coordinator.ts).
 */

const require = createRequire(import.meta.url);
export interface MtParam {
  name: string;
  parameterType: number;
}
export interface MtCmd {
  name: string;
  ID: number;
  type: number;
  request?: MtParam[];
  response?: MtParam[];
  zdoClusterId?: number;
}
/** herdsman's ZNP command table, by subsystem. */
export const DEFINITION = (
  require('zigbee-herdsman/dist/adapter/z-stack/znp/definition.js') as { default: Record<number, MtCmd[]> }
).default;

export const SUBSYS = { SYS: 1, AF: 4, ZDO: 5, UTIL: 7, APP_CNF: 15 } as const;
export const TYPE = { SREQ: 1, AREQ: 2, SRSP: 3 } as const;
// parameterType numbers in herdsman's table
const PT = {
  UINT8: 0,
  UINT16: 1,
  UINT32: 2,
  IEEEADDR: 3,
  BUFFER: 4,
  BUFFER8: 5,
  BUFFER16: 6,
  BUFFER18: 7,
  BUFFER32: 8,
  BUFFER42: 9,
  BUFFER100: 10,
  LIST_UINT8: 11,
  LIST_UINT16: 12,
} as const;

export interface MtFrame {
  type: number;
  subsystem: number;
  id: number;
  data: Buffer;
}

// ---- byte helpers -------------------------------------------------------------------------------

export function ieeeToLe(ieee: string): Buffer {
  return Buffer.from(ieee.replace(/^0x/, '').padStart(16, '0'), 'hex').reverse();
}

export function u8(n: number): Buffer {
  return Buffer.from([n & 0xff]);
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n & 0xffff);
  return b;
}

// ---- MT payloads and frames ---------------------------------------------------------------------

/** A command's parameters, laid out as herdsman's table says (little-endian). */
export function writeParams(params: MtParam[], values: Record<string, unknown>): Buffer {
  const parts: Buffer[] = [];
  for (const p of params) {
    const v = values[p.name];
    switch (p.parameterType) {
      case PT.UINT8:
        parts.push(Buffer.from([Number(v ?? 0) & 0xff]));
        break;
      case PT.UINT16: {
        const b = Buffer.alloc(2);
        b.writeUInt16LE(Number(v ?? 0) & 0xffff);
        parts.push(b);
        break;
      }
      case PT.UINT32: {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(Number(v ?? 0) >>> 0);
        parts.push(b);
        break;
      }
      case PT.IEEEADDR:
        parts.push(ieeeToLe(String(v ?? '0000000000000000')));
        break;
      case PT.LIST_UINT16: {
        const list = (v as number[] | undefined) ?? [];
        const b = Buffer.alloc(list.length * 2);
        list.forEach((n, i) => b.writeUInt16LE(n, i * 2));
        parts.push(b);
        break;
      }
      case PT.LIST_UINT8:
        parts.push(Buffer.from((v as number[] | undefined) ?? []));
        break;
      default:
        parts.push(Buffer.isBuffer(v) ? v : Buffer.alloc(0));
    }
  }
  return Buffer.concat(parts);
}

/** A command's parameters read back from a frame's payload. */
export function readParams(params: MtParam[], data: Buffer): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let pos = 0;
  let lastNumber = 0;
  for (const p of params) {
    switch (p.parameterType) {
      case PT.UINT8:
        lastNumber = data.readUInt8(pos);
        pos += 1;
        out[p.name] = lastNumber;
        break;
      case PT.UINT16:
        lastNumber = data.readUInt16LE(pos);
        pos += 2;
        out[p.name] = lastNumber;
        break;
      case PT.UINT32:
        lastNumber = data.readUInt32LE(pos);
        pos += 4;
        out[p.name] = lastNumber;
        break;
      case PT.IEEEADDR:
        out[p.name] = Buffer.from(data.subarray(pos, pos + 8))
          .reverse()
          .toString('hex');
        pos += 8;
        break;
      case PT.LIST_UINT16: {
        const list: number[] = [];
        for (let i = 0; i < lastNumber; i++) {
          list.push(data.readUInt16LE(pos));
          pos += 2;
        }
        out[p.name] = list;
        break;
      }
      case PT.BUFFER:
        out[p.name] = data.subarray(pos, pos + lastNumber);
        pos += lastNumber;
        break;
      default:
        out[p.name] = data.subarray(pos);
        pos = data.length;
    }
  }
  return out;
}

export function encodeMtFrame(frame: MtFrame): Buffer {
  const out = Buffer.alloc(frame.data.length + 5);
  out[0] = 0xfe;
  out[1] = frame.data.length;
  out[2] = ((frame.type << 5) | frame.subsystem) & 0xff;
  out[3] = frame.id;
  frame.data.copy(out, 4);
  let fcs = 0;
  for (let i = 1; i < out.length - 1; i++) fcs ^= out[i]!;
  out[out.length - 1] = fcs;
  return out;
}

/** Splits a byte stream into MT frames; bytes before a SOF and frames with a bad FCS are dropped. */
export class MtParser {
  #buf = Buffer.alloc(0);
  badFrames = 0;
  push(chunk: Buffer): MtFrame[] {
    this.#buf = Buffer.concat([this.#buf, chunk]);
    const frames: MtFrame[] = [];
    for (;;) {
      const sof = this.#buf.indexOf(0xfe);
      if (sof < 0) {
        this.#buf = Buffer.alloc(0);
        break;
      }
      if (sof > 0) this.#buf = this.#buf.subarray(sof);
      if (this.#buf.length < 5) break;
      const len = this.#buf[1]!;
      if (this.#buf.length < len + 5) break;
      let fcs = 0;
      for (let i = 1; i < len + 4; i++) fcs ^= this.#buf[i]!;
      if (fcs !== this.#buf[len + 4]) {
        this.badFrames++;
        this.#buf = this.#buf.subarray(1);
        continue;
      }
      frames.push({
        type: this.#buf[2]! >> 5,
        subsystem: this.#buf[2]! & 0x1f,
        id: this.#buf[3]!,
        data: Buffer.from(this.#buf.subarray(4, 4 + len)),
      });
      this.#buf = this.#buf.subarray(len + 5);
    }
    return frames;
  }
}
