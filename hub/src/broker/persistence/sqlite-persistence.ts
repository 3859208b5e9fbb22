import { Readable } from 'node:stream';
import { systemClock, type Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import type { Db } from '../../store/db.ts';
import { OutgoingStore } from './outgoing-store.ts';
import { queueCopy, type StoredPacket, type WillPacket } from './packets.ts';
import { PersistenceSql, type DirtyRows, type IncomingEntry, type SubRecord } from './persistence-sql.ts';
import { PersistenceWriter } from './persistence-writer.ts';
import { RetainedStore } from './retained-store.ts';
import { SubscriptionTrie, type MatchedSubscription } from './subscription-trie.ts';

export type { StoredPacket, WillPacket } from './packets.ts';

/**
 * The aedes persistence (the async interface of aedes-persistence 11, checked by its own
 * abstract test suite in hub/test/broker/persistence.abstract.ts) on the hub's SQLite file.
 * This class is what aedes calls; it holds the subscriptions, incoming QoS 2 state and wills
 * itself, and leaves the retained messages to retained-store.ts, the outgoing queues to
 * outgoing-store.ts and the writing to persistence-writer.ts.
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
 *   thus costs no disk writes, and only what actually waits is made durable. (Such messages wait
 *   in 10 ms buckets, so a message may be written a little before its grace is over, never after
 *   it: see outgoing-store.ts.)
 * - `setup()` loads every table back into memory; `destroy()` writes everything still pending.
 *
 * Durability window (what a crash, kill -9 or power cut may lose):
 * - messages queued for offline sessions, retained messages, subscriptions, wills, incoming
 *   QoS 2 state: changes of the last `flushMs` (plus one transaction);
 * - messages in flight to connected clients: those queued in the last `ackGraceMs + flushMs`;
 *   after a restart the client gets the older ones again (QoS 1 is at least once). Message ids
 *   of in-flight QoS 1 messages are not written (a redelivery gets a new one); those of QoS 2
 *   messages and their PUBREL state are, as exactly-once needs.
 * None of this is acknowledged yet: the broker sends a publisher's PUBACK (QoS 1) and PUBREC
 * (QoS 2) only after the transaction holding the message's rows (queued copies for offline
 * sessions, the retained message, the incoming QoS 2 state) committed (`afterCommit`, group
 * commit: one transaction releases every acknowledgement waiting on it; see publish-path.ts). So what
 * the broker acknowledged survives the death of the hub process; a message that only went to
 * connected subscribers is acknowledged once routed to them, as before. With WAL and
 * synchronous=NORMAL (store/db.ts) a power cut (not a process death) may also lose the last
 * committed transactions, never consistency. A clean stop loses nothing.
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
  /** The clock of the ack grace's deferral (outgoing-store.ts); the system clock if not given. */
  clock?: Clock;
  /** How long changes gather before one transaction writes them. */
  flushMs?: number;
  /** How long a message to a connected client may wait for its ack before it is written. 0 = always write. */
  ackGraceMs?: number;
  /** Write at once when this many rows are dirty, bounding memory and transaction size. */
  maxPendingWrites?: number;
  /** Messages kept per persistent session; beyond it the oldest is dropped. */
  maxQueuedPerClient?: number;
  /** Bytes (topics and payloads) kept per client, queued or in flight; beyond it the oldest are dropped. */
  maxQueuedBytes?: (clientId: string) => number;
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

/** Distinct topics whose subscription matches are cached; beyond it the cache starts over. */
const MATCH_CACHE_SIZE = 4096;

export class SqlitePersistence {
  readonly #sql: PersistenceSql;
  readonly #writer: PersistenceWriter;
  /** The writer's dirty rows, marked directly by each change. */
  readonly #dirty: DirtyRows;
  #broker: BrokerRef | undefined;

  // The read path.
  readonly #retained: RetainedStore;
  readonly #subs = new Map<string, Map<string, SubRecord>>();
  readonly #trie = new SubscriptionTrie();
  /** topic → persistent subscriptions matching it, as a settled promise (callers never mutate the arrays). */
  readonly #matchCache = new Map<string, Promise<MatchedSubscription[]>>();
  readonly #outgoing: OutgoingStore;
  readonly #incoming = new Map<string, Map<number, IncomingEntry>>();
  readonly #wills = new Map<string, WillPacket>();

  constructor(options: SqlitePersistenceOptions) {
    this.#sql = new PersistenceSql(options.db);
    this.#writer = new PersistenceWriter(this.#sql, {
      log: options.log,
      flushMs: options.flushMs ?? 5,
      maxPending: options.maxPendingWrites ?? 20_000,
    });
    this.#dirty = this.#writer.dirty;
    this.#outgoing = new OutgoingStore(this.#writer, {
      clock: options.clock ?? systemClock,
      ackGraceMs: options.ackGraceMs ?? 100,
      maxQueued: options.maxQueuedPerClient ?? 10_000,
      ...(options.maxQueuedBytes ? { maxQueuedBytes: options.maxQueuedBytes } : {}),
    });
    this.#retained = new RetainedStore(this.#dirty.retained, options.maxRetained ?? 100_000);
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
    if (this.#retained.store(pkt)) this.#changed();
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(this.#retained.forSubscribe(patterns));
  }

  createRetainedStream(pattern: string): Readable {
    return Readable.from(this.#retained.matching([pattern]));
  }

  /** The QoS granted by a SUBSCRIBE, for the retained stream aedes asks for next (see retained-store.ts). */
  grantedForNextRetained(subs: { topic: string; qos: number }[]): void {
    this.#retained.grantedForNext(subs);
  }

  /** Retained messages matching any of `patterns`, each once. Synchronous, for the hub itself. */
  retainedMatching(patterns: string[]): StoredPacket[] {
    return this.#retained.matching(patterns);
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
      this.#outgoing.enqueue(sub.clientId, packet);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return DONE;
  }

  outgoingEnqueueCombi(subs: { clientId: string }[], packet: StoredPacket): Promise<void> {
    if (subs.length === 0) return DONE;
    try {
      this.#outgoing.enqueueAll(subs, packet);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return DONE;
  }

  outgoingUpdate(client: ClientRef, packet: StoredPacket): Promise<void> {
    try {
      if (this.#outgoing.update(client.id, packet)) return DONE;
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return Promise.reject(new Error('no such packet'));
  }

  outgoingClearMessageId(client: ClientRef, packet: StoredPacket): Promise<StoredPacket | undefined> {
    try {
      const entry = this.#outgoing.clearMessageId(client.id, packet?.messageId);
      return entry ? Promise.resolve(entry.packet) : NONE;
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  outgoingStream(client: ClientRef): Readable {
    // A snapshot: the queue changes while the stream is consumed.
    return Readable.from(this.#outgoing.packets(client.id));
  }

  /** Deliveries to connected clients are written only if they wait (see the class comment). */
  clientOnline(clientId: string): void {
    this.#outgoing.clientOnline(clientId);
  }

  clientOffline(clientId: string): void {
    this.#outgoing.clientOffline(clientId);
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
    this.#outgoing.drop(clientId);
    this.#changed();
  }

  /** Client ids that have subscriptions or queued messages (persistent sessions). */
  sessionIds(): Set<string> {
    const ids = new Set(this.#subs.keys());
    this.#outgoing.addQueuedClients(ids);
    return ids;
  }

  stats(): PersistenceStats {
    return {
      retained: this.#retained.size,
      sessions: this.#subs.size,
      queued: this.#outgoing.queued(),
      pendingWrites: this.#writer.pending(),
      droppedQueued: this.#outgoing.dropped,
      droppedRetained: this.#retained.dropped,
      flushErrors: this.#writer.errors,
    };
  }

  /** False while writes to SQLite are failing (they are retried). */
  healthy(): boolean {
    return !this.#writer.failing && !this.#writer.closed;
  }

  async destroy(): Promise<void> {
    if (this.#writer.closed) throw new Error('destroyed called twice!');
    this.#outgoing.close();
    this.#writer.close();
  }

  /** Writes every dirty row now, in one transaction. */
  flush(): void {
    this.#writer.flush();
  }

  /** Calls `cb` once every change made so far is committed (group commit, persistence-writer.ts). */
  afterCommit(cb: () => void): void {
    this.#writer.afterCommit(cb);
  }

  #changed(): void {
    this.#writer.changed();
  }

  #load(): void {
    const state = this.#sql.load();
    this.#retained.load(state.retained);
    for (const { clientId, topic, record } of state.subs) {
      let stored = this.#subs.get(clientId);
      if (!stored) this.#subs.set(clientId, (stored = new Map()));
      stored.set(topic, record);
      if (record.qos > 0) this.#trie.add(topic, clientId, record);
    }
    this.#outgoing.load(state.outgoing);
    for (const entry of state.incoming) {
      let store = this.#incoming.get(entry.clientId);
      if (!store) this.#incoming.set(entry.clientId, (store = new Map()));
      store.set(entry.messageId, entry);
    }
    for (const will of state.wills) this.#wills.set(will.clientId as string, will);
  }
}
