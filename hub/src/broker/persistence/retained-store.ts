import { topicMatches } from '../topics.ts';
import type { StoredPacket } from './packets.ts';

/** The packet at the highest QoS any matching granted subscription allows (a copy if lowered). */
function downgrade(packet: StoredPacket, granted: { topic: string; qos: number }[]): StoredPacket {
  let max = 0;
  for (const g of granted) if (g.qos > max && topicMatches(g.topic, packet.topic as string)) max = g.qos;
  return (packet.qos ?? 0) > max ? { ...packet, qos: max } : packet;
}

/**
 * The broker persistence's retained messages (memory; written through PersistenceWriter's dirty
 * rows), at most `max` topics, and the QoS they are sent at on SUBSCRIBE.
 */
export class RetainedStore {
  readonly #retained = new Map<string, StoredPacket>();
  /** The writer's dirty retained rows (topic → packet, or null: delete). */
  readonly #dirty: Map<string, StoredPacket | null>;
  readonly #max: number;
  #granted: { topic: string; qos: number }[] | undefined;
  /** New retained topics refused because `max` were stored. */
  dropped = 0;

  constructor(dirty: Map<string, StoredPacket | null>, max: number) {
    this.#dirty = dirty;
    this.#max = max;
  }

  get size(): number {
    return this.#retained.size;
  }

  /** Stores (or clears) the topic's retained message; false if refused, so nothing to write. */
  store(pkt: StoredPacket): boolean {
    const topic = pkt.topic as string;
    // An empty retained payload clears the topic [MQTT-3.3.1-10].
    if (!pkt.payload || pkt.payload.length === 0) {
      if (this.#retained.delete(topic)) this.#dirty.set(topic, null);
    } else {
      if (!this.#retained.has(topic) && this.#retained.size >= this.#max) {
        this.dropped++;
        return false;
      }
      const packet = Object.assign({}, pkt);
      this.#retained.set(topic, packet);
      this.#dirty.set(topic, packet);
    }
    return true;
  }

  /** Retained messages for a SUBSCRIBE's filters, at the QoS granted (see grantedForNext). */
  forSubscribe(patterns: string[]): StoredPacket[] {
    const granted = this.#granted;
    this.#granted = undefined;
    const packets = this.matching(patterns);
    return granted ? packets.map((p) => downgrade(p, granted)) : packets;
  }

  /**
   * aedes 1.2 sends retained messages on SUBSCRIBE at the message's own QoS, even above the QoS
   * the subscription was granted, contrary to [MQTT-3.8.4-6]. The broker hands us the granted
   * subscriptions from the 'subscribe' event, which aedes emits synchronously just before it
   * asks for the retained stream of the same SUBSCRIBE; the next stream call uses them.
   */
  grantedForNext(subs: { topic: string; qos: number }[]): void {
    const granted = subs.filter((s) => s.qos <= 2);
    this.#granted = granted;
    // Meant for the call that follows synchronously; never for a later SUBSCRIBE's.
    queueMicrotask(() => {
      if (this.#granted === granted) this.#granted = undefined;
    });
  }

  /** Retained messages matching any of `patterns`, each once. */
  matching(patterns: string[]): StoredPacket[] {
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

  /** Messages read back at setup. */
  load(packets: StoredPacket[]): void {
    for (const p of packets) this.#retained.set(p.topic as string, p);
  }
}
