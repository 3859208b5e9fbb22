import type { LogThrottle } from './log-throttle.ts';

export type InternalHandler = (topic: string, payload: Buffer) => void;

interface RoutedPacket {
  topic: string;
  payload: Buffer | string;
}

type Deliver = (packet: RoutedPacket, done: () => void) => void;

/** The broker side the registry routes through (aedes' message router, retained store). */
export interface RouterTarget {
  subscribe(filter: string, deliver: Deliver): void;
  unsubscribe(filter: string, deliver: Deliver): void;
  retained(filter: string): RoutedPacket[];
}

interface InternalSub {
  /** Cleared on removal: the router drops the listener only on its next turn. */
  active: boolean;
  owner: string;
  filter: string;
  deliver: Deliver;
  handler: InternalHandler;
}

const toBuffer = (p: Buffer | string): Buffer => (typeof p === 'string' ? Buffer.from(p) : p);

/**
 * Hub-internal subscriptions (drivers, the registry): grouped by owner so a part's `stop()`
 * drops all of its subscriptions at once, not subject to client ACLs, and, like a new MQTT
 * subscription, handed the matching retained messages first [MQTT-3.3.1-6] (so a driver that
 * starts after its devices reconnected still sees their current `status`). Subscriptions made
 * before the broker starts are kept and routed at start.
 */
export class InternalSubscriptions {
  readonly #subs = new Set<InternalSub>();
  readonly #warn: LogThrottle;
  #target: RouterTarget | undefined;

  constructor(warn: LogThrottle) {
    this.#warn = warn;
  }

  add(owner: string, filter: string, handler: InternalHandler): () => void {
    // A filter starting with a wildcard does not see `$` topics [MQTT-4.7.2-1].
    const skipDollar = filter.startsWith('#') || filter.startsWith('+');
    const warn = this.#warn;
    const sub: InternalSub = {
      active: true,
      owner,
      filter,
      handler,
      deliver: (packet, done) => {
        if (sub.active && !(skipDollar && packet.topic.charCodeAt(0) === 0x24)) {
          try {
            handler(packet.topic, toBuffer(packet.payload));
          } catch (err) {
            // A failing handler must not break routing for everyone else.
            warn.warn({ err, owner, topic: packet.topic }, 'hub-internal mqtt handler failed');
          }
        }
        done();
      },
    };
    this.#subs.add(sub);
    if (this.#target) this.#route(sub, this.#target);
    return () => this.#remove(sub);
  }

  removeOwner(owner: string): void {
    for (const sub of this.#subs) if (sub.owner === owner) this.#remove(sub);
  }

  /** Starts routing every subscription through `target`. */
  attach(target: RouterTarget): void {
    this.#target = target;
    for (const sub of this.#subs) this.#route(sub, target);
  }

  detach(): void {
    this.#target = undefined;
  }

  #route(sub: InternalSub, target: RouterTarget): void {
    target.subscribe(sub.filter, sub.deliver);
    const retained = target.retained(sub.filter);
    if (retained.length === 0) return;
    // After the caller's subscribe() returned, and before any message routed later.
    queueMicrotask(() => {
      for (const packet of retained) sub.deliver(packet, noop);
    });
  }

  #remove(sub: InternalSub): void {
    if (!this.#subs.delete(sub)) return;
    sub.active = false;
    this.#target?.unsubscribe(sub.filter, sub.deliver);
  }
}

function noop(): void {}
