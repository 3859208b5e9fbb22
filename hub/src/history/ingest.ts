import { CAPABILITIES } from '@hearth/model/capabilities';
import type { EventBus, TelemetrySampleEvent } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { HistoryRepo, NewEvent } from '../store/history-repo.ts';
import type { HistoryJournal, JournalEntry } from './journal.ts';
import type { OpenTail } from './open-tail.ts';
import type { SeriesIndex } from './series.ts';

export interface IngestOptions {
  repo: HistoryRepo;
  series: SeriesIndex;
  /** Where samples go at once (queries read them there); the journal makes them durable. */
  tail: OpenTail;
  journal: HistoryJournal;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  flushIntervalMs: number;
  /** A batch holding a discrete event (state change, availability, command) is written within this; default flushIntervalMs. */
  eventFlushMs?: number;
  flushRows: number;
}

export interface IngestCounters {
  samples: number;
  events: number;
  dropped: number;
  flushes: number;
  failedFlushes: number;
}

const OWNER = 'history';

/**
 * Takes every telemetry sample and device event off the bus. A sample goes at once into the
 * open raw tail in memory (open-tail.ts: queries read it there, so answers reach the present
 * without writing anything) and into the batch; the batch is written when it is
 * `flushIntervalMs` old or holds `flushRows` rows, whichever comes first, as ONE journal row
 * (journal.ts: the batch compressed, written once in order). Events (state change, availability,
 * command) are rows of the event log, written alone within `eventFlushMs`. One small append per
 * batch is what makes 1 Hz from many plugs cheap on an SD card (docs/writes.md); the price is the
 * loss window: a power cut or kill -9 loses at most the open batch (≤ flushIntervalMs of
 * samples, ≤ eventFlushMs of events), never anything already flushed, because each flush commits.
 * A batch is bounded by flushRows, so one flush never blocks the event loop for long.
 */
export class HistoryIngest {
  readonly #o: IngestOptions;
  /** The batch's samples not yet journaled, per series (times already made strictly increasing). */
  #samples = new Map<number, { times: number[]; values: number[] }>();
  #sampleCount = 0;
  #events: NewEvent[] = [];
  #timer: TimerHandle | undefined;
  #eventTimer: TimerHandle | undefined;
  /** The earliest time of a sample in the open batch (Infinity when it holds none). */
  #oldestSampleAt = Infinity;
  #immediate: NodeJS.Immediate | undefined;
  readonly counters: IngestCounters = { samples: 0, events: 0, dropped: 0, flushes: 0, failedFlushes: 0 };
  /** Called after each committed flush with the number of raw samples written. */
  onFlushed: (samples: number, events: number) => void = () => {};
  /**
   * Called inside each flush's transaction: other parts' group-committed rows ride along (hub.ts:
   * the audit log's and the rules' traces), so a command's event, audit row and its rule's trace
   * make one commit instead of three (issue 13, docs/writes.md).
   */
  alongside: () => void = () => {};

  constructor(options: IngestOptions) {
    this.#o = options;
  }

