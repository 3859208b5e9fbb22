import type { HistoryRepo } from '../store/history-repo.ts';
import { decodeBlock, encodeBlock } from './codec/block.ts';
import type { OpenTail } from './open-tail.ts';
import type { SeriesIndex } from './series.ts';

/**
 * The journal of the open raw tail (docs/writes.md): each ingest flush appends ONE row to
 * `history_journal` holding the whole batch, every series' samples compressed with the block
 * codec. Rows are appended in order and written once, so a flush costs the compressed bytes plus
 * a page or two, however many series it holds (one row per sample in a table clustered by series
 * cost one page per series per flush). The samples live in memory (open-tail.ts) until their
 * hourly raw block is written; at start the journal is replayed into memory, so a kill -9 loses
 * only the batch not yet flushed. A row is deleted once every sample in it is in a raw block.
 *
 * Row layout: version:u8, series count:varint, then per series: series id:varint, block
 * length:varint, block (codec/block.ts, one column).
 */
const VERSION = 1;

export interface JournalEntry {
  seriesId: number;
  times: ArrayLike<number>;
  values: ArrayLike<number>;
}

interface RowInfo {
  seq: number;
  /** Per series in the row, its newest sample there. */
  newest: Map<number, number>;
}

export class HistoryJournal {
  readonly #repo: HistoryRepo;
  readonly #rows: RowInfo[] = [];
  /** Per series, the newest sample in a raw block: samples up to it are packed. */
  readonly #packedThrough = new Map<number, number>();

  constructor(repo: HistoryRepo) {
    this.#repo = repo;
  }

  /** Rows on disk (for tests and the storage report). */
  get rows(): number {
    return this.#rows.length;
  }

  /**
   * Loads the journal into `tail`: every sample newer than its series' packed raw blocks, of a
   * series still known (a removed device's series is skipped). Samples from before the journal
   * existed (the table of open rows of older versions) are moved in too, as one journal row.
   */
  replay(series: SeriesIndex, tail: OpenTail): number {
    this.#rows.length = 0;
    this.#packedThrough.clear();
    for (const [id, t] of this.#repo.packedThrough()) this.#packedThrough.set(id, t);
    let replayed = 0;
    const add = (e: JournalEntry): boolean => {
      if (!series.byId(e.seriesId)) return false;
      let last = Math.max(this.#packedThrough.get(e.seriesId) ?? -Infinity, tail.newest(e.seriesId) ?? -Infinity);
      let any = false;
      for (let i = 0; i < e.times.length; i++) {
        const t = e.times[i]!;
        if (t <= last) continue;
        tail.append(e.seriesId, t, e.values[i]!);
        last = t;
        replayed++;
        any = true;
      }
      return any;
    };
    for (const row of this.#repo.journalRows()) {
      const info: RowInfo = { seq: row.seq, newest: new Map() };
      for (const e of decodeJournal(row.data)) {
        add(e);
        if (e.times.length > 0) info.newest.set(e.seriesId, e.times[e.times.length - 1]!);
      }
      this.#rows.push(info);
    }
    const legacy = this.#repo.legacyOpenSamples();
    if (legacy.length > 0) {
      const moved = legacy.filter((e) => series.byId(e.seriesId));
      this.#repo.transaction(() => {
        if (moved.length > 0) this.#append(moved);
        this.#repo.deleteLegacyOpenSamples();
      });
      for (const e of moved) add(e);
    }
    for (const id of tail.seriesIds()) series.noteStored(id, tail.newest(id)!);
    return replayed;
  }

  /** Appends one row holding `entries`; call inside the flush's transaction. */
  append(entries: JournalEntry[]): void {
    if (entries.length > 0) this.#append(entries);
  }

  #append(entries: JournalEntry[]): void {
    let samples = 0;
    const newest = new Map<number, number>();
    for (const e of entries) {
      samples += e.times.length;
      if (e.times.length > 0) newest.set(e.seriesId, e.times[e.times.length - 1]!);
    }
    const seq = this.#repo.appendJournal(samples, encodeJournal(entries));
    this.#rows.push({ seq, newest });
  }

  /** A raw block now holds the series' samples up to `t` (after its transaction committed). */
  markPacked(seriesId: number, t: number): void {
    if (t > (this.#packedThrough.get(seriesId) ?? -Infinity)) this.#packedThrough.set(seriesId, t);
  }

  /** The series is gone (its device was removed): its samples in the journal count as done. */
  forgetSeries(seriesId: number): void {
    this.#packedThrough.set(seriesId, Infinity);
  }

  /**
   * Rewrites the rows holding samples of `seriesId` without them: its device was removed, and a
   * series id freed by the purge may be given out again (INTEGER PRIMARY KEY reuses the largest),
   * so nothing of the old series may be replayed into a new one. Rare: a device removal.
   */
  dropSeries(seriesId: number): void {
    for (const info of this.#rows) {
      if (!info.newest.has(seriesId)) continue;
      const row = this.#repo.journalRow(info.seq);
      if (!row) continue;
      const kept = decodeJournal(row.data).filter((e) => e.seriesId !== seriesId);
      this.#repo.rewriteJournal(
        info.seq,
        kept.reduce((n, e) => n + e.times.length, 0),
        encodeJournal(kept),
      );
      info.newest.delete(seriesId);
    }
    this.#packedThrough.delete(seriesId);
  }

  /** Deletes the rows whose samples are all packed (or of removed series). Returns how many. */
  collect(): number {
    const done = this.#rows.filter((r) =>
      [...r.newest].every(([id, t]) => t <= (this.#packedThrough.get(id) ?? -Infinity)),
    );
    if (done.length === 0) return 0;
    this.#repo.transaction(() => {
      for (const r of done) this.#repo.deleteJournal(r.seq);
    });
    const gone = new Set(done);
    const keep = this.#rows.filter((r) => !gone.has(r));
    this.#rows.length = 0;
    this.#rows.push(...keep);
    return done.length;
  }
}

export function encodeJournal(entries: JournalEntry[]): Uint8Array {
  const blocks = entries.map((e) => encodeBlock(e.times, [e.values]));
  const parts: number[] = [VERSION];
  varint(parts, entries.length);
  let size = 0;
  const headers = entries.map((e, i) => {
    const h: number[] = [];
    varint(h, e.seriesId);
    varint(h, blocks[i]!.length);
    size += h.length + blocks[i]!.length;
    return h;
  });
  const out = new Uint8Array(parts.length + size);
  out.set(parts, 0);
  let pos = parts.length;
  for (let i = 0; i < entries.length; i++) {
    out.set(headers[i]!, pos);
    pos += headers[i]!.length;
    out.set(blocks[i]!, pos);
    pos += blocks[i]!.length;
  }
  return out;
}

export function decodeJournal(data: Uint8Array): JournalEntry[] {
  if (data[0] !== VERSION) throw new Error(`unknown history journal row version ${data[0]}`);
  const r = { pos: 1 };
  const n = readVarint(data, r);
  const out: JournalEntry[] = [];
  for (let i = 0; i < n; i++) {
    const seriesId = readVarint(data, r);
    const len = readVarint(data, r);
    const d = decodeBlock(data.subarray(r.pos, r.pos + len));
    r.pos += len;
    out.push({ seriesId, times: d.times, values: d.columns[0]! });
  }
  return out;
}

function varint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function readVarint(data: Uint8Array, r: { pos: number }): number {
  let v = 0;
  let mul = 1;
  for (;;) {
    const b = data[r.pos++];
    if (b === undefined) throw new Error('truncated history journal row');
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v;
    mul *= 0x80;
  }
}
