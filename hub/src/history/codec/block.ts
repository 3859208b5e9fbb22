import { BitReader, BitWriter } from './bits.ts';
import { decimalScale, pow10, UNSCALED } from './decimals.ts';

/**
 * One compressed block: rows of (time, column values...) for one series, after Facebook's Gorilla
 * (VLDB 2015, section 4.1): timestamps as delta-of-delta with variable-width buckets, values as
 * XOR with the previous value, storing only the meaningful bits. Raw samples have one column
 * (the value); rollup buckets have several (count, sum, min, max, last, increase).
 *
 * Layout, bit-packed, most significant bit first:
 *   version:8 columns:8 count:32 firstTime:53 (as hi:21 lo:32) scale:4 per column
 *   then per row: timestamp delta-of-delta, then each column's XOR code.
 * A column whose values are all decimal (see decimals.ts) is stored as scaled integers.
 */
const VERSION = 1;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Little-endian hosts (arm64, x64) keep the low word first.
const LO = 0;
const HI = 1;

export interface DecodedBlock {
  times: Float64Array;
  columns: Float64Array[];
}

export function encodeBlock(times: ArrayLike<number>, columns: ArrayLike<number>[]): Uint8Array {
  const count = times.length;
  const w = new BitWriter(64 + count * (2 + columns.length * 2));
  w.write(VERSION, 8);
  w.write(columns.length, 8);
  w.write(count, 32);
  const first = count > 0 ? times[0]! : 0;
  w.write(Math.floor(first / 2 ** 32), 21);
  w.write(first >>> 0, 32);
  const scales = columns.map((c) => decimalScale(c));
  for (const s of scales) w.write(s, 4);

  const xors = columns.map(() => ({ hi: 0, lo: 0, lead: -1, trail: 0 }));
  let prevT = first;
  let prevDelta = 0;
  for (let i = 0; i < count; i++) {
    const t = times[i]!;
    if (i > 0) {
      const delta = t - prevT;
      writeDod(w, delta - prevDelta);
      prevDelta = delta;
      prevT = t;
    }
    for (let c = 0; c < columns.length; c++) {
      const scale = scales[c]!;
      const raw = columns[c]![i]!;
      f64[0] = scale === UNSCALED ? raw : Math.round(raw * pow10(scale));
      writeXor(w, xors[c]!, u32[HI]!, u32[LO]!, i === 0);
    }
  }
  return w.finish();
}

/**
 * Reusable decode buffers. Queries decode tens of blocks each; fresh typed arrays every time
 * are external memory that triggers full garbage collections (tens of ms) every few queries.
 */
export class DecodeScratch {
  times = new Float64Array(0);
  columns: Float64Array[] = [];

  fit(count: number, ncols: number): void {
    if (this.times.length < count) {
      const size = Math.max(count, this.times.length * 2, 1024);
      this.times = new Float64Array(size);
      this.columns = [];
    }
    while (this.columns.length < ncols) this.columns.push(new Float64Array(this.times.length));
  }
}

/**
 * Decodes a block. With `scratch`, the result views the scratch buffers and is valid only until
 * the next decode with the same scratch.
 */
export function decodeBlock(buf: Uint8Array, scratch?: DecodeScratch): DecodedBlock {
  const r = new BitReader(buf);
  const version = r.read(8);
  if (version !== VERSION) throw new RangeError(`unknown block version ${version}`);
  const ncols = r.read(8);
  const count = r.read(32);
  const first = r.read(21) * 2 ** 32 + r.read(32);
  const scales: number[] = [];
  for (let c = 0; c < ncols; c++) scales.push(r.read(4));

  let times: Float64Array;
  let columns: Float64Array[];
  if (scratch) {
    scratch.fit(count, ncols);
    times = scratch.times.subarray(0, count);
    columns = scales.map((_, c) => scratch.columns[c]!.subarray(0, count));
  } else {
    times = new Float64Array(count);
    columns = scales.map(() => new Float64Array(count));
  }
  const state = scales.map(() => ({ hi: 0, lo: 0, lead: 0, trail: 0 }));
  let t = first;
  let delta = 0;
  for (let i = 0; i < count; i++) {
    if (i > 0) {
      delta += readDod(r);
      t += delta;
    }
    times[i] = t;
    for (let c = 0; c < ncols; c++) {
      const s = state[c]!;
      readXor(r, s, i === 0);
      u32[HI] = s.hi;
      u32[LO] = s.lo;
      const scale = scales[c]!;
      columns[c]![i] = scale === UNSCALED ? f64[0]! : f64[0]! / pow10(scale);
    }
  }
  return { times, columns };
}

