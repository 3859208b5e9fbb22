import type { HistoryRepo } from '../store/history-repo.ts';
import type { OpenTail } from './open-tail.ts';
import type { SeriesIndex } from './series.ts';
import { DAY, TIER_NAMES, type Tier, type TierName } from './tiers.ts';

/**
 * Bytes the history tables take, estimated from what is known without reading any blob: block
 * payload lengths (kept in a covering index) plus a per-row cost for rows and the open tails.
 * The per-row figures are SQLite's typical record and b-tree overhead for these schemas.
 */
const BLOCK_ROW_OVERHEAD = 60;
/** An open raw sample on disk is in the journal: a compressed batch, ~2-3 bytes a sample. */
const OPEN_SAMPLE_BYTES = 3;
const OPEN_BUCKET_BYTES = 72;
const EVENT_BYTES = 110;

/** Thinning for the budget never cuts a tier shorter than this (the tier after it keeps more). */
const THIN_KEEP_MS: Record<TierName, number> = { raw: DAY, minute: 2 * DAY, hour: 30 * DAY, day: 365 * DAY };
const THIN_CHUNK = 20;
/** Thinning starts at this share of the budget and stops below the lower one. */
export const THIN_HIGH = 0.95;
export const THIN_LOW = 0.9;

export interface OpenCounts {
  samples: number;
  buckets: number;
  events: number;
}

export interface StorageReport {
  bytes: number;
  budgetBytes: number;
  usedShare: number;
  tiers: { name: TierName; blocks: number; bytes: number; oldest: string | null }[];
  open: OpenCounts;
  growthPerDayBytes: number;
  /** When the budget will be reached at the current growth; null when it is not growing. */
  budgetReachedAt: string | null;
  devices: { deviceId: string; bytes: number; growthPerDayBytes: number }[];
}

/** How often today's size is written to the size log at most (besides at a new day). */
const SIZE_LOG_EVERY_MS = 3_600_000;

export class HistoryStorage {
  #loggedDay = -1;
  #loggedAt = -Infinity;
  readonly #repo: HistoryRepo;
  readonly #series: SeriesIndex;
  readonly #tail: OpenTail;
  readonly #tiers: Tier[];
  readonly budgetBytes: number;
  /** Kept current by ingest and maintenance, so sizes never need a full count. */
  readonly open: OpenCounts;

  constructor(repo: HistoryRepo, series: SeriesIndex, tail: OpenTail, tiers: Tier[], budgetBytes: number) {
    this.#repo = repo;
    this.#series = series;
    this.#tail = tail;
    this.#tiers = tiers;
    this.budgetBytes = budgetBytes;
    this.open = { samples: tail.count, ...repo.openCounts() };
  }

  bytes(): number {
    let bytes = 0;
    for (const t of this.#repo.tierSizes()) bytes += t.bytes + t.blocks * BLOCK_ROW_OVERHEAD;
    return (
      bytes +
      this.open.samples * OPEN_SAMPLE_BYTES +
      this.open.buckets * OPEN_BUCKET_BYTES +
      this.open.events * EVENT_BYTES
    );
  }

  /**
   * Records today's size, for growth figures (per day): written when the day changes and then at
   * most hourly, not at every budget check (every 10 s, a commit each: docs/writes.md).
   */
  logSize(now: number): number {
    const bytes = this.bytes();
    const day = Math.floor(now / DAY) * DAY;
    if (day !== this.#loggedDay || now - this.#loggedAt >= SIZE_LOG_EVERY_MS) {
      this.#repo.logSize(day, bytes);
      this.#loggedDay = day;
      this.#loggedAt = now;
    }
    return bytes;
  }

  /**
   * Over budget: deletes one chunk of the oldest blocks of the finest tier that can still give
   * something up (raw first, then minute, hour, day). Returns the blocks deleted; 0 when under
   * the budget or when nothing may go.
   */
  thin(now: number, bytes: number, high = THIN_HIGH): number {
    if (bytes < this.budgetBytes * high) return 0;
    for (const tier of this.#tiers) {
      const deleted = this.#repo.deleteBlocksBefore(tier.id, now - THIN_KEEP_MS[tier.name], THIN_CHUNK);
      if (deleted > 0) return deleted;
    }
    return 0;
  }

  report(now: number): StorageReport {
    const bytes = this.logSize(now);
    const sizes = this.#repo.tierSizes();
    const tiers = this.#tiers.map((tier) => {
      const row = sizes.find((s) => s.tier === tier.id);
      const oldest = { t: this.#repo.oldestInTier(tier.id) ?? null };
      return {
        name: TIER_NAMES[tier.id]!,
        blocks: row?.blocks ?? 0,
        bytes: (row?.bytes ?? 0) + (row?.blocks ?? 0) * BLOCK_ROW_OVERHEAD,
        oldest: oldest.t === null ? null : new Date(oldest.t).toISOString(),
      };
    });
    const growth = this.#growthPerDay(now, bytes);
    const perDevice = new Map<string, { bytes: number; growthPerDayBytes: number }>();
    for (const r of this.#repo.seriesBytes(now - DAY)) {
      const s = this.#series.byId(r.seriesId);
      if (!s) continue;
      const d = perDevice.get(s.deviceId) ?? { bytes: 0, growthPerDayBytes: 0 };
      d.bytes += r.bytes;
      d.growthPerDayBytes += r.recent;
      perDevice.set(s.deviceId, d);
    }
    let budgetReachedAt: string | null = null;
    if (bytes >= this.budgetBytes) budgetReachedAt = new Date(now).toISOString();
    else if (growth > 0) budgetReachedAt = new Date(now + ((this.budgetBytes - bytes) / growth) * DAY).toISOString();
    return {
      bytes,
      budgetBytes: this.budgetBytes,
      usedShare: Math.round((bytes / this.budgetBytes) * 10_000) / 10_000,
      tiers,
      open: { ...this.open },
      growthPerDayBytes: Math.round(growth),
      budgetReachedAt,
      devices: [...perDevice].map(([deviceId, d]) => ({ deviceId, ...d })).sort((a, b) => b.bytes - a.bytes),
    };
  }

  /**
   * Net growth per day from the size log (the oldest entry of the last week), which already
   * includes what retention takes away; in the first day, the size so far over the age of the
   * oldest data.
   */
  #growthPerDay(now: number, bytes: number): number {
    const log = this.#repo.sizeLog(now - 7 * DAY);
    const first = log[0];
    const today = Math.floor(now / DAY) * DAY;
    // A logged size is treated as of the start of its day: a slight underestimate of growth.
    if (first && first.day < today) return (bytes - first.bytes) / ((now - first.day) / DAY);
    let oldest = Infinity;
    for (const s of this.#series.all())
      oldest = Math.min(oldest, this.#repo.oldest(s.id, 0) ?? Infinity, this.#tail.oldest(s.id) ?? Infinity);
    if (!Number.isFinite(oldest)) return 0;
    const ageDays = Math.max((now - oldest) / DAY, 1 / 24);
    return bytes / ageDays;
  }
}
