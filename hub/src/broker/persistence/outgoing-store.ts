import type { Clock, TimerHandle } from '../../core/clock.ts';
import { OutgoingQueue, type OutEntry } from './outgoing-queue.ts';
import { queueCopy, type StoredPacket } from './packets.ts';
import type { PersistenceWriter } from './persistence-writer.ts';

/**
 * Every client's queue of QoS 1/2 messages (and PUBRELs) for the broker's persistence, and when
 * each entry is marked for writing (the durability window is in sqlite-persistence.ts):
 * - for a session that is offline, at once;
 * - for a client that is connected, only if still unacknowledged `ackGraceMs` after it was
 *   queued, or as soon as that client disconnects. Such messages are gathered in buckets of
 *   DEFER_BUCKET_MS by the time they were queued, and a bucket is due `ackGraceMs` after its
 *   first message: a message may be written up to DEFER_BUCKET_MS, or as long as a timer runs
 *   late, before its grace is over, never after it.
 *
 * aedes calls enqueue, update and clearMessageId for every message: they take no closure and
 * allocate, per message, only the queued entry and its packet copy.
 */

/** Width of the buckets of deferred entries (see the class comment). */
const DEFER_BUCKET_MS = 10;

/** Entries queued for connected clients within one DEFER_BUCKET_MS, due together. */
interface DeferBucket {
  /** When its first entry was queued. */
  readonly since: number;
  readonly entries: OutEntry[];
}

export interface OutgoingStoreOptions {
  /** The broker's clock: when a bucket opened, and the timer that sweeps the due ones. */
  clock: Clock;
  /** How long a message to a connected client may wait for its ack before it is written. 0 = always write. */
  ackGraceMs: number;
  /** Messages kept per persistent session; beyond it the oldest is dropped. */
  maxQueued: number;
  /** Bytes (topics and payloads) kept per client, queued or in flight; beyond it the oldest are dropped. */
  maxQueuedBytes?: (clientId: string) => number;
}

export class OutgoingStore {
  readonly #writer: PersistenceWriter;
  readonly #clock: Clock;
  /** The writer's dirty outgoing rows (entry → write, or false: delete). */
  readonly #dirty: Map<OutEntry, boolean>;
  readonly #ackGraceMs: number;
  readonly #maxQueued: number;
  readonly #maxQueuedBytes: ((clientId: string) => number) | undefined;
  readonly #queues = new Map<string, OutgoingQueue>();
  readonly #online = new Set<string>();
  #seq = 1;
  /** Queued entries of connected clients waiting out the ack grace, oldest bucket first. */
  readonly #deferred: DeferBucket[] = [];
  /** The bucket new entries go to, until the timer closes it. */
  #openBucket: OutEntry[] | undefined;
  #deferTimer: TimerHandle | undefined;
  /** Messages dropped because a session's queue was full. */
  dropped = 0;

  constructor(writer: PersistenceWriter, options: OutgoingStoreOptions) {
    this.#writer = writer;
    this.#clock = options.clock;
    this.#dirty = writer.dirty.out;
    this.#ackGraceMs = options.ackGraceMs;
    this.#maxQueued = options.maxQueued;
    this.#maxQueuedBytes = options.maxQueuedBytes;
  }

