import type { Publisher } from './publish-budget.ts';

export interface RetainedLimits {
  /** Bytes (topic + payload) of retained messages one device credential may hold. */
  deviceBytes: number;
  /** The same for one integration user. */
  integrationBytes: number;
  /** Bytes of every retained message together. */
  totalBytes: number;
  /** Distinct retained topics. */
  topics: number;
}

/** A device's status (`online`/`offline`) is a few bytes; anything longer is an ordinary retained message. */
const STATUS_MAX_PAYLOAD = 64;
/** What a stored retained message costs beyond its topic and payload (map entries, row), roughly. */
const ENTRY_OVERHEAD = 64;

interface Entry {
  /** The credential whose budget it counts against; undefined for the hub's own and for statuses. */
  owner: string | undefined;
  bytes: number;
}

/** `hearth/<deviceId>/status`: the device id, or undefined. */
function statusOf(topic: string): string | undefined {
  if (!topic.startsWith('hearth/') || !topic.endsWith('/status')) return undefined;
  const id = topic.slice(7, -7);
  return id.length > 0 && !id.includes('/') ? id : undefined;
}

/**
 * Who holds how many bytes of retained messages, so one client cannot fill the broker's retained
 * store (it used to be bounded by count alone: 100,000 topics × 1 MiB). Every retained PUBLISH
 * passes `admit` before aedes stores it (admission.ts, from publish-path.ts); a refused one is still delivered
 * to current subscribers, just not retained (the old message on that topic stays), and counted.
 *
 * A message counts against the credential that published it until it is replaced or cleared.
 * A device's status (`hearth/<its id>/status`, up to 64 bytes, also as its will) and the hub's
 * own messages (the `offline` it publishes for a vanished device) are never refused, by any
 * budget or the topic cap, so a device's availability can never be crowded out.
 *
 * After a restart the stored messages are counted again: those under `hearth/<id>/` against the
 * device `<id>` (a device can publish only there), the others only in the total.
 */
export class RetainedBudget {
  readonly #limits: RetainedLimits;
  readonly #byTopic = new Map<string, Entry>();
  readonly #byOwner = new Map<string, number>();
  #total = 0;
  /** Retained messages refused (stats). */
  refused = 0;

  constructor(limits: RetainedLimits) {
    this.#limits = limits;
  }

  get bytes(): number {
    return this.#total;
  }

  /** Messages already stored (at start); `isDevice(id)` says whether `hearth/<id>/` belongs to a device. */
  load(packets: { topic?: string; payload?: Buffer | string }[], isDevice: (id: string) => boolean): void {
    for (const p of packets) {
      const topic = p.topic as string;
      const bytes = cost(topic, p.payload);
      let owner: string | undefined;
      if (statusOf(topic) === undefined && topic.startsWith('hearth/')) {
        const id = topic.slice(7, topic.indexOf('/', 7) < 0 ? undefined : topic.indexOf('/', 7));
        if (isDevice(id)) owner = id;
      }
      this.#set(topic, { owner, bytes });
    }
  }

  /**
   * A retained PUBLISH about to be stored, by `publisher` (undefined: the hub itself). True if it
   * may be (and it is counted from now on), false if it is over a budget.
   */
  admit(topic: string, payload: Buffer | string | undefined, publisher: Publisher | undefined): boolean {
    const size = payload === undefined ? 0 : typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    const old = this.#byTopic.get(topic);
    if (size === 0) {
      // Clears the topic [MQTT-3.3.1-10].
      if (old) this.#delete(topic, old);
      return true;
    }
    const bytes = cost(topic, payload);
    const status = statusOf(topic);
    const exempt =
      publisher === undefined ||
      (status !== undefined &&
        size <= STATUS_MAX_PAYLOAD &&
        publisher.kind === 'device' &&
        publisher.username === status);
    if (exempt) {
      this.#replace(topic, old, { owner: undefined, bytes });
      return true;
    }
    const owner = publisher.username;
    const limit = publisher.kind === 'device' ? this.#limits.deviceBytes : this.#limits.integrationBytes;
    const ownerBytes = (this.#byOwner.get(owner) ?? 0) - (old?.owner === owner ? old.bytes : 0) + bytes;
    const total = this.#total - (old?.bytes ?? 0) + bytes;
    if (
      ownerBytes > limit ||
      total > this.#limits.totalBytes ||
      (old === undefined && this.#byTopic.size >= this.#limits.topics)
    ) {
      this.refused++;
      return false;
    }
    this.#replace(topic, old, { owner, bytes });
    return true;
  }

  /** Bytes of retained messages counted against `owner`. */
  usedBy(owner: string): number {
    return this.#byOwner.get(owner) ?? 0;
  }

  #replace(topic: string, old: Entry | undefined, entry: Entry): void {
    if (old) this.#delete(topic, old);
    this.#set(topic, entry);
  }

  #set(topic: string, entry: Entry): void {
    this.#byTopic.set(topic, entry);
    this.#total += entry.bytes;
    if (entry.owner !== undefined) this.#byOwner.set(entry.owner, (this.#byOwner.get(entry.owner) ?? 0) + entry.bytes);
  }

  #delete(topic: string, old: Entry): void {
    this.#byTopic.delete(topic);
    this.#total -= old.bytes;
    if (old.owner === undefined) return;
    const left = (this.#byOwner.get(old.owner) ?? 0) - old.bytes;
    if (left > 0) this.#byOwner.set(old.owner, left);
    else this.#byOwner.delete(old.owner);
  }
}

function cost(topic: string, payload: Buffer | string | undefined): number {
  const size = payload === undefined ? 0 : typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  return Buffer.byteLength(topic) + size + ENTRY_OVERHEAD;
}
