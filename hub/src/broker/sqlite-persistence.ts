import { Readable } from 'node:stream';
import type { Logger } from '../core/logger.ts';
import type { Db } from '../store/db.ts';
import { topicMatches } from './acl.ts';
import { OutgoingQueue, type OutEntry } from './outgoing-queue.ts';
import { queueCopy, type StoredPacket, type WillPacket } from './packets.ts';
import { PersistenceSql, type DirtyRows, type IncomingEntry, type SubRecord } from './persistence-sql.ts';
import { SubscriptionTrie, type MatchedSubscription } from './subscription-trie.ts';

export type { StoredPacket, WillPacket } from './packets.ts';

/**
 * The aedes persistence (the async interface of aedes-persistence 11, checked by its own
 * abstract test suite in hub/test/broker/persistence.abstract.ts) on the hub's SQLite file.
 *
 * Design: memory is the read path, SQLite the copy that survives a restart.
 * - Every read (retained lookups, subscription matching for each QoS>0 PUBLISH, the outgoing
 *   queues) is served from memory, so the per-message path never reads SQLite.
 * - A change marks its row dirty (keyed by the row, holding the live object or a delete mark).
 *   Dirty rows are written in ONE transaction `flushMs` after the first change (default 5 ms),
 *   or at once when many are pending. Repeated changes to a row within a window cost one write;
 *   a row created and deleted within one window is never written.
 * - A message queued for a client that is connected is expected to be acknowledged within
 *   moments, so it is written only if still unacknowledged `ackGraceMs` (default 100 ms) after
 *   it was queued, or as soon as that client disconnects. A healthy subscriber's QoS 1/2 traffic
 *   thus costs no disk writes, and only what actually waits is made durable. (Such messages are
 *   gathered in buckets of DEFER_BUCKET_MS by the time they were queued, and a bucket is due
 *   `ackGraceMs` after its first message: a message may be written up to DEFER_BUCKET_MS, or as
 *   long as a timer runs late, before its grace is over, never after it.)
 * - `setup()` loads every table back into memory; `destroy()` writes everything still pending.
 *
 * Durability window (what a crash, kill -9 or power cut may lose):
 * - messages queued for offline sessions, retained messages, subscriptions, wills, incoming
 *   QoS 2 state: changes of the last `flushMs` (plus one transaction);
 * - messages in flight to connected clients: those queued in the last `ackGraceMs + flushMs`;
 *   after a restart the client gets the older ones again (QoS 1 is at least once). Message ids
 *   of in-flight QoS 1 messages are not written (a redelivery gets a new one); those of QoS 2
 *   messages and their PUBREL state are, as exactly-once needs.
 * aedes itself sends PUBACK before it routes a message, so no window can close that gap. With
 * WAL and synchronous=NORMAL (store/db.ts) a power cut may also lose the last committed
 * transactions, never consistency. A clean stop loses nothing.
 */

interface ClientRef {
  id: string;
}

interface BrokerRef {
  id: string;
}

export interface SqlitePersistenceOptions {
  db: Db;
  log?: Logger;
  /** How long changes gather before one transaction writes them. */
  flushMs?: number;
  /** How long a message to a connected client may wait for its ack before it is written. 0 = always write. */
  ackGraceMs?: number;
  /** Write at once when this many rows are dirty, bounding memory and transaction size. */
  maxPendingWrites?: number;
  /** Messages kept per persistent session; beyond it the oldest is dropped. */
  maxQueuedPerClient?: number;
  /** Distinct retained topics kept; a new retained topic beyond it is not stored. */
  maxRetained?: number;
}

export interface PersistenceStats {
  retained: number;
  sessions: number;
  queued: number;
  pendingWrites: number;
  droppedQueued: number;
  droppedRetained: number;
  flushErrors: number;
}

/**
 * The per-message methods (subscription matching, enqueue, message id update, ack) do all their
 * work synchronously, so they are plain functions returning an already settled promise (a shared
 * one when there is no value) instead of `async` ones: no promise and async frame of their own per
 * call. aedes only `.then()`s them; a synchronous throw becomes a rejection, as before.
 */
