/**
 * Meters report decimal readings (230.1 V, 0.452 A). As doubles those have noisy low mantissa
 * bits, which defeats XOR compression; scaled to integers (2301, 452) they have long runs of
 * trailing zero bits and compress to a few bits per sample. `decimalScale` finds the smallest
 * power of ten that makes every value an exact integer whose division restores the value
 * bit-for-bit, so scaling is lossless; values that have no such scale are stored as they are.
 */
export const MAX_DECIMALS = 6;
/** Marks a column stored unscaled. */
export const UNSCALED = 15;

const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];

export function decimalsOf(v: number): number {
  for (let k = 0; k <= MAX_DECIMALS; k++) {
    const p = POW10[k]!;
    const n = Math.round(v * p);
    if (n / p === v && Math.abs(n) <= Number.MAX_SAFE_INTEGER) return k;
  }
  return UNSCALED;
}

/** The scale for a whole column: the largest of its values' decimals, or UNSCALED. */
export function decimalScale(values: ArrayLike<number>): number {
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // Checking the current scale first is the fast path: most values share it.
    const p = POW10[k]!;
    const n = Math.round(v * p);
    if (n / p === v) continue;
    const d = decimalsOf(v);
    if (d === UNSCALED) return UNSCALED;
    if (d > k) k = d;
  }
  // A higher scale found late must still restore the earlier values exactly.
  if (k > 0) {
    const p = POW10[k]!;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (Math.round(v * p) / p !== v) return UNSCALED;
    }
  }
  return k;
}

export function pow10(k: number): number {
  return POW10[k]!;
}

/**
 * Rounds a sum of values that each had at most `decimals` decimals back onto that grid: the exact
 * sum lies on it, so this removes only floating-point error (0.1 + 0.2), making sums exact.
 */
export function roundTo(v: number, decimals: number): number {
  if (decimals === UNSCALED) return v;
  const p = POW10[decimals]!;
  return Math.round(v * p) / p;
}