  /** Queues a copy of `packet` for one client. */
  enqueue(clientId: string, packet: StoredPacket): void {
    if (this.#enqueue(clientId, packet)) this.#writer.changed();
  }

  /** Queues a copy of `packet` for each client, scheduling one write at most. */
  enqueueAll(subs: { clientId: string }[], packet: StoredPacket): void {
    let dirtied = false;
    for (let i = 0; i < subs.length; i++) if (this.#enqueue(subs[i]!.clientId, packet)) dirtied = true;
    if (dirtied) this.#writer.changed();
  }

  /** Records a message's new message id or its QoS 2 PUBREL; false if it is not queued. */
  update(clientId: string, packet: StoredPacket): boolean {
    const queue = this.#queues.get(clientId);
    if (!queue) return false;
    // The same message (broker id + counter) got its message id for this delivery.
    const same = queue.byIdentity(packet.brokerId, packet.brokerCounter);
    if (same) {
      queue.setMessageId(same, packet.messageId);
      this.#rewritten(same);
      return true;
    }
    // A QoS 2 delivery moved on: its PUBLISH is replaced by the PUBREL with the same id.
    const replaced = queue.byMessageId(packet.messageId, packet.brokerId);
    if (replaced) {
      queue.replacePacket(replaced, packet);
      this.#rewritten(replaced);
      return true;
    }
    return false;
  }

  /** Removes the acknowledged entry with this message id; the entry, or undefined if none. */
  clearMessageId(clientId: string, messageId: number | undefined): OutEntry | undefined {
    const queue = this.#queues.get(clientId);
    const entry = queue?.byMessageId(messageId, null);
    if (!queue || !entry) return undefined;
    // Only an entry already on disk leaves something to write (its DELETE).
    if (this.#removeEntry(queue, entry)) this.#writer.changed();
    return entry;
  }

  /** A snapshot of a client's queued packets, in delivery order. */
  packets(clientId: string): StoredPacket[] {
    return this.#queues.get(clientId)?.packets() ?? [];
  }

  /** Deliveries to connected clients are written only if they wait (see the class comment). */
  clientOnline(clientId: string): void {
    this.#online.add(clientId);
  }

  clientOffline(clientId: string): void {
    this.#online.delete(clientId);
    const queue = this.#queues.get(clientId);
    if (!queue) return;
    if (queue.size === 0) {
      this.#queues.delete(clientId);
      return;
    }
    // Whatever it did not acknowledge now waits for its return: make it durable.
    for (const entry of queue.values()) if (!entry.persisted) this.#dirty.set(entry, true);
    this.#writer.changed();
  }

  /** Removes every entry of a client (its session is discarded); the caller calls `changed()`. */
  drop(clientId: string): void {
    const queue = this.#queues.get(clientId);
    if (queue) for (const entry of [...queue.values()]) this.#removeEntry(queue, entry);
  }

  /** Adds to `ids` every client with queued messages. */
  addQueuedClients(ids: Set<string>): void {
    for (const [clientId, queue] of this.#queues) if (queue.size > 0) ids.add(clientId);
  }

  queued(): number {
    let queued = 0;
    for (const q of this.#queues.values()) queued += q.size;
    return queued;
  }

  /** Entries read back at setup, in queue order. */
  load(entries: OutEntry[]): void {
    for (const entry of entries) {
      let queue = this.#queues.get(entry.clientId);
      if (!queue) this.#queues.set(entry.clientId, (queue = new OutgoingQueue()));
      queue.push(entry);
      this.#seq = Math.max(this.#seq, entry.seq + 1);
    }
  }

  /** Marks everything still queued for writing and stops deferring; the caller flushes. */
  close(): void {
    // Everything still queued is written, deferred or not: a clean stop loses nothing.
    for (const queue of this.#queues.values())
      for (const entry of queue.values()) if (!entry.persisted) this.#dirty.set(entry, true);
    this.#deferTimer?.cancel();
    this.#deferTimer = undefined;
  }

  /** Queues a copy of `packet`; true if that left something to write (see PersistenceWriter.changed). */
  #enqueue(clientId: string, packet: StoredPacket): boolean {
    let queue = this.#queues.get(clientId);
    if (!queue) this.#queues.set(clientId, (queue = new OutgoingQueue()));
    const entry: OutEntry = { clientId, seq: this.#seq++, packet: queueCopy(packet), persisted: false, removed: false };
    queue.push(entry);
    let dirtied = false;
    if (this.#ackGraceMs > 0 && this.#online.has(clientId)) {
      let bucket = this.#openBucket;
      if (bucket === undefined) {
        this.#openBucket = bucket = [];
        this.#deferred.push({ since: this.#clock.now(), entries: bucket });
        this.#armDeferTimer();
      }
      bucket.push(entry);
    } else {
      this.#dirty.set(entry, true);
      dirtied = true;
    }
    // A session that never comes back must not grow without bound: drop its oldest message.
    if (queue.size > this.#maxQueued) {
      this.#removeEntry(queue, queue.oldest()!);
      this.dropped++;
      dirtied = true;
    }
    // Nor hold more bytes than its budget (a few big messages), queued or in flight.
    if (this.#maxQueuedBytes !== undefined && queue.bytes > this.#maxQueuedBytes(clientId)) {
      const max = this.#maxQueuedBytes(clientId);
      while (queue.bytes > max && queue.size > 0) {
        if (this.#removeEntry(queue, queue.oldest()!)) dirtied = true;
        this.dropped++;
      }
    }
    return dirtied;
  }

  /** A written entry changed: QoS 2 message ids and PUBRELs matter after a restart, QoS 1 ids not. */
  #rewritten(entry: OutEntry): void {
    const p = entry.packet;
    if (entry.persisted && (p.cmd !== 'publish' || p.qos === 2)) {
      this.#dirty.set(entry, true);
      this.#writer.changed();
    }
  }

  /** True if the removal needs a write (a DELETE of the entry's row). */
  #removeEntry(queue: OutgoingQueue, entry: OutEntry): boolean {
    queue.remove(entry);
    // A connected client's empty queue is kept: at low rates it would otherwise be made anew
    // for every message. It goes when the client does (clientOffline).
    if (queue.size === 0 && !this.#online.has(entry.clientId)) this.#queues.delete(entry.clientId);
    if (entry.persisted) {
      this.#dirty.set(entry, false);
      return true;
    }
    this.#dirty.delete(entry); // never written: nothing to delete
    return false;
  }

  /** While entries are deferred, the timer closes the open bucket every DEFER_BUCKET_MS and sweeps the due ones. */
  #armDeferTimer(): void {
    if (this.#deferTimer || this.#writer.closed || this.#deferred.length === 0) return;
    const due = this.#deferred[0]!.since + this.#ackGraceMs - this.#clock.now();
    this.#deferTimer = this.#clock.setTimeout(() => this.#sweepDeferred(), Math.max(1, Math.min(DEFER_BUCKET_MS, due)));
  }

  /** Marks for writing the deferred entries whose grace ran out while still queued. */
  #sweepDeferred(): void {
    this.#deferTimer = undefined;
    this.#openBucket = undefined;
    const now = this.#clock.now();
    const dirty = this.#dirty;
    let marked = false;
    while (this.#deferred.length > 0 && this.#deferred[0]!.since + this.#ackGraceMs <= now) {
      const { entries } = this.#deferred.shift()!;
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        if (!entry.removed && !entry.persisted && !dirty.has(entry)) {
          dirty.set(entry, true);
          marked = true;
        }
      }
    }
    if (marked) this.#writer.changed();
    this.#armDeferTimer();
  }
}
