import type { EventBus } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { HubConfig } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { homeTimeZoneSetting } from '../devices/home.ts';
import { HistoryRepo, type EventFilter, type EventRow } from '../store/history-repo.ts';
import type { Store } from '../store/store.ts';
import { energyReport, type EnergyReport } from './energy-report.ts';
import { HistoryIngest } from './ingest.ts';
import { HistoryJournal } from './journal.ts';
import { HistoryMaintenance } from './maintenance.ts';
import { OpenTail } from './open-tail.ts';
import { HistoryPurge } from './purge.ts';
import { HistoryQuery, type EnergyPeriod, type Period, type Point } from './query.ts';
import { SeriesIndex } from './series.ts';
import { HistoryStorage, type StorageReport } from './storage.ts';
import { buildTiers, DAY, type Tier, type TierName } from './tiers.ts';
import { canonicalTimeZone, processTimeZone, Zone } from './zone.ts';

export interface HistoryDeps {
  store: Store;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  config: HubConfig['history'];
}

/** Budget checks read the size index; once every this many milliseconds is plenty. */
const BUDGET_CHECK_MS = 10_000;
const EVENT_DELETE_CHUNK = 500;
const PURGE_OWNER = 'history.purge';

/**
 * The history part: ingest from the bus, background maintenance in time slices, queries for the
 * API. Started after `devices` (whose bus events it records) and stopped before it, flushing
 * the open batch so a clean stop loses nothing.
 */
export class HistoryService {
  readonly repo: HistoryRepo;
  readonly series: SeriesIndex;
  readonly tiers: Tier[];
  /** The open raw samples in memory, and their journal on disk (docs/writes.md). */
  readonly tail: OpenTail;
  readonly journal: HistoryJournal;
  readonly ingest: HistoryIngest;
  readonly maintenance: HistoryMaintenance;
  readonly query: HistoryQuery;
  readonly purge: HistoryPurge;
  storage!: HistoryStorage;
  readonly #deps: HistoryDeps;
  #timer: TimerHandle | undefined;
  #lastBudgetCheck = -Infinity;
  #running = false;

  constructor(deps: HistoryDeps) {
    this.#deps = deps;
    this.repo = new HistoryRepo(deps.store.db);
    this.series = new SeriesIndex(this.repo);
    this.tiers = buildTiers(deps.config);
    this.tail = new OpenTail(this.tiers[0]!.blockMs);
    this.journal = new HistoryJournal(this.repo);
    this.ingest = new HistoryIngest({
      repo: this.repo,
      series: this.series,
      tail: this.tail,
      journal: this.journal,
      bus: deps.bus,
      clock: deps.clock,
      log: deps.log,
      flushIntervalMs: deps.config.flushIntervalMs,
      eventFlushMs: deps.config.eventFlushMs,
      flushRows: deps.config.flushRows,
    });
    this.maintenance = new HistoryMaintenance({
      repo: this.repo,
      series: this.series,
      tail: this.tail,
      tiers: this.tiers,
      log: deps.log,
    });
    this.query = new HistoryQuery(this.repo, this.tail, this.tiers);
    this.purge = new HistoryPurge({
      repo: this.repo,
      series: this.series,
      journal: this.journal,
      settings: deps.store.settings,
      open: () => this.storage.open,
    });
  }