  start(): void {
    const { bus } = this.#o;
    bus.on(OWNER, 'telemetry.sample', (e) => this.#push(e, undefined));
    bus.on(OWNER, 'device.state', (e) => {
      // Telemetry readings are history samples already; the event log keeps discrete changes.
      if (CAPABILITIES[e.capability]?.telemetry) return;
      this.#push(undefined, {
        at: e.at,
        deviceId: e.deviceId,
        kind: 'state',
        capability: e.capability,
        value: e.value,
        previous: e.previous ?? null,
        actor: null,
        outcome: null,
      });
    });
    bus.on(OWNER, 'device.availability', (e) => {
      this.#push(undefined, {
        at: e.at,
        deviceId: e.deviceId,
        kind: 'availability',
        capability: null,
        value: e.available,
        previous: null,
        actor: null,
        outcome: null,
      });
    });
    bus.on(OWNER, 'device.command', (e) => {
      this.#push(undefined, {
        at: e.at,
        deviceId: e.deviceId,
        kind: 'command',
        capability: e.capability,
        value: e.value,
        previous: null,
        actor: e.actor,
        outcome: e.outcome,
      });
    });
  }

  /** Unsubscribes and writes the open batch: a clean stop loses nothing. */
  stop(): void {
    this.#o.bus.offOwner(OWNER);
    this.flush();
  }

  get pending(): number {
    return this.#sampleCount + this.#events.length;
  }

  /** Feeds one sample as if it came from the bus (the bench's measured ingest path). */
  sample(e: TelemetrySampleEvent): void {
    this.#push(e, undefined);
  }

  /**
   * Samples before this time are all committed (or dropped): maintenance rolls minutes up to it
   * without flushing the batch early. The time of the oldest sample still in the batch, or
   * undefined when it holds none.
   */
  get committedBefore(): number | undefined {
    return this.#oldestSampleAt === Infinity ? undefined : this.#oldestSampleAt;
  }

  #push(sample: TelemetrySampleEvent | undefined, event: NewEvent | undefined): void {
    const { clock, flushIntervalMs, eventFlushMs = flushIntervalMs } = this.#o;
    if (sample && this.#take(sample)) {
      this.#timer ??= clock.setTimeout(() => this.flush(), flushIntervalMs);
    }
    if (event) {
      this.#events.push(event);
      // Events have their own, shorter window and are written alone: a state change every few
      // seconds must not drag the samples' batch to disk with it (docs/writes.md).
      this.#eventTimer ??= clock.setTimeout(() => this.flushEvents(), Math.min(eventFlushMs, flushIntervalMs));
    }
    // Full batch: write it on the next turn of the event loop, not inside the emitter's call.
    if (this.pending >= this.#o.flushRows && !this.#immediate) this.#immediate = setImmediate(() => this.flush());
  }

  /** Into the tail and the batch; false when dropped (out of order) or its series cannot be made. */
  #take(sample: TelemetrySampleEvent): boolean {
    const { series, tail } = this.#o;
    let id: number;
    try {
      // A new series is a row of its own, written once, outside any batch.
      id = series.ensure(sample.deviceId, sample.capability).id;
    } catch (err) {
      this.counters.dropped++;
      this.#o.log.error(
        { err, deviceId: sample.deviceId, capability: sample.capability },
        'history sample dropped: its series could not be created',
      );
      return false;
    }
    const t = series.advance(id, sample.at);
    if (t === undefined) {
      this.counters.dropped++;
      return false;
    }
    tail.append(id, t, sample.value);
    let b = this.#samples.get(id);
    if (!b) this.#samples.set(id, (b = { times: [], values: [] }));
    b.times.push(t);
    b.values.push(sample.value);
    this.#sampleCount++;
    if (t < this.#oldestSampleAt) this.#oldestSampleAt = t;
    return true;
  }

  /** Writes the open batch (one journal row, and the events) in one transaction. Synchronous: at most flushRows rows. */
  flush(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#eventTimer?.cancel();
    this.#eventTimer = undefined;
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    if (this.pending === 0) return;
    const samples: JournalEntry[] = [...this.#samples].map(([seriesId, b]) => ({
      seriesId,
      times: b.times,
      values: b.values,
    }));
    const events = this.#events;
    this.#samples = new Map();
    this.#sampleCount = 0;
    this.#events = [];
    this.#oldestSampleAt = Infinity;
    this.#write(samples, events);
  }

  /** Writes the open events alone (their window is shorter); the samples wait for theirs. */
  flushEvents(): void {
    this.#eventTimer?.cancel();
    this.#eventTimer = undefined;
    if (this.#events.length === 0) return;
    const events = this.#events;
    this.#events = [];
    this.#write([], events);
  }

  #write(samples: JournalEntry[], events: NewEvent[]): void {
    const { repo, journal } = this.#o;
    const written = samples.reduce((n, e) => n + e.times.length, 0);
    try {
      repo.transaction(() => {
        journal.append(samples);
        for (const e of events) repo.insertEvent(e);
        this.alongside();
      });
    } catch (err) {
      // The samples stay in the tail and reach their raw block at the hour's packing; only a
      // crash before that would lose them. The events are lost.
      this.counters.failedFlushes++;
      this.counters.dropped += events.length;
      this.#o.log.error(
        { err, samples: written, events: events.length },
        'history batch not written: samples kept in memory until packed, events lost',
      );
      return;
    }
    this.counters.samples += written;
    this.counters.events += events.length;
    this.counters.flushes++;
    this.onFlushed(written, events.length);
  }
}
