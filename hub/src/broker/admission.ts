import type { Clock } from '../core/clock.ts';
import type { HearthClient } from './client-state.ts';
import type { BrokerCounters } from './counters.ts';
import type { Principal } from './credentials.ts';
import type { KeyedLogThrottle } from './keyed-log-throttle.ts';
import type { BrokerLimits } from './limits.ts';
import { EXHAUSTED, OVER, PublishBudget } from './publish-budget.ts';
import { RetainedBudget } from './retained-budget.ts';
import type { PublishIntake, RouterQueue } from './transport/intake.ts';

/**
 * Beyond this many messages waiting in the router, clients' QoS 0 PUBLISHes are shed. The intake
 * pauses publishers at its high mark, but each still hands over the packets of the chunk already
 * read (up to ~64 KiB each), so 100 flooding connections could queue tens of thousands.
 */
const ROUTER_SHED = 5000;

export interface AdmissionDeps {
  limits: BrokerLimits;
  /** The broker's clock: the token buckets refill on it. */
  clock: Clock;
  counters: BrokerCounters;
  /** Shedding logs once per reason and credential per window, so a flood silences neither other warnings nor other flooders. */
  shedWarn: KeyedLogThrottle;
  /** True if the client id is a device's (its credential exists). */
  isDevice(clientId: string): boolean;
}

/**
 * What an authenticated client may put into the broker, decided per PUBLISH: its publish rate
 * (publish-budget.ts), its retained bytes (retained-budget.ts), and the bytes its session may
 * have queued. Who may connect, publish where and subscribe to what is decided once per CONNECT
 * or SUBSCRIBE by the aedes hooks (hooks.ts); publish-path.ts calls `admit` for every PUBLISH.
 */
export class PublishAdmission {
  readonly #deps: AdmissionDeps;
  readonly #budget: PublishBudget;
  readonly #retained: RetainedBudget;
  /** Queue byte budget per client id, by its credential's kind (see queuedBytesOf). */
  readonly #queueBudgets = new Map<string, number>();
  /** The intake holds a client over its rate; the router's length decides `router_full` sheds. */
  #intake: PublishIntake | undefined;
  #router: RouterQueue | undefined;

  constructor(deps: AdmissionDeps) {
    this.#deps = deps;
    const { limits } = deps;
    this.#budget = new PublishBudget(limits.publishRates, deps.clock.now());
    const rb = limits.retainedBytes;
    this.#retained = new RetainedBudget({
      deviceBytes: rb.device,
      integrationBytes: rb.integration,
      totalBytes: rb.total,
      topics: limits.maxRetained,
    });
  }

  /** aedes' router and the intake in front of it, once aedes exists. */
  attach(router: RouterQueue, intake: PublishIntake): void {
    this.#router = router;
    this.#intake = intake;
  }

  /** Counts the retained messages read back at start against their publishers' budgets. */
  loadRetained(packets: { topic?: string; payload?: Buffer | string }[], isDevice: (id: string) => boolean): void {
    this.#retained.load(packets, isDevice);
  }

  /** Retained bytes held, and retained messages refused (not kept) for their budget. */
  get retainedBytes(): number {
    return this.#retained.bytes;
  }

  get retainedRefused(): number {
    return this.#retained.refused;
  }

  /**
   * Sheds load: a client over its publish rate budget (publish-budget.ts) is not read until the
   * budget has room again, and its QoS 0 messages over budget are dropped (at most once allows
   * it), as are every client's QoS 0 messages while the router has more than ROUTER_SHED
   * waiting. QoS 1/2 messages are never dropped for that (holding the client back bounds them).
   * A client that goes on sending a whole burst beyond its budget is disconnected, in this turn:
   * the PUBACKs gathered for it are never sent (write-batcher.ts), so its QoS 1/2 messages are
   * sent again after a reconnect rather than lost. Sheds are counted (`shedMessages`,
   * `rateLimitDisconnects`) and logged once per reason and credential per window.
   * False: drop this message (the caller completes it without routing).
   */
  admit(
    client: HearthClient,
    packet: { qos: number; topic?: string; payload?: Buffer | string; retain?: boolean },
  ): boolean {
    const principal = client.hearth?.principal;
    if (principal === undefined) return true;
    if (packet.retain)
      this.#admitRetained(client, principal, packet as { topic: string; payload?: Buffer | string; retain: boolean });
    if (packet === client.will) return true;
    const { counters, shedWarn } = this.#deps;
    const budget = this.#budget;
    const now = this.#deps.clock.now();
    const verdict = budget.take(principal, now);
    if (client.conn.destroyed) {
      // The rest of a chunk read before it was disconnected (below): nothing more to decide.
      counters.shedMessages++;
      return false;
    }
    if (verdict === EXHAUSTED) {
      counters.shedMessages++;
      counters.rateLimitDisconnects++;
      shedWarn.warn(
        `d\u0000${principal.username}`,
        { clientId: client.id, username: principal.username, reason: 'rate_limit_exceeded' },
        'mqtt client disconnected',
      );
      client.conn.destroy();
      return false;
    }
    if (verdict === OVER) this.#intake?.holdFor(client, budget.waitMs, now);
    if (packet.qos === 0 && (verdict === OVER || (this.#router?.length ?? 0) > ROUTER_SHED)) {
      counters.shedMessages++;
      const reason = verdict === OVER ? 'rate_limited' : 'router_full';
      shedWarn.warn(
        `${reason}\u0000${principal.username}`,
        { clientId: client.id, username: principal.username, reason },
        'mqtt publishes shed',
      );
      return false;
    }
    return true;
  }

  /** The hub's own retained message (and wills restored after a restart): never refused, but counted. */
  admitOwn(packet: { topic: string; payload?: Buffer | string; retain?: boolean }): void {
    if (packet.retain) this.#retained.admit(packet.topic, packet.payload, undefined);
  }

  /** A client of this credential connected: its queue's byte budget is its kind's. */
  setQueueBudget(clientId: string, kind: Principal['kind']): void {
    this.#queueBudgets.set(
      clientId,
      kind === 'device' ? this.#deps.limits.queuedBytes.device : this.#deps.limits.queuedBytes.integration,
    );
  }

  /** Its session is gone (a clean session ended, or a persistent one was dropped). */
  forgetQueueBudget(clientId: string): void {
    this.#queueBudgets.delete(clientId);
  }

  /** The byte budget of a client's queue (offline or in flight), by its credential's kind. */
  queuedBytesOf(clientId: string): number {
    let budget = this.#queueBudgets.get(clientId);
    if (budget === undefined) {
      // A session restored after a restart whose client has not connected yet.
      const { limits } = this.#deps;
      budget = this.#deps.isDevice(clientId) ? limits.queuedBytes.device : limits.queuedBytes.integration;
      this.#queueBudgets.set(clientId, budget);
    }
    return budget;
  }

  /**
   * A client's retained PUBLISH (or will) over its retained byte budget (retained-budget.ts) is
   * delivered as usual but not retained: its retain flag is cleared before aedes stores it, so
   * the message already retained on that topic stays. Counted (`droppedRetainedMessages`) and logged.
   */
  #admitRetained(
    client: HearthClient,
    principal: Principal,
    packet: { topic: string; payload?: Buffer | string; retain: boolean },
  ): void {
    if (this.#retained.admit(packet.topic, packet.payload, principal)) return;
    packet.retain = false;
    this.#deps.shedWarn.warn(
      `retained\u0000${principal.username}`,
      { clientId: client.id, username: principal.username, topic: packet.topic, reason: 'retained_budget' },
      'mqtt retained message not kept',
    );
  }
}