const DONE: Promise<void> = Promise.resolve();
const NONE: Promise<undefined> = Promise.resolve(undefined);

/** Width of the buckets of deferred entries (see the class comment). */
const DEFER_BUCKET_MS = 10;

/** Entries queued for connected clients within one DEFER_BUCKET_MS, due together. */
interface DeferBucket {
  /** When its first entry was queued. */
  readonly since: number;
  readonly entries: OutEntry[];
}

/** Distinct topics whose subscription matches are cached; beyond it the cache starts over. */
const MATCH_CACHE_SIZE = 4096;

/** The packet at the highest QoS any matching granted subscription allows (a copy if lowered). */
function downgrade(packet: StoredPacket, granted: { topic: string; qos: number }[]): StoredPacket {
  let max = 0;
  for (const g of granted) if (g.qos > max && topicMatches(g.topic, packet.topic as string)) max = g.qos;
  return (packet.qos ?? 0) > max ? { ...packet, qos: max } : packet;
}

export class SqlitePersistence {
  readonly #sql: PersistenceSql;
  readonly #log: Logger | undefined;
  readonly #flushMs: number;
  readonly #ackGraceMs: number;
  readonly #maxPending: number;
  readonly #maxQueued: number;
  readonly #maxRetained: number;
  #broker: BrokerRef | undefined;

  // The read path.
  readonly #retained = new Map<string, StoredPacket>();
  readonly #subs = new Map<string, Map<string, SubRecord>>();
  readonly #trie = new SubscriptionTrie();
  /** topic → persistent subscriptions matching it, as a settled promise (callers never mutate the arrays). */
  readonly #matchCache = new Map<string, Promise<MatchedSubscription[]>>();
  readonly #queues = new Map<string, OutgoingQueue>();
  readonly #incoming = new Map<string, Map<number, IncomingEntry>>();
  readonly #wills = new Map<string, WillPacket>();
  readonly #online = new Set<string>();
  #seq = 1;
  #granted: { topic: string; qos: number }[] | undefined;

  // The write path.
  readonly #dirty: DirtyRows = { retained: new Map(), subs: new Map(), out: new Map(), incoming: new Map(), wills: new Map() };
  /** Queued entries of connected clients waiting out the ack grace, oldest bucket first. */
  readonly #deferred: DeferBucket[] = [];
  /** The bucket new entries go to, until the timer closes it. */
  #openBucket: OutEntry[] | undefined;
  #deferTimer: NodeJS.Timeout | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #destroyed = false;
  #failing = false;
  readonly #stats = { droppedQueued: 0, droppedRetained: 0, flushErrors: 0 };

  constructor(options: SqlitePersistenceOptions) {
    this.#sql = new PersistenceSql(options.db);
    this.#log = options.log;
    this.#flushMs = options.flushMs ?? 5;
    this.#ackGraceMs = options.ackGraceMs ?? 100;
    this.#maxPending = options.maxPendingWrites ?? 20_000;
    this.#maxQueued = options.maxQueuedPerClient ?? 10_000;
    this.#maxRetained = options.maxRetained ?? 100_000;
  }

  get broker(): BrokerRef | undefined {
    return this.#broker;
  }

  // aedes checks that setup is an AsyncFunction.
  async setup(broker: BrokerRef): Promise<void> {
    this.#broker = broker;
    this.#load();
  }

  // ---- retained ------------------------------------------------------------------------------

