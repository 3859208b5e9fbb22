import type { SettingsRepo } from '../store/settings-repo.ts';
import type { HistoryRepo, SeriesRow } from '../store/history-repo.ts';
import type { HistoryJournal } from './journal.ts';
import type { SeriesIndex } from './series.ts';
import type { OpenCounts } from './storage.ts';

const QUEUE_SETTING = 'history.purgeQueue';
/** Rows per DELETE: small enough that one statement never stalls ingest or a query. */
const CHUNK = 500;

interface Pending {
  deviceId: string;
  /** Series ids, kept with the queue: after a restart the index has reloaded them. */
  series: number[];
}

/**
 * Removing a device removes its history: its series (blocks, open rows, rollups, its samples in
 * the journal) and its events.
 * A year of one plug is thousands of rows, so the deletion runs in maintenance slices, a chunk at
 * a time. The queue lives in the settings table, so a hub stopped halfway finishes after its
 * restart. Without this, the data of a removed device would be unreachable (the API answers
 * device_not_found) yet hold its share of the budget until retention dropped it, years later.
 */
export class HistoryPurge {
  readonly #repo: HistoryRepo;
  readonly #series: SeriesIndex;
  readonly #journal: HistoryJournal;
  readonly #settings: SettingsRepo;
  readonly #open: () => OpenCounts;

  constructor(deps: {
    repo: HistoryRepo;
    series: SeriesIndex;
    journal: HistoryJournal;
    settings: SettingsRepo;
    open: () => OpenCounts;
  }) {
    this.#repo = deps.repo;
    this.#series = deps.series;
    this.#journal = deps.journal;
    this.#settings = deps.settings;
    this.#open = deps.open;
  }

  /** After the index loaded: series of devices still queued are no longer live. Returns their ids. */
  resume(): number[] {
    const ids: number[] = [];
    for (const p of this.#queue()) {
      this.#series.forgetDevice(p.deviceId);
      ids.push(...p.series);
    }
    return ids;
  }

  /** Queues the device's history for deletion; returns its series (the caller drops their open tail). */
  enqueue(deviceId: string): SeriesRow[] {
    const rows: SeriesRow[] = this.#series.forgetDevice(deviceId);
    const queue = this.#queue().filter((p) => p.deviceId !== deviceId);
    queue.push({ deviceId, series: rows.map((r) => r.id) });
    this.#settings.set(QUEUE_SETTING, queue);
    return rows;
  }

  get pendingDevices(): string[] {
    return this.#queue().map((p) => p.deviceId);
  }

  /**
   * A device with a queued id is back (a plug's id is its own, so re-pairing the same plug
   * gives the same id): the old history must be gone before the new arrives, so finish now.
   */
  finishNow(deviceId: string): void {
    if (this.#queue().some((p) => p.deviceId === deviceId)) this.run(() => false, deviceId);
  }

  /** Deletes chunks until done or `deadline()`; true when the queue is empty. */
  run(deadline: () => boolean, only?: string): boolean {
    const open = this.#open();
    for (const pending of this.#queue()) {
      if (only !== undefined && pending.deviceId !== only) continue;
      for (const seriesId of pending.series) {
        for (;;) {
          const n = this.#repo.deleteSeriesChunk(seriesId, CHUNK);
          open.buckets -= n.buckets;
          if (n.blocks + n.buckets === 0) break;
          if (deadline()) return false;
        }
        // Its samples leave the journal with the series row: a freed id may be given out again.
        this.#repo.transaction(() => {
          this.#journal.dropSeries(seriesId);
          this.#repo.deleteSeries(seriesId);
        });
      }
      for (;;) {
        const n = this.#repo.deleteDeviceEvents(pending.deviceId, CHUNK);
        open.events -= n;
        if (n < CHUNK) break;
        if (deadline()) return false;
      }
      this.#settings.set(
        QUEUE_SETTING,
        this.#queue().filter((p) => p.deviceId !== pending.deviceId),
      );
    }
    return this.#queue().length === 0;
  }

  #queue(): Pending[] {
    const value = this.#settings.get<unknown>(QUEUE_SETTING);
    return Array.isArray(value) ? (value as Pending[]) : [];
  }
}
