import type Database from 'better-sqlite3';
import type { Db } from './db.ts';

/** SQL of the history tables (migration 4). The history part decides what to do; this stores. */
export interface SeriesRow {
  id: number;
  deviceId: string;
  capability: string;
  counter: boolean;
  /** Raw samples before this time are rolled into minute buckets (exclusive bound). */
  wmMinute: number;
  wmHour: number;
  wmDay: number;
  prevCounter: number | null;
}

export interface BucketRow {
  t: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  inc: number;
}

export interface BlockRow {
  t0: number;
  t1: number;
  count: number;
  data: Uint8Array;
}

export interface EventRow {
  id: number;
  at: number;
  deviceId: string;
  kind: 'state' | 'availability' | 'command';
  capability: string | null;
  value: unknown;
  previous: unknown;
  actor: unknown;
  outcome: string | null;
}

export type NewEvent = Omit<EventRow, 'id'>;

export interface EventFilter {
  deviceId?: string | undefined;
  kind?: string | undefined;
  capability?: string | undefined;
  from: number;
  to: number;
  before?: number | undefined;
  limit: number;
}

const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));
const parse = (v: string | null): unknown => (v === null ? null : JSON.parse(v));

export class HistoryRepo {
  readonly db: Db;
  readonly #insertEvent: Database.Statement;
  readonly #openBuckets: Database.Statement;
  readonly #blocks: Database.Statement;

