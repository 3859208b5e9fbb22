import type { StoredPacket } from './packets.ts';

/** One queued message (or PUBREL) for one client. */
export interface OutEntry {
  readonly clientId: string;
  /** Global enqueue order; the row's key on disk. */
  readonly seq: number;
  packet: StoredPacket;
  /** A row for it exists on disk (so removing it needs a DELETE). */
  persisted: boolean;
  /** It left the queue (acknowledged, dropped, session discarded). */
  removed: boolean;
}

/**
 * A client's queue of QoS 1/2 messages, in delivery order, with indexes so every operation aedes
 * does per message is O(1): the lookup by (broker id, broker counter) when a message id is
 * assigned, and by message id when the client acknowledges. (aedes-persistence's memory queue
 * scans the whole queue for both, which is quadratic with thousands of messages in flight.)
 */
export class OutgoingQueue {
  readonly #entries = new Map<number, OutEntry>();
  /**
   * A message's identity is (broker id, broker counter). Nearly every entry comes from the
   * running broker, so those of one broker id (`#mainBroker`) are indexed by counter alone, and
   * only others (entries loaded from a previous run) by broker id first.
   */
  #mainBroker: string | undefined;
  readonly #byCounter = new Map<number, OutEntry>();
  #otherBrokers: Map<string | undefined, Map<number, OutEntry>> | undefined;
  /** messageId → entry, or entries if ids wrapped around with old messages still queued (rare). */
  readonly #byMessageId = new Map<number, OutEntry | OutEntry[]>();
  /** Bytes of the queued packets' topics and payloads (for the per-session byte budget). */
  bytes = 0;

  get size(): number {
    return this.#entries.size;
  }

  push(entry: OutEntry): void {
    this.#entries.set(entry.seq, entry);
    this.bytes += packetBytes(entry.packet);
    this.#index(entry);
  }

  oldest(): OutEntry | undefined {
    return this.#entries.values().next().value;
  }

  values(): IterableIterator<OutEntry> {
    return this.#entries.values();
  }

  packets(): StoredPacket[] {
    const out: StoredPacket[] = [];
    for (const e of this.#entries.values()) out.push(e.packet);
    return out;
  }

  /** The entry of the same message (same broker id and counter). */
  byIdentity(brokerId: string | undefined, brokerCounter: number | undefined): OutEntry | undefined {
    if (brokerCounter === undefined) return undefined;
    if (brokerId === this.#mainBroker) return this.#byCounter.get(brokerCounter);
    return this.#otherBrokers?.get(brokerId)?.get(brokerCounter);
  }

  /** The oldest entry with this message id whose broker id differs from `notBrokerId` (null: any). */
  byMessageId(messageId: number | undefined, notBrokerId?: string | null): OutEntry | undefined {
    if (messageId === undefined) return undefined;
    const hit = this.#byMessageId.get(messageId);
    if (hit === undefined) return undefined;
    if (!Array.isArray(hit)) return notBrokerId === null || hit.packet.brokerId !== notBrokerId ? hit : undefined;
    let found: OutEntry | undefined;
    for (const e of hit)
      if ((notBrokerId === null || e.packet.brokerId !== notBrokerId) && (!found || e.seq < found.seq)) found = e;
    return found;
  }

  /** Sets an entry's message id (a new delivery), keeping the message id index right. */
  setMessageId(entry: OutEntry, messageId: number | undefined): void {
    if (entry.packet.messageId === messageId) return;
    this.#unindexMessageId(entry);
    entry.packet.messageId = messageId;
    this.#indexMessageId(entry);
  }

  /** Replaces an entry's packet (a QoS 2 PUBLISH by its PUBREL), keeping the indexes right. */
  replacePacket(entry: OutEntry, packet: StoredPacket): void {
    this.#unindex(entry);
    this.bytes += packetBytes(packet) - packetBytes(entry.packet);
    entry.packet = packet;
    this.#index(entry);
  }

  remove(entry: OutEntry): void {
    if (!this.#entries.delete(entry.seq)) return;
    this.bytes -= packetBytes(entry.packet);
    this.#unindex(entry);
    entry.removed = true;
  }

  #index(e: OutEntry): void {
    const { brokerId, brokerCounter } = e.packet;
    if (brokerCounter !== undefined && e.packet.cmd === 'publish') {
      // The main broker id changes only when nothing is indexed, so no entry is ever looked for in the wrong map.
      if (this.#byCounter.size === 0 && (this.#otherBrokers === undefined || this.#otherBrokers.size === 0))
        this.#mainBroker = brokerId;
      if (brokerId === this.#mainBroker) {
        this.#byCounter.set(brokerCounter, e);
      } else {
        const others = (this.#otherBrokers ??= new Map());
        let byCounter = others.get(brokerId);
        if (!byCounter) others.set(brokerId, (byCounter = new Map()));
        byCounter.set(brokerCounter, e);
      }
    }
    this.#indexMessageId(e);
  }

  #indexMessageId(e: OutEntry): void {
    const messageId = e.packet.messageId;
    if (messageId === undefined) return;
    const hit = this.#byMessageId.get(messageId);
    if (hit === undefined) this.#byMessageId.set(messageId, e);
    else if (Array.isArray(hit)) hit.push(e);
    else this.#byMessageId.set(messageId, [hit, e]);
  }

  #unindex(e: OutEntry): void {
    const { brokerId, brokerCounter } = e.packet;
    if (brokerCounter !== undefined) {
      if (brokerId === this.#mainBroker) {
        if (this.#byCounter.get(brokerCounter) === e) this.#byCounter.delete(brokerCounter);
      } else {
        const byCounter = this.#otherBrokers?.get(brokerId);
        if (byCounter?.get(brokerCounter) === e) {
          byCounter.delete(brokerCounter);
          if (byCounter.size === 0) this.#otherBrokers!.delete(brokerId);
        }
      }
    }
    this.#unindexMessageId(e);
  }

  #unindexMessageId(e: OutEntry): void {
    const messageId = e.packet.messageId;
    if (messageId === undefined) return;
    const hit = this.#byMessageId.get(messageId);
    if (hit === e) {
      this.#byMessageId.delete(messageId);
    } else if (Array.isArray(hit)) {
      const i = hit.indexOf(e);
      if (i >= 0) hit.splice(i, 1);
      if (hit.length === 1) this.#byMessageId.set(messageId, hit[0]!);
      else if (hit.length === 0) this.#byMessageId.delete(messageId);
    }
  }
}

/** What a queued packet holds in memory beyond its fixed fields: its topic and payload (string lengths as bytes, near enough). */
function packetBytes(p: StoredPacket): number {
  const payload = p.payload;
  return (payload === undefined ? 0 : payload.length) + (p.topic === undefined ? 0 : p.topic.length);
}
