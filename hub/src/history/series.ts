import type { HistoryRepo, SeriesRow } from '../store/history-repo.ts';

/** Capabilities that are running totals (meters); all other telemetry is a gauge. */
export const COUNTER_CAPABILITIES = new Set(['energy']);

/** How far back a late sample may be and still be kept (nudged to just after the newest). */
const MAX_REORDER_MS = 1000;

/**
 * Every series (device, capability) in memory: its id, watermarks and the time of its newest
 * stored sample. Loaded once at start; the history part is the only writer of these rows.
 */
export class SeriesIndex {
  readonly #repo: HistoryRepo;
  readonly #byKey = new Map<string, SeriesRow>();
  readonly #byId = new Map<number, SeriesRow>();
  readonly #lastT = new Map<number, number>();

  constructor(repo: HistoryRepo) {
    this.#repo = repo;
  }

  load(): void {
    this.#byKey.clear();
    this.#byId.clear();
    for (const s of this.#repo.allSeries()) this.#add(s);
    this.#lastT.clear();
    for (const [id, t] of this.#repo.packedThrough()) this.#lastT.set(id, t);
  }

  /** A sample of the series is stored at `t` (the journal replayed at start): later ones come after it. */
  noteStored(seriesId: number, t: number): void {
    if (t > (this.#lastT.get(seriesId) ?? -Infinity)) this.#lastT.set(seriesId, t);
  }

  /** The time of the series' newest stored sample (packed or journaled), if any. */
  lastStored(seriesId: number): number | undefined {
    return this.#lastT.get(seriesId);
  }

  get(deviceId: string, capability: string): SeriesRow | undefined {
    return this.#byKey.get(key(deviceId, capability));
  }

  byId(id: number): SeriesRow | undefined {
    return this.#byId.get(id);
  }

  all(): SeriesRow[] {
    return [...this.#byId.values()];
  }

  ensure(deviceId: string, capability: string): SeriesRow {
    const existing = this.get(deviceId, capability);
    if (existing) return existing;
    const counter = COUNTER_CAPABILITIES.has(capability);
    const id = this.#repo.insertSeries(deviceId, capability, counter);
    const row: SeriesRow = { id, deviceId, capability, counter, wmMinute: 0, wmHour: 0, wmDay: 0, prevCounter: null };
    this.#add(row);
    return row;
  }

  /**
   * The time to store a sample at, or undefined to drop it. Blocks need strictly increasing
   * times per series: two readings within the same millisecond (a burst) are kept 1 ms apart;
   * a reading more than a second older than the newest one (the clock stepped back) is dropped
   * rather than rewriting packed history.
   */
  advance(seriesId: number, t: number): number | undefined {
    const last = this.#lastT.get(seriesId);
    if (last !== undefined && t <= last) {
      if (last - t >= MAX_REORDER_MS) return undefined;
      t = last + 1;
    }
    this.#lastT.set(seriesId, t);
    return t;
  }

  /** The device's series, dropped from memory (their rows are being purged). */
  forgetDevice(deviceId: string): SeriesRow[] {
    const rows = this.all().filter((s) => s.deviceId === deviceId);
    for (const row of rows) {
      this.#byKey.delete(key(row.deviceId, row.capability));
      this.#byId.delete(row.id);
      this.#lastT.delete(row.id);
    }
    return rows;
  }

  #add(row: SeriesRow): void {
    this.#byKey.set(key(row.deviceId, row.capability), row);
    this.#byId.set(row.id, row);
  }
}

function key(deviceId: string, capability: string): string {
  return `${deviceId}\u0000${capability}`;
}
