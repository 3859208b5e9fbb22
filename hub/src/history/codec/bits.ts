/**
 * Bit-level writer and reader for the compressed blocks. Values are written most significant bit
 * first; numbers wider than 32 bits go through the `*64` variants as a (hi, lo) pair of unsigned
 * 32-bit halves, because JavaScript bit operators work on 32 bits.
 */
export class BitWriter {
  #buf: Uint8Array;
  #pos = 0; // in bits

  constructor(initialBytes = 256) {
    this.#buf = new Uint8Array(initialBytes);
  }

  get bitLength(): number {
    return this.#pos;
  }

  /** Writes the low `n` bits (0..32) of `value`. */
  write(value: number, n: number): void {
    if (n === 0) return;
    this.#ensure(n);
    let pos = this.#pos;
    let left = n;
    while (left > 0) {
      const byteIndex = pos >>> 3;
      const free = 8 - (pos & 7);
      const take = Math.min(free, left);
      // The `take` bits of `value` just below bit `left`.
      const bits = (value >>> (left - take)) & ((1 << take) - 1);
      this.#buf[byteIndex]! |= bits << (free - take);
      pos += take;
      left -= take;
    }
    this.#pos = pos;
  }

  writeBit(bit: 0 | 1): void {
    this.#ensure(1);
    if (bit) this.#buf[this.#pos >>> 3]! |= 0x80 >>> (this.#pos & 7);
    this.#pos++;
  }

  /** Writes the low `n` bits (0..64) of the 64-bit value hi:lo. */
  write64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      const high = n - 32;
      this.write(high === 32 ? hi : hi & ((1 << high) - 1), high);
      this.write(lo >>> 0, 32);
    } else {
      this.write(n === 32 ? lo : lo & ((1 << n) - 1), n);
    }
  }

  /** The written bytes (a copy trimmed to length). */
  finish(): Uint8Array {
    return this.#buf.slice(0, (this.#pos + 7) >>> 3);
  }

  #ensure(bits: number): void {
    const need = (this.#pos + bits + 7) >>> 3;
    if (need <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(need, this.#buf.length * 2));
    next.set(this.#buf);
    this.#buf = next;
  }
}

export class BitReader {
  readonly #buf: Uint8Array;
  #pos = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  /** Reads `n` (0..32) bits as an unsigned number. */
  read(n: number): number {
    const buf = this.#buf;
    const byteIndex = this.#pos >>> 3;
    // Fast path: the bits lie within the next four bytes (always, for n <= 25).
    if (n <= 25 && n > 0 && byteIndex + 3 < buf.length) {
      const word =
        (buf[byteIndex]! << 24) | (buf[byteIndex + 1]! << 16) | (buf[byteIndex + 2]! << 8) | buf[byteIndex + 3]!;
      const value = (word << (this.#pos & 7)) >>> (32 - n);
      this.#pos += n;
      return value;
    }
    // Wider reads split in two fast ones (the multiplication keeps the result unsigned).
    if (n > 25 && byteIndex + 7 < buf.length) return this.read(n - 16) * 65536 + this.read(16);
    return this.#readSlow(n);
  }

  #readSlow(n: number): number {
    let value = 0;
    let pos = this.#pos;
    let left = n;
    const buf = this.#buf;
    while (left > 0) {
      const byteIndex = pos >>> 3;
      if (byteIndex >= buf.length) throw new RangeError('block truncated');
      const avail = 8 - (pos & 7);
      const take = Math.min(avail, left);
      const bits = (buf[byteIndex]! >>> (avail - take)) & ((1 << take) - 1);
      // Multiplication, not <<, so 32-bit reads stay unsigned.
      value = value * (1 << take) + bits;
      pos += take;
      left -= take;
    }
    this.#pos = pos;
    return value;
  }

  readBit(): number {
    const pos = this.#pos;
    const byte = this.#buf[pos >>> 3];
    if (byte === undefined) throw new RangeError('block truncated');
    this.#pos = pos + 1;
    return (byte >>> (7 - (pos & 7))) & 1;
  }
}
