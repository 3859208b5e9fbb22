import { describe, expect, it } from 'vitest';
import { decodeBlock, encodeBlock } from '../../src/history/codec/block.ts';
import { decimalScale, UNSCALED } from '../../src/history/codec/decimals.ts';

/** A deterministic generator, so a failure reproduces. */
function lcg(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
}

describe('block codec (delta-of-delta times, XOR values)', () => {
  it('round-trips a noisy 1 Hz meter series bit for bit, in a few bytes per sample', () => {
    const rnd = lcg(7);
    const t0 = Date.UTC(2026, 0, 1);
    const times = Array.from({ length: 3600 }, (_, i) => t0 + i * 1000 + Math.floor(rnd() * 20));
    const power = times.map(() => Math.round((60 + rnd() * 4) * 10) / 10);
    const bytes = encodeBlock(times, [power]);
    const back = decodeBlock(bytes);
    expect(Array.from(back.times)).toEqual(times);
    expect(Array.from(back.columns[0]!)).toEqual(power);
    // A row per sample costs 20-40 bytes; the block must stay far below that.
    expect(bytes.length / times.length).toBeLessThan(4);
  });

  it('round-trips values without a decimal scale and every delta-of-delta width', () => {
    const values = [0, -0, 1e300, -1e-300, 5e-324, 123456789.123, Number.MAX_VALUE, -7, Math.PI, Math.PI, 2 ** 53 - 1];
    const times = [
      0,
      1,
      2 ** 40,
      2 ** 40 + 5,
      2 ** 45,
      2 ** 45 + 70,
      2 ** 45 + 400,
      2 ** 45 + 3000,
      2 ** 46,
      2 ** 52,
      2 ** 52 + 1,
    ];
    const back = decodeBlock(encodeBlock(times, [values]));
    expect(Array.from(back.times)).toEqual(times);
    back.columns[0]!.forEach((v, i) => expect(Object.is(v, values[i])).toBe(true));
  });

  it('round-trips several columns and an empty block', () => {
    const times = [1000, 61_000, 121_000];
    const columns = [
      [60, 60, 59],
      [3600.5, 3599.9, 3540.1],
      [0.001, 0.002, 0.003],
      [5, 5, 5],
    ];
    const back = decodeBlock(encodeBlock(times, columns));
    expect(back.columns.map((c) => Array.from(c))).toEqual(columns);
    expect(decodeBlock(encodeBlock([], [[]])).times.length).toBe(0);
  });

  it('finds the decimal scale only when it restores every value exactly', () => {
    expect(decimalScale([230.1, 229.9, 231])).toBe(1);
    expect(decimalScale([0.452, 1])).toBe(3);
    expect(decimalScale([0.1 + 0.2])).toBe(UNSCALED);
  });
});