  async storeRetained(pkt: StoredPacket): Promise<void> {
    const topic = pkt.topic as string;
    // An empty retained payload clears the topic [MQTT-3.3.1-10].
    if (!pkt.payload || pkt.payload.length === 0) {
      if (this.#retained.delete(topic)) this.#dirty.retained.set(topic, null);
    } else {
      if (!this.#retained.has(topic) && this.#retained.size >= this.#maxRetained) {
        this.#stats.droppedRetained++;
        return;
      }
      const packet = Object.assign({}, pkt);
      this.#retained.set(topic, packet);
      this.#dirty.retained.set(topic, packet);
    }
    this.#changed();
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    const granted = this.#granted;
    this.#granted = undefined;
    const packets = this.retainedMatching(patterns);
    return Readable.from(granted ? packets.map((p) => downgrade(p, granted)) : packets);
  }

  createRetainedStream(pattern: string): Readable {
    return Readable.from(this.retainedMatching([pattern]));
  }

  /**
   * aedes 1.2 sends retained messages on SUBSCRIBE at the message's own QoS, even above the QoS
   * the subscription was granted, contrary to [MQTT-3.8.4-6]. The broker hands us the granted
   * subscriptions from the 'subscribe' event, which aedes emits synchronously just before it
   * asks for the retained stream of the same SUBSCRIBE; the next stream call uses them.
   */
  grantedForNextRetained(subs: { topic: string; qos: number }[]): void {
    const granted = subs.filter((s) => s.qos <= 2);
    this.#granted = granted;
    // Meant for the call that follows synchronously; never for a later SUBSCRIBE's.
    queueMicrotask(() => {
      if (this.#granted === granted) this.#granted = undefined;
    });
  }

  /** Retained messages matching any of `patterns`, each once. Synchronous, for the hub itself. */
  retainedMatching(patterns: string[]): StoredPacket[] {
    const out: StoredPacket[] = [];
    if (patterns.every((p) => !p.includes('+') && !p.includes('#'))) {
      for (const p of new Set(patterns)) {
        const packet = this.#retained.get(p);
        if (packet) out.push(packet);
      }
      return out;
    }
    for (const [topic, packet] of this.#retained) {
      if (patterns.some((p) => topicMatches(p, topic))) out.push(packet);
    }
    return out;
  }

  // ---- subscriptions -------------------------------------------------------------------------

  async addSubscriptions(client: ClientRef, subs: (SubRecord & { topic: string })[]): Promise<void> {
    let stored = this.#subs.get(client.id);
    if (!stored) this.#subs.set(client.id, (stored = new Map()));
    for (const sub of subs) {
      const record: SubRecord = { qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl };
      if (sub.subscriptionIdentifier !== undefined) record.subscriptionIdentifier = sub.subscriptionIdentifier;
      this.#setSub(client.id, sub.topic, record, stored.get(sub.topic));
      stored.set(sub.topic, record);
    }
    this.#changed();
  }

  async removeSubscriptions(client: ClientRef, topics: string[]): Promise<void> {
    const stored = this.#subs.get(client.id);
    if (!stored) return;
    for (const topic of topics) {
      const old = stored.get(topic);
      if (!old) continue;
      this.#setSub(client.id, topic, null, old);
      stored.delete(topic);
    }
    if (stored.size === 0) this.#subs.delete(client.id);
    this.#changed();
  }

  async subscriptionsByClient(client: ClientRef): Promise<(SubRecord & { topic: string })[]> {
    const stored = this.#subs.get(client.id);
    if (!stored) return [];
    const subs: (SubRecord & { topic: string })[] = [];
    for (const [topic, record] of stored) subs.push({ topic, ...record });
    return subs;
  }

  async countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    return { subsCount: this.#trie.size, clientsCount: this.#subs.size };
  }

  /** Called for every QoS > 0 PUBLISH: matches are cached per topic until subscriptions change. */
  subscriptionsByTopic(topic: string): Promise<MatchedSubscription[]> {
    let matched = this.#matchCache.get(topic);
    if (matched === undefined) {
      try {
        matched = Promise.resolve(this.#trie.match(topic));
      } catch (err) {
        return Promise.reject(err as Error);
      }
      if (this.#matchCache.size >= MATCH_CACHE_SIZE) this.#matchCache.clear();
      this.#matchCache.set(topic, matched);
    }
    return matched;
  }

  async cleanSubscriptions(client: ClientRef): Promise<void> {
    const stored = this.#subs.get(client.id);
    if (!stored) return;
    for (const [topic, record] of stored) this.#setSub(client.id, topic, null, record);
    this.#subs.delete(client.id);
    this.#changed();
  }

  getClientList(topic: string): Readable {
    const ids: string[] = [];
    for (const [clientId, stored] of this.#subs) if (stored.has(topic)) ids.push(clientId);
    return Readable.from(ids);
  }

  #setSub(clientId: string, topic: string, record: SubRecord | null, old: SubRecord | undefined): void {
    this.#matchCache.clear();
    // Only QoS > 0 subscriptions get messages queued while offline.
    if (record && record.qos > 0) this.#trie.add(topic, clientId, record);
    else if (old && old.qos > 0) this.#trie.remove(topic, clientId);
    this.#dirty.subs.set(`${clientId}\u0000${topic}`, { clientId, topic, record });
  }

  // ---- outgoing queues -----------------------------------------------------------------------

  outgoingEnqueue(sub: { clientId: string }, packet: StoredPacket): Promise<void> {
    try {
      if (this.#enqueue(sub.clientId, packet)) this.#changed();
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return DONE;
  }

  outgoingEnqueueCombi(subs: { clientId: string }[], packet: StoredPacket): Promise<void> {
    if (subs.length === 0) return DONE;
    try {
      let dirtied = false;
      for (let i = 0; i < subs.length; i++) if (this.#enqueue(subs[i]!.clientId, packet)) dirtied = true;
      if (dirtied) this.#changed();
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return DONE;
  }

  /** Queues a copy of `packet`; true if that left something to write (see #changed). */
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
        this.#deferred.push({ since: Date.now(), entries: bucket });
        this.#armDeferTimer();
      }
      bucket.push(entry);
    } else {
      this.#dirty.out.set(entry, true);
      dirtied = true;
    }
    // A session that never comes back must not grow without bound: drop its oldest message.
    if (queue.size > this.#maxQueued) {
      this.#removeEntry(queue, queue.oldest()!);
      this.#stats.droppedQueued++;
      dirtied = true;
    }
    return dirtied;
  }

  outgoingUpdate(client: ClientRef, packet: StoredPacket): Promise<void> {
    try {
      const queue = this.#queues.get(client.id);
      if (queue) {
        // The same message (broker id + counter) got its message id for this delivery.
        const same = queue.byIdentity(packet.brokerId, packet.brokerCounter);
        if (same) {
          queue.setMessageId(same, packet.messageId);
          this.#rewritten(same);
          return DONE;
        }
        // A QoS 2 delivery moved on: its PUBLISH is replaced by the PUBREL with the same id.
        const replaced = queue.byMessageId(packet.messageId, packet.brokerId);
        if (replaced) {
          queue.replacePacket(replaced, packet);
          this.#rewritten(replaced);
          return DONE;
        }
      }
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return Promise.reject(new Error('no such packet'));
  }

  outgoingClearMessageId(client: ClientRef, packet: StoredPacket): Promise<StoredPacket | undefined> {
    try {
      const queue = this.#queues.get(client.id);
      const entry = queue?.byMessageId(packet?.messageId, null);
      if (!queue || !entry) return NONE;
      // Only an entry already on disk leaves something to write (its DELETE).
      if (this.#removeEntry(queue, entry)) this.#changed();
      return Promise.resolve(entry.packet);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  outgoingStream(client: ClientRef): Readable {
    // A snapshot: the queue changes while the stream is consumed.
    return Readable.from(this.#queues.get(client.id)?.packets() ?? []);
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
    for (const entry of queue.values()) if (!entry.persisted) this.#dirty.out.set(entry, true);
    this.#changed();
  }

  /** A written entry changed: QoS 2 message ids and PUBRELs matter after a restart, QoS 1 ids not. */
  #rewritten(entry: OutEntry): void {
    const p = entry.packet;
    if (entry.persisted && (p.cmd !== 'publish' || p.qos === 2)) {
      this.#dirty.out.set(entry, true);
      this.#changed();
    }
  }

  /** True if the removal needs a write (a DELETE of the entry's row). */
  #removeEntry(queue: OutgoingQueue, entry: OutEntry): boolean {
    queue.remove(entry);
    // A connected client's empty queue is kept: at low rates it would otherwise be made anew
    // for every message. It goes when the client does (clientOffline).
    if (queue.size === 0 && !this.#online.has(entry.clientId)) this.#queues.delete(entry.clientId);
    if (entry.persisted) {
      this.#dirty.out.set(entry, false);
      return true;
    }
    this.#dirty.out.delete(entry); // never written: nothing to delete
    return false;
  }

  /** While entries are deferred, the timer closes the open bucket every DEFER_BUCKET_MS and sweeps the due ones. */
  #armDeferTimer(): void {
    if (this.#deferTimer || this.#destroyed || this.#deferred.length === 0) return;
    const due = this.#deferred[0]!.since + this.#ackGraceMs - Date.now();
    this.#deferTimer = setTimeout(() => this.#sweepDeferred(), Math.max(1, Math.min(DEFER_BUCKET_MS, due)));
    this.#deferTimer.unref();
  }

  /** Marks for writing the deferred entries whose grace ran out while still queued. */
  #sweepDeferred(): void {
    this.#deferTimer = undefined;
    this.#openBucket = undefined;
    const now = Date.now();
    const dirty = this.#dirty.out;
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
    if (marked) this.#changed();
    this.#armDeferTimer();
  }

  // ---- incoming QoS 2 ------------------------------------------------------------------------

  async incomingStorePacket(client: ClientRef, packet: StoredPacket): Promise<void> {
    let store = this.#incoming.get(client.id);
    if (!store) this.#incoming.set(client.id, (store = new Map()));
    const messageId = packet.messageId as number;
    const copy = queueCopy(packet);
    copy.messageId = messageId;
    const old = store.get(messageId);
    if (old) this.#dirty.incoming.delete(old);
    // INSERT OR REPLACE overwrites the old row, so the new entry inherits whether a row exists.
    const entry: IncomingEntry = { clientId: client.id, messageId, packet: copy, persisted: old?.persisted ?? false };
    store.set(messageId, entry);
    this.#dirty.incoming.set(entry, true);
    this.#changed();
  }

  async incomingGetPacket(client: ClientRef, packet: { messageId?: number }): Promise<StoredPacket> {
    const found = this.#incoming.get(client.id)?.get(packet.messageId as number);
    if (!found) throw new Error('no such packet');
    return found.packet;
  }

  async incomingDelPacket(client: ClientRef, packet: { messageId?: number }): Promise<void> {
    const store = this.#incoming.get(client.id);
    const entry = store?.get(packet.messageId as number);
    if (!store || !entry) throw new Error('no such packet');
    store.delete(entry.messageId);
    if (store.size === 0) this.#incoming.delete(client.id);
    this.#dropIncoming(entry);
    this.#changed();
  }

  async cleanIncoming(client: ClientRef): Promise<void> {
    const store = this.#incoming.get(client.id);
    if (!store) return;
    for (const entry of store.values()) this.#dropIncoming(entry);
    this.#incoming.delete(client.id);
    this.#changed();
  }

  #dropIncoming(entry: IncomingEntry): void {
    if (entry.persisted) this.#dirty.incoming.set(entry, false);
    else this.#dirty.incoming.delete(entry);
  }

  // ---- wills ---------------------------------------------------------------------------------

  async putWill(client: ClientRef, packet: WillPacket): Promise<ClientRef> {
    packet.brokerId = this.#broker?.id;
    packet.clientId = client.id;
    this.#wills.set(client.id, packet);
    this.#dirty.wills.set(client.id, packet);
    this.#changed();
    return client;
  }

  async getWill(client: ClientRef): Promise<WillPacket | undefined> {
    return this.#wills.get(client.id);
  }

  async delWill(client: ClientRef): Promise<WillPacket | undefined> {
    const will = this.#wills.get(client.id);
    if (will) {
      this.#wills.delete(client.id);
      this.#dirty.wills.set(client.id, null);
      this.#changed();
    }
    return will;
  }

  streamWill(brokers: Record<string, unknown> = {}): Readable {
    const wills: WillPacket[] = [];
    for (const will of this.#wills.values()) if (!brokers[will.brokerId as string]) wills.push(will);
    return Readable.from(wills);
  }

  /** Wills stored by another broker instance (i.e. before a restart), synchronously. */
  willsNotFrom(brokerId: string): WillPacket[] {
    return [...this.#wills.values()].filter((w) => w.brokerId !== brokerId);
  }

  // ---- sessions ------------------------------------------------------------------------------

  /** Forgets everything a persistent session left: subscriptions, queue, QoS 2 state, will. */
  dropSession(clientId: string): void {
    const client = { id: clientId };
    void this.cleanSubscriptions(client);
    void this.cleanIncoming(client);
    void this.delWill(client);
    const queue = this.#queues.get(clientId);
    if (queue) for (const entry of [...queue.values()]) this.#removeEntry(queue, entry);
    this.#changed();
  }

  /** Client ids that have subscriptions or queued messages (persistent sessions). */
  sessionIds(): Set<string> {
    const ids = new Set(this.#subs.keys());
    for (const [clientId, queue] of this.#queues) if (queue.size > 0) ids.add(clientId);
    return ids;
  }

  stats(): PersistenceStats {
    let queued = 0;
    for (const q of this.#queues.values()) queued += q.size;
    return { retained: this.#retained.size, sessions: this.#subs.size, queued, pendingWrites: this.#pending(), ...this.#stats };
  }

  /** False while writes to SQLite are failing (they are retried). */
  healthy(): boolean {
    return !this.#failing && !this.#destroyed;
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) throw new Error('destroyed called twice!');
    // Everything still queued is written, deferred or not: a clean stop loses nothing.
    for (const queue of this.#queues.values()) for (const entry of queue.values()) if (!entry.persisted) this.#dirty.out.set(entry, true);
    if (this.#deferTimer) clearTimeout(this.#deferTimer);
    this.flush();
    this.#destroyed = true;
  }

  // ---- writing -------------------------------------------------------------------------------

  /** Writes every dirty row now, in one transaction. */
  flush(): void {
    if (this.#flushTimer) {
      clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
    }
    if (this.#destroyed || this.#pending() === 0) return;
    const d = this.#dirty;
    try {
      this.#sql.write(d);
    } catch (err) {
      // Keep the dirty rows and try again later; memory still serves the broker meanwhile.
      this.#stats.flushErrors++;
      this.#failing = true;
      this.#log?.error({ err }, 'mqtt persistence flush failed; retrying');
      this.#flushTimer = setTimeout(() => this.flush(), 1000);
      this.#flushTimer.unref();
      return;
    }
    this.#failing = false;
    for (const [entry, write] of d.out) entry.persisted = write;
    for (const [entry, write] of d.incoming) entry.persisted = write;
    d.retained.clear();
    d.subs.clear();
    d.out.clear();
    d.incoming.clear();
    d.wills.clear();
  }

  #pending(): number {
    const d = this.#dirty;
    return d.retained.size + d.subs.size + d.out.size + d.incoming.size + d.wills.size;
  }

  #changed(): void {
    if (this.#destroyed) return;
    if (this.#pending() >= this.#maxPending) {
      this.flush();
      return;
    }
    if (!this.#flushTimer && this.#pending() > 0) {
      this.#flushTimer = setTimeout(() => this.flush(), this.#flushMs);
      // A pending flush must not keep the process alive; stop() flushes explicitly.
      this.#flushTimer.unref();
    }
  }

  #load(): void {
    const state = this.#sql.load();
    for (const p of state.retained) this.#retained.set(p.topic as string, p);
    for (const { clientId, topic, record } of state.subs) {
      let stored = this.#subs.get(clientId);
      if (!stored) this.#subs.set(clientId, (stored = new Map()));
      stored.set(topic, record);
      if (record.qos > 0) this.#trie.add(topic, clientId, record);
    }
    for (const entry of state.outgoing) {
      let queue = this.#queues.get(entry.clientId);
      if (!queue) this.#queues.set(entry.clientId, (queue = new OutgoingQueue()));
      queue.push(entry);
      this.#seq = Math.max(this.#seq, entry.seq + 1);
    }
    for (const entry of state.incoming) {
      let store = this.#incoming.get(entry.clientId);
      if (!store) this.#incoming.set(entry.clientId, (store = new Map()));
      store.set(entry.messageId, entry);
    }
    for (const will of state.wills) this.#wills.set(will.clientId as string, will);
  }
}