  constructor(db: Db) {
    this.db = db;
    this.#insertEvent = db.prepare(
      'INSERT INTO history_events (at, device_id, kind, capability, value, previous, actor, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#openBuckets = db.prepare(
      'SELECT t, count, sum, min, max, last, inc FROM history_open_buckets WHERE series_id = ? AND tier = ? AND t >= ? AND t < ? ORDER BY t',
    );
    this.#blocks = db.prepare(
      'SELECT t0, t1, count, data FROM history_blocks WHERE series_id = ? AND tier = ? AND t0 >= ? AND t0 < ? AND t1 >= ? ORDER BY t0',
    );
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // ---- series ---------------------------------------------------------------------------------

  allSeries(): SeriesRow[] {
    const rows = this.db.prepare('SELECT * FROM history_series ORDER BY id').all() as {
      id: number;
      device_id: string;
      capability: string;
      counter: number;
      wm_minute: number;
      wm_hour: number;
      wm_day: number;
      prev_counter: number | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      deviceId: r.device_id,
      capability: r.capability,
      counter: r.counter === 1,
      wmMinute: r.wm_minute,
      wmHour: r.wm_hour,
      wmDay: r.wm_day,
      prevCounter: r.prev_counter,
    }));
  }

  insertSeries(deviceId: string, capability: string, counter: boolean): number {
    const r = this.db
      .prepare('INSERT INTO history_series (device_id, capability, counter) VALUES (?, ?, ?)')
      .run(deviceId, capability, counter ? 1 : 0);
    return Number(r.lastInsertRowid);
  }

  saveWatermarks(s: SeriesRow): void {
    this.db
      .prepare('UPDATE history_series SET wm_minute = ?, wm_hour = ?, wm_day = ?, prev_counter = ? WHERE id = ?')
      .run(s.wmMinute, s.wmHour, s.wmDay, s.prevCounter, s.id);
  }

  /** Per series, the newest sample in its raw blocks: everything up to it is packed. */
  packedThrough(): Map<number, number> {
    const rows = this.db
      .prepare('SELECT series_id AS s, max(t1) AS t FROM history_blocks WHERE tier = 0 GROUP BY series_id')
      .all() as { s: number; t: number }[];
    return new Map(rows.map((r) => [r.s, r.t]));
  }

  // ---- ingest ---------------------------------------------------------------------------------

  insertEvent(e: NewEvent): void {
    this.#insertEvent.run(
      e.at,
      e.deviceId,
      e.kind,
      e.capability,
      json(e.value),
      json(e.previous),
      json(e.actor),
      e.outcome,
    );
  }

  // ---- the journal of the open raw tail (history/journal.ts) ----------------------------------

  appendJournal(samples: number, data: Uint8Array): number {
    return Number(
      this.db.prepare('INSERT INTO history_journal (samples, data) VALUES (?, ?)').run(samples, data).lastInsertRowid,
    );
  }

  /** Every row, oldest first, read one at a time. */
  *journalRows(): Generator<{ seq: number; data: Uint8Array }> {
    for (const r of this.db.prepare('SELECT seq, data FROM history_journal ORDER BY seq').iterate())
      yield r as { seq: number; data: Uint8Array };
  }

  journalRow(seq: number): { seq: number; data: Uint8Array } | undefined {
    return this.db.prepare('SELECT seq, data FROM history_journal WHERE seq = ?').get(seq) as
      | { seq: number; data: Uint8Array }
      | undefined;
  }

  rewriteJournal(seq: number, samples: number, data: Uint8Array): void {
    this.db.prepare('UPDATE history_journal SET samples = ?, data = ? WHERE seq = ?').run(samples, data, seq);
  }

  deleteJournal(seq: number): void {
    this.db.prepare('DELETE FROM history_journal WHERE seq = ?').run(seq);
  }

  /** Open raw rows of versions before the journal (moved into it once, at start). */
  legacyOpenSamples(): { seriesId: number; times: number[]; values: number[] }[] {
    const out = new Map<number, { seriesId: number; times: number[]; values: number[] }>();
    for (const r of this.db
      .prepare('SELECT series_id, t, v FROM history_open ORDER BY series_id, t')
      .raw()
      .iterate() as Iterable<[number, number, number]>) {
      let e = out.get(r[0]);
      if (!e) out.set(r[0], (e = { seriesId: r[0], times: [], values: [] }));
      e.times.push(r[1]);
      e.values.push(r[2]);
    }
    return [...out.values()];
  }

  deleteLegacyOpenSamples(): void {
    this.db.prepare('DELETE FROM history_open').run();
  }

  // ---- open rollup buckets --------------------------------------------------------------------

  openBuckets(seriesId: number, tier: number, from: number, to: number): BucketRow[] {
    return this.#openBuckets.all(seriesId, tier, from, to) as BucketRow[];
  }

  insertBuckets(seriesId: number, tier: number, rows: BucketRow[]): void {
    const stmt = this.db.prepare(
      'INSERT OR REPLACE INTO history_open_buckets (series_id, tier, t, count, sum, min, max, last, inc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    for (const b of rows) stmt.run(seriesId, tier, b.t, b.count, b.sum, b.min, b.max, b.last, b.inc);
  }

  oldestOpenBucket(seriesId: number, tier: number): number | undefined {
    const r = this.db
      .prepare('SELECT min(t) AS t FROM history_open_buckets WHERE series_id = ? AND tier = ?')
      .get(seriesId, tier) as { t: number | null };
    return r.t ?? undefined;
  }

  deleteOpenBuckets(seriesId: number, tier: number, from: number, to: number): number {
    return this.db
      .prepare('DELETE FROM history_open_buckets WHERE series_id = ? AND tier = ? AND t >= ? AND t < ?')
      .run(seriesId, tier, from, to).changes;
  }

  // ---- blocks ---------------------------------------------------------------------------------

  getBlock(seriesId: number, tier: number, t0: number): BlockRow | undefined {
    return this.db
      .prepare('SELECT t0, t1, count, data FROM history_blocks WHERE series_id = ? AND tier = ? AND t0 = ?')
      .get(seriesId, tier, t0) as BlockRow | undefined;
  }

  putBlock(seriesId: number, tier: number, block: BlockRow): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO history_blocks (series_id, tier, t0, t1, count, bytes, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(seriesId, tier, block.t0, block.t1, block.count, block.data.length, block.data);
  }

  /** Blocks overlapping [from, to); `span` bounds how far before `from` a block may start. */
  blocks(seriesId: number, tier: number, from: number, to: number, span: number): BlockRow[] {
    return this.#blocks.all(seriesId, tier, from - span, to, from) as BlockRow[];
  }

  /**
   * The oldest time held in a tier for one series, blocks or open rows; for raw samples the
   * blocks only (the open raw tail is in memory, history/open-tail.ts).
   */
  oldest(seriesId: number, tier: number): number | undefined {
    const b = this.db
      .prepare('SELECT min(t0) AS t FROM history_blocks WHERE series_id = ? AND tier = ?')
      .get(seriesId, tier) as { t: number | null };
    const o = tier === 0 ? undefined : this.oldestOpenBucket(seriesId, tier);
    const candidates = [b.t ?? undefined, o].filter((x): x is number => x !== undefined);
    return candidates.length ? Math.min(...candidates) : undefined;
  }

  /** Start of a tier's oldest block: found through the age index, reading one row only. */
  oldestInTier(tier: number): number | undefined {
    const r = this.db
      .prepare(
        'SELECT t0 FROM history_blocks WHERE rowid = (SELECT rowid FROM history_blocks INDEXED BY history_blocks_age WHERE tier = ? ORDER BY t1 LIMIT 1)',
      )
      .get(tier) as { t0: number } | undefined;
    return r?.t0;
  }

  /** Deletes up to `limit` blocks of a tier that end before `cutoff`, oldest first. */
  deleteBlocksBefore(tier: number, cutoff: number, limit: number): number {
    return this.db
      .prepare(
        'DELETE FROM history_blocks WHERE rowid IN (SELECT rowid FROM history_blocks WHERE tier = ? AND t1 < ? ORDER BY t1 LIMIT ?)',
      )
      .run(tier, cutoff, limit).changes;
  }

  deleteOpenBucketsBefore(tier: number, cutoff: number, limit: number): number {
    return this.db
      .prepare(
        'DELETE FROM history_open_buckets WHERE (series_id, tier, t) IN (SELECT series_id, tier, t FROM history_open_buckets WHERE tier = ? AND t < ? LIMIT ?)',
      )
      .run(tier, cutoff, limit).changes;
  }

  // ---- sizes ----------------------------------------------------------------------------------

  tierSizes(): { tier: number; blocks: number; bytes: number; rows: number }[] {
    return this.db
      .prepare(
        'SELECT tier, count(*) AS blocks, sum(bytes) AS bytes, 0 AS rows FROM history_blocks INDEXED BY history_blocks_age GROUP BY tier',
      )
      .all() as { tier: number; blocks: number; bytes: number; rows: number }[];
  }

  /** Block bytes per series, all of it and of blocks ending at or after `since`. */
  seriesBytes(since: number): { seriesId: number; bytes: number; recent: number }[] {
    return this.db
      .prepare(
        'SELECT series_id AS seriesId, sum(bytes) AS bytes, sum(CASE WHEN t1 >= ? THEN bytes ELSE ' +
          '0 END) AS recent FROM history_blocks INDEXED BY history_blocks_age GROUP BY series_id',
      )
      .all(since) as { seriesId: number; bytes: number; recent: number }[];
  }

  /** Open rollup rows and events (the open raw samples are counted in memory). */
  openCounts(): { buckets: number; events: number } {
    const buckets = (this.db.prepare('SELECT count(*) AS n FROM history_open_buckets').get() as { n: number }).n;
    const events = (this.db.prepare('SELECT count(*) AS n FROM history_events').get() as { n: number }).n;
    return { buckets, events };
  }

  logSize(day: number, bytes: number): void {
    this.db.prepare('INSERT OR REPLACE INTO history_size_log (day, bytes) VALUES (?, ?)').run(day, bytes);
  }

  sizeLog(since: number): { day: number; bytes: number }[] {
    return this.db.prepare('SELECT day, bytes FROM history_size_log WHERE day >= ? ORDER BY day').all(since) as {
      day: number;
      bytes: number;
    }[];
  }

  // ---- events ---------------------------------------------------------------------------------

  /** Newest first, paged backwards by id. */
  events(f: EventFilter): EventRow[] {
    const where = ['at >= ?', 'at < ?'];
    const args: unknown[] = [f.from, f.to];
    if (f.before !== undefined) {
      where.push('id < ?');
      args.push(f.before);
    }
    if (f.deviceId !== undefined) {
      where.push('device_id = ?');
      args.push(f.deviceId);
    }
    if (f.kind !== undefined) {
      where.push('kind = ?');
      args.push(f.kind);
    }
    if (f.capability !== undefined) {
      where.push('capability = ?');
      args.push(f.capability);
    }
    const rows = this.db
      .prepare(`SELECT * FROM history_events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`)
      .all(...args, f.limit) as {
      id: number;
      at: number;
      device_id: string;
      kind: EventRow['kind'];
      capability: string | null;
      value: string | null;
      previous: string | null;
      actor: string | null;
      outcome: string | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      deviceId: r.device_id,
      kind: r.kind,
      capability: r.capability,
      value: parse(r.value),
      previous: parse(r.previous),
      actor: parse(r.actor),
      outcome: r.outcome,
    }));
  }

  deleteEventsBefore(cutoff: number, limit: number): number {
    return this.db
      .prepare(
        'DELETE FROM history_events WHERE id IN (SELECT id FROM history_events WHERE at < ? ORDER BY at LIMIT ?)',
      )
      .run(cutoff, limit).changes;
  }

  // ---- purge of a removed device (history/purge.ts), a chunk per call --------------------

  /** Deletes up to `limit` rows of each table holding the series' data. */
  deleteSeriesChunk(seriesId: number, limit: number): { blocks: number; buckets: number } {
    const blocks = this.db
      .prepare(
        'DELETE FROM history_blocks WHERE rowid IN (SELECT rowid FROM history_blocks WHERE series_id = ? LIMIT ?)',
      )
      .run(seriesId, limit).changes;
    const buckets = this.db
      .prepare(
        'DELETE FROM history_open_buckets WHERE (series_id, tier, t) IN (SELECT series_id, tier, t FROM history_open_buckets WHERE series_id = ? LIMIT ?)',
      )
      .run(seriesId, limit).changes;
    return { blocks, buckets };
  }

  deleteSeries(seriesId: number): void {
    this.db.prepare('DELETE FROM history_series WHERE id = ?').run(seriesId);
  }

  deleteDeviceEvents(deviceId: string, limit: number): number {
    return this.db
      .prepare('DELETE FROM history_events WHERE id IN (SELECT id FROM history_events WHERE device_id = ? LIMIT ?)')
      .run(deviceId, limit).changes;
  }
}