// ---- timestamps: delta-of-delta in buckets sized for a regular 1 Hz stream with jitter -------

function writeDod(w: BitWriter, dod: number): void {
  if (dod === 0) {
    w.writeBit(0);
  } else if (dod >= -63 && dod <= 64) {
    w.write(0b10, 2);
    w.write(dod + 63, 7);
  } else if (dod >= -255 && dod <= 256) {
    w.write(0b110, 3);
    w.write(dod + 255, 9);
  } else if (dod >= -2047 && dod <= 2048) {
    w.write(0b1110, 4);
    w.write(dod + 2047, 12);
  } else if (dod >= -(2 ** 31) && dod < 2 ** 31) {
    w.write(0b11110, 5);
    w.write(dod >>> 0, 32);
  } else {
    // Gaps of weeks in the coarse tiers: sign and 52-bit magnitude.
    w.write(0b11111, 5);
    const mag = Math.abs(dod);
    w.write(dod < 0 ? 1 : 0, 1);
    w.write(Math.floor(mag / 2 ** 32), 20);
    w.write(mag >>> 0, 32);
  }
}

function readDod(r: BitReader): number {
  if (r.readBit() === 0) return 0;
  if (r.readBit() === 0) return r.read(7) - 63;
  if (r.readBit() === 0) return r.read(9) - 255;
  if (r.readBit() === 0) return r.read(12) - 2047;
  if (r.readBit() === 0) return r.read(32) | 0;
  const negative = r.readBit() === 1;
  const mag = r.read(20) * 2 ** 32 + r.read(32);
  return negative ? -mag : mag;
}

// ---- values: XOR with the previous value, meaningful bits only ------------------------------

interface XorState {
  hi: number;
  lo: number;
  lead: number;
  trail: number;
}

function clz64(hi: number, lo: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

function ctz64(hi: number, lo: number): number {
  return lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
}

/** hi:lo >>> n for 0 <= n < 64, as [hi, lo]. */
function shr64(hi: number, lo: number, n: number): [number, number] {
  if (n === 0) return [hi, lo];
  if (n >= 32) return [0, hi >>> (n - 32)];
  return [hi >>> n, ((lo >>> n) | (hi << (32 - n))) >>> 0];
}

function writeXor(w: BitWriter, s: XorState, hi: number, lo: number, first: boolean): void {
  if (first) {
    w.write64(hi, lo, 64);
    s.hi = hi;
    s.lo = lo;
    s.lead = -1;
    return;
  }
  const xh = (hi ^ s.hi) >>> 0;
  const xl = (lo ^ s.lo) >>> 0;
  s.hi = hi;
  s.lo = lo;
  if (xh === 0 && xl === 0) {
    w.writeBit(0);
    return;
  }
  w.writeBit(1);
  let lead = clz64(xh, xl);
  const trail = ctz64(xh, xl);
  if (lead > 31) lead = 31; // 5 bits
  if (s.lead >= 0 && lead >= s.lead && trail >= s.trail) {
    // Fits the previous window: reuse its position, send only the bits inside it.
    w.writeBit(0);
    const [mh, ml] = shr64(xh, xl, s.trail);
    w.write64(mh, ml, 64 - s.lead - s.trail);
    return;
  }
  w.writeBit(1);
  const meaningful = 64 - lead - trail;
  w.write(lead, 5);
  w.write(meaningful - 1, 6);
  const [mh, ml] = shr64(xh, xl, trail);
  w.write64(mh, ml, meaningful);
  s.lead = lead;
  s.trail = trail;
}

function readXor(r: BitReader, s: XorState, first: boolean): void {
  if (first) {
    s.hi = r.read(32);
    s.lo = r.read(32);
    return;
  }
  if (r.readBit() === 0) return;
  if (r.readBit() === 1) {
    s.lead = r.read(5);
    const meaningful = r.read(6) + 1;
    s.trail = 64 - s.lead - meaningful;
  }
  const trail = s.trail;
  const n = 64 - s.lead - trail;
  const mh = n > 32 ? r.read(n - 32) : 0;
  const ml = r.read(Math.min(n, 32));
  // (mh:ml) << trail, inline: this runs once per value decoded.
  let xh: number;
  let xl: number;
  if (trail === 0) {
    xh = mh;
    xl = ml;
  } else if (trail >= 32) {
    xh = ml << (trail - 32);
    xl = 0;
  } else {
    xh = (mh << trail) | (ml >>> (32 - trail));
    xl = ml << trail;
  }
  s.hi = (s.hi ^ xh) >>> 0;
  s.lo = (s.lo ^ xl) >>> 0;
}
