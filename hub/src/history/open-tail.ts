/**
 * The open raw tail of every series in memory: the samples not yet packed into a raw block
 * (at most about one block window, an hour, per series). On disk they are only in the journal
 * (journal.ts), a few compressed bytes per sample written once in order; keeping them here
 * instead of as one row per sample in a table clustered by series is what stops every flush from
 * rewriting one page per series (docs/writes.md).
 *
 * Per series, one segment per block window, samples in time order (SeriesIndex.advance keeps
 * them strictly increasing). Times are stored as offsets into the window (Uint32) and values as
 * float64: 12 bytes a sample, in arrays grown by doubling.
 */
const INITIAL_CAPACITY = 64;
export const TAIL_BYTES_PER_SAMPLE = 12;

interface Segment {
  /** Start of the block window. */
  w0: number;
  offsets: Uint32Array;
  values: Float64Array;
  n: number;
}

export class OpenTail {
  readonly #blockMs: number;
  readonly #bySeries = new Map<number, Segment[]>();
  #count = 0;
  #bytes = 0;

  constructor(blockMs: number) {
    if (blockMs > 2 ** 32) throw new Error('a raw block window must fit 32-bit offsets');
    this.#blockMs = blockMs;
  }

  /** Samples held. */
  get count(): number {
    return this.#count;
  }

  /** Bytes the arrays take (their capacity, not just the samples): what the cap is checked on. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Appends a sample; `t` must be later than the series' last one. */
  append(seriesId: number, t: number, v: number): void {
    let segs = this.#bySeries.get(seriesId);
    if (!segs) this.#bySeries.set(seriesId, (segs = []));
    const w0 = Math.floor(t / this.#blockMs) * this.#blockMs;
    let seg = segs[segs.length - 1];
    if (!seg || seg.w0 !== w0) {
      seg = { w0, offsets: new Uint32Array(INITIAL_CAPACITY), values: new Float64Array(INITIAL_CAPACITY), n: 0 };
      this.#bytes += INITIAL_CAPACITY * TAIL_BYTES_PER_SAMPLE;
      segs.push(seg);
    }
    if (seg.n === seg.offsets.length) {
      const offsets = new Uint32Array(seg.n * 2);
      offsets.set(seg.offsets);
      const values = new Float64Array(seg.n * 2);
      values.set(seg.values);
      this.#bytes += seg.n * TAIL_BYTES_PER_SAMPLE;
      seg.offsets = offsets;
      seg.values = values;
    }
    seg.offsets[seg.n] = t - w0;
    seg.values[seg.n] = v;
    seg.n++;
    this.#count++;
  }

  /** Samples in [from, to), oldest first. */
  samples(seriesId: number, from: number, to: number): { times: number[]; values: number[] } {
    const times: number[] = [];
    const values: number[] = [];
    for (const seg of this.#bySeries.get(seriesId) ?? []) {
      if (seg.w0 + this.#blockMs <= from || seg.w0 >= to) continue;
      for (let i = lowerBound(seg, from - seg.w0); i < seg.n; i++) {
        const t = seg.w0 + seg.offsets[i]!;
        if (t >= to) break;
        times.push(t);
        values.push(seg.values[i]!);
      }
    }
    return { times, values };
  }

  oldest(seriesId: number): number | undefined {
    const seg = this.#bySeries.get(seriesId)?.[0];
    return seg ? seg.w0 + seg.offsets[0]! : undefined;
  }

  newest(seriesId: number): number | undefined {
    const segs = this.#bySeries.get(seriesId);
    const seg = segs?.[segs.length - 1];
    return seg ? seg.w0 + seg.offsets[seg.n - 1]! : undefined;
  }

  /**
   * The newest sample of a series and since when its value has been the same (the first sample
   * of the trailing run of equal values, as far back as the tail holds): the registry's latest
   * reading and the time it last changed, rebuilt at start (docs/writes.md).
   */
  last(seriesId: number): { t: number; value: number; since: number } | undefined {
    const segs = this.#bySeries.get(seriesId);
    const seg = segs?.[segs.length - 1];
    if (!segs || !seg || seg.n === 0) return undefined;
    const value = seg.values[seg.n - 1]!;
    const t = seg.w0 + seg.offsets[seg.n - 1]!;
    let since = t;
    for (let k = segs.length - 1; k >= 0; k--) {
      const s = segs[k]!;
      let i = s.n - 1;
      while (i >= 0 && s.values[i] === value) since = s.w0 + s.offsets[i--]!;
      if (i >= 0) break;
    }
    return { t, value, since };
  }

  /** Series holding samples. */
  seriesIds(): number[] {
    return [...this.#bySeries.keys()];
  }

  /** Samples of one series held (for the cap: the largest series is packed early). */
  countOf(seriesId: number): number {
    let n = 0;
    for (const seg of this.#bySeries.get(seriesId) ?? []) n += seg.n;
    return n;
  }

  /** Drops the samples of one series before `to` (packed into a block). Returns how many. */
  dropBefore(seriesId: number, to: number): number {
    const segs = this.#bySeries.get(seriesId);
    if (!segs) return 0;
    let dropped = 0;
    while (segs.length > 0) {
      const seg = segs[0]!;
      if (seg.w0 >= to) break;
      const k = lowerBound(seg, to - seg.w0);
      if (k < seg.n) {
        // Only part of the window: keep the rest, in fresh arrays sized to it.
        const rest = seg.n - k;
        const cap = Math.max(INITIAL_CAPACITY, rest);
        this.#bytes += (cap - seg.offsets.length) * TAIL_BYTES_PER_SAMPLE;
        const offsets = new Uint32Array(cap);
        offsets.set(seg.offsets.subarray(k, seg.n));
        const values = new Float64Array(cap);
        values.set(seg.values.subarray(k, seg.n));
        seg.offsets = offsets;
        seg.values = values;
        seg.n = rest;
        dropped += k;
        break;
      }
      dropped += seg.n;
      this.#bytes -= seg.offsets.length * TAIL_BYTES_PER_SAMPLE;
      segs.shift();
    }
    if (segs.length === 0) this.#bySeries.delete(seriesId);
    this.#count -= dropped;
    return dropped;
  }

  /** Puts back samples taken out by dropBefore (a packing transaction failed): all older than those held. */
  restore(seriesId: number, times: ArrayLike<number>, values: ArrayLike<number>): void {
    const rest = this.samples(seriesId, -Infinity, Infinity);
    this.forget(seriesId);
    for (let i = 0; i < times.length; i++) this.append(seriesId, times[i]!, values[i]!);
    for (let i = 0; i < rest.times.length; i++) this.append(seriesId, rest.times[i]!, rest.values[i]!);
  }

  /** Forgets a series (its device was removed). Returns the samples dropped. */
  forget(seriesId: number): number {
    return this.dropBefore(seriesId, Infinity);
  }
}

/** First index whose offset is ≥ `offset`. */
function lowerBound(seg: Segment, offset: number): number {
  if (offset <= 0) return 0;
  let lo = 0;
  let hi = seg.n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seg.offsets[mid]! < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