  async start(): Promise<void> {
    this.series.load();
    const purged = this.purge.resume();
    // The open raw tail back into memory from the journal: what a kill -9 left on disk.
    this.journal.replay(this.series, this.tail);
    for (const id of purged) this.journal.forgetSeries(id);
    this.storage = new HistoryStorage(
      this.repo,
      this.series,
      this.tail,
      this.tiers,
      this.#deps.config.budgetMb * 1024 * 1024,
    );
    // A removed device's history goes with it (purge.ts); write its last batch first, so
    // nothing of it lands after the purge began.
    this.#deps.bus.on(PURGE_OWNER, 'device.removed', (e) => {
      this.ingest.flush();
      for (const s of this.purge.enqueue(e.deviceId)) {
        this.tail.forget(s.id);
        this.journal.forgetSeries(s.id);
      }
      this.storage.open.samples = this.tail.count;
    });
    this.#deps.bus.on(PURGE_OWNER, 'device.added', (e) => this.purge.finishNow(e.deviceId));
    this.ingest.onFlushed = (_samples, events) => {
      this.storage.open.samples = this.tail.count;
      this.storage.open.events += events;
    };
    this.ingest.start();
    this.#running = true;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#deps.bus.offOwner(PURGE_OWNER);
    this.ingest.stop();
  }

  /**
   * One maintenance slice: roll, pack, expire and thin until done or `sliceMs` is spent. Returns
   * true when all work is done. Tests call it with `Infinity` to run to completion; with
   * `flushFirst` (the default for such calls) the open ingest batch is written first so rollups
   * see every sample up to now. The scheduled slices do not flush: the batch keeps its loss
   * window (docs/writes.md), and minutes are rolled only up to the oldest sample still in it.
   *
   * The rolls and packs of a slice are one transaction, not one per series and step: with 200
   * series that was 200 small transactions every minute, each rewriting the same pages.
   */
  maintain(sliceMs = this.#deps.config.maintenanceSliceMs, flushFirst = true): boolean {
    const now = this.#deps.clock.now();
    if (flushFirst) this.ingest.flush();
    const horizon = Math.min(now, this.ingest.committedBefore ?? now);
    const started = performance.now();
    const deadline = () => performance.now() - started >= sliceMs;
    let done = false;
    try {
      done = this.#runMaintenance(horizon, deadline);
      this.#collectJournal();
      if (done) done = this.#expireEvents(now, deadline);
      if (done) done = this.purge.run(deadline);
      if (done && now - this.#lastBudgetCheck >= BUDGET_CHECK_MS) {
        this.#lastBudgetCheck = now;
        const bytes = this.storage.logSize(now);
        const thinned = this.storage.thin(now, bytes);
        if (thinned > 0) {
          this.#deps.log.warn(
            { bytes, budgetBytes: this.storage.budgetBytes, thinned },
            'history over its budget: thinning the oldest data',
          );
          // Look again on the next slice until under the budget.
          this.#lastBudgetCheck = -Infinity;
          done = false;
        }
      }
    } catch (err) {
      this.#deps.log.error({ err }, 'history maintenance failed');
      done = true;
    } finally {
      this.#syncOpenCounts();
    }
    return done;
  }

  // ---- queries (the API checks the device and the actor first) ---------------------------

  // Samples are read from the open tail in memory (the batch not yet journaled included), so a
  // query writes nothing: a chart refreshed every few seconds used to add a flush per refresh.

  history(
    deviceId: string,
    capability: string,
    from: number,
    to: number,
    points: number,
    tier?: TierName,
  ): { tier: TierName; points: Point[] } {
    return this.query.points(this.series.get(deviceId, capability), from, to, points, tier);
  }

  energy(deviceId: string, period: Period, from: number, to: number, zone: Zone): EnergyPeriod[] {
    return this.query.energy(this.series.get(deviceId, 'energy'), period, from, to, zone);
  }

  /**
   * Energy per local period as the API answers it: in zone `tz` (an IANA name the caller
   * checked), else the home's time zone.
   */
  energyReport(deviceId: string, period: Period, from: number, to: number, tz?: string): EnergyReport {
    const zone = new Zone(tz ?? this.homeTimeZone());
    return energyReport(period, this.energy(deviceId, period, from, to, zone), zone);
  }

  /**
   * The home's time zone: the `home.timezone` setting (PATCH /api/v1/home) when it names a valid
   * IANA zone, otherwise the hub process's own zone.
   */
  homeTimeZone(): string {
    const set = homeTimeZoneSetting(this.#deps.store.settings);
    const zone = typeof set === 'string' ? canonicalTimeZone(set) : undefined;
    // PATCH /home stores null to clear it: unset, not a bad value.
    if (set !== undefined && set !== null && !zone)
      this.#deps.log.warn({ homeTimeZone: set }, "the home's time zone is not an IANA zone: using the hub's own");
    return zone ?? processTimeZone();
  }

  /**
   * The latest reading of every series and when it last changed: the registry's telemetry state,
   * which it no longer writes itself (docs/writes.md), rebuilt from the open tail (the journal
   * replayed at start) or, for a series with nothing since its last hourly block, from that
   * block's last sample. `at` is when the value last changed, as the registry keeps it (a
   * reading equal to the one before changes nothing); as far back as the tail holds.
   */
  latestReadings(): { deviceId: string; capability: string; value: number; at: number }[] {
    const out: { deviceId: string; capability: string; value: number; at: number }[] = [];
    for (const s of this.series.all()) {
      const open = this.tail.last(s.id);
      if (open) {
        out.push({ deviceId: s.deviceId, capability: s.capability, value: open.value, at: open.since });
        continue;
      }
      const t = this.series.lastStored(s.id);
      if (t === undefined) continue;
      let value: number | undefined;
      this.query.scan(s, 0, t, t + 1, (_t, _count, _sum, _min, _max, last) => (value = last));
      if (value !== undefined) out.push({ deviceId: s.deviceId, capability: s.capability, value, at: t });
    }
    return out;
  }

  /** The events not yet written (at most eventFlushMs old) are written first, alone: ids page the answer. */
  events(filter: EventFilter): EventRow[] {
    this.ingest.flushEvents();
    return this.repo.events(filter);
  }

  storageReport(): StorageReport {
    return this.storage.report(this.#deps.clock.now());
  }

  /**
   * maintenance.run in one transaction (first packing early if the open tail is over its memory
   * cap); on failure the series' watermarks and the tail in memory are put back.
   */
  #runMaintenance(horizon: number, deadline: () => boolean): boolean {
    const saved = this.series
      .all()
      .map((s) => ({ s, wmMinute: s.wmMinute, wmHour: s.wmHour, wmDay: s.wmDay, prevCounter: s.prevCounter }));
    const m = this.maintenance;
    const capBytes = this.#deps.config.openTailMaxMb * 1024 * 1024;
    try {
      return this.repo.transaction(() => {
        const early = m.earlyPacks;
        if (!m.relieve(capBytes, deadline)) return false;
        if (m.earlyPacks > early)
          this.#deps.log.warn(
            { tailBytes: this.tail.bytes, capBytes, packed: m.earlyPacks - early },
            'history open tail over its memory cap: packed the largest series early',
          );
        return m.run(horizon, deadline);
      });
    } catch (err) {
      for (const { s, ...marks } of saved) Object.assign(s, marks);
      for (const p of m.packedRaw.reverse()) this.tail.restore(p.seriesId, p.times, p.values);
      m.packedRaw = [];
      m.packedSamples = m.packedBuckets = m.rolledBuckets = m.expiredBuckets = 0;
      throw err;
    }
  }

  /** Raw blocks written (committed): the journal rows all of whose samples they hold can go. */
  #collectJournal(): void {
    const m = this.maintenance;
    if (m.packedRaw.length === 0) return;
    for (const p of m.packedRaw) {
      const t = p.times[p.times.length - 1];
      if (t !== undefined) this.journal.markPacked(p.seriesId, t);
    }
    m.packedRaw = [];
    this.journal.collect();
  }

  #expireEvents(now: number, deadline: () => boolean): boolean {
    const cutoff = now - this.#deps.config.retentionDays.events * DAY;
    for (;;) {
      const n = this.repo.deleteEventsBefore(cutoff, EVENT_DELETE_CHUNK);
      this.storage.open.events -= n;
      if (n < EVENT_DELETE_CHUNK) return true;
      if (deadline()) return false;
    }
  }

  #syncOpenCounts(): void {
    const m = this.maintenance;
    this.storage.open.samples = this.tail.count;
    this.storage.open.buckets += m.rolledBuckets - m.packedBuckets - m.expiredBuckets;
    m.packedSamples = m.packedBuckets = m.rolledBuckets = m.expiredBuckets = 0;
  }

  #schedule(delayMs = this.#deps.config.maintenanceIntervalMs): void {
    if (!this.#running) return;
    this.#timer = this.#deps.clock.setTimeout(() => {
      const done = this.maintain(this.#deps.config.maintenanceSliceMs, false);
      // Work left: come back soon, after ingest and queries had their turn, not a full interval.
      this.#schedule(done ? this.#deps.config.maintenanceIntervalMs : 10);
    }, delayMs);
  }
}
