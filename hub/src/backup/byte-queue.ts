/** Bytes received in pieces, taken out in frames of known size without re-copying everything. */
export class ByteQueue {
  #parts: Buffer[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.#parts.push(b);
    this.#length += b.length;
  }

  /** The first `n` bytes without removing them (n <= length). */
  peek(n: number): Buffer {
    if (this.#parts[0] && this.#parts[0].length >= n) return this.#parts[0].subarray(0, n);
    const joined = Buffer.concat(this.#parts);
    this.#parts = [joined];
    return joined.subarray(0, n);
  }

  /** Removes and returns the first `n` bytes (n <= length). */
  take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const head = this.#parts[0]!;
      const want = n - filled;
      if (head.length <= want) {
        head.copy(out, filled);
        filled += head.length;
        this.#parts.shift();
      } else {
        head.copy(out, filled, 0, want);
        this.#parts[0] = head.subarray(want);
        filled += want;
      }
    }
    this.#length -= n;
    return out;
  }
}
