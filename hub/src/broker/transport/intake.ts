import type { Clock, TimerHandle } from '../../core/clock.ts';

/** What the intake needs of aedes' client: its connection, and `resume()`, which reads what is waiting. */
export interface PausableClient {
  closed: boolean;
  conn: { read(size?: number | null): unknown };
  resume(): void;
}

type Read = PausableClient['conn']['read'];

/** aedes' message router (mqemitter): `length` is the number of messages waiting to be delivered. */
export interface RouterQueue {
  readonly length: number;
}

export interface IntakeOptions {
  /** The broker's clock: holds for the publish budget end on it. */
  clock: Clock;
  /** A client that publishes while more than this many messages wait for delivery stops being read. */
  high: number;
  /** Paused clients are read again once no more than this many wait. */
  low: number;
}

/**
 * Back-pressure from the message router to the publishers.
 *
 * aedes acknowledges a QoS 1 PUBLISH (PUBACK) before it routes it, and its router (mqemitter)
 * delivers at most `concurrency` messages at a time and queues the rest. aedes means to read a
 * connection's next chunk only once the previous chunk's packets are routed, but every
 * 'readable' event also counts as one finished packet, so under load a busy publisher is read
 * as fast as it sends. The router's queue then grows to whatever the publishers have in flight
 * (in bench/broker, 5,000 messages, 50–100 ms of work). Each of those messages is already
 * acknowledged to its publisher, held in memory, and waits in the persistent sessions' queues
 * long enough to outlive the ack grace (sqlite-persistence.ts) and be written to SQLite after
 * all, and to survive V8's young generation: both cost CPU, which makes the queue longer still.
 *
 * So a client that publishes while more than `high` messages wait stops being read: aedes'
 * `conn.read(null)` (it reads nothing else) gets nothing until the router is down to `low`, then
 * every paused client is read again through aedes' `resume()`. aedes' own `pause()` cannot do
 * this: a packet that completes while a client is paused is never counted off its batch, and
 * that connection is then never read again. Meanwhile the client's messages wait,
 * unacknowledged, in its socket, where TCP holds the sender back, as with any broker working at
 * its limit. Delivery never waits on a client's reading (deliveries complete once written), so
 * the router always drains.
 */
export class PublishIntake {
  readonly #queue: RouterQueue;
  readonly #high: number;
  readonly #low: number;
  readonly #clock: Clock;
  /** Paused clients and the `read` their connection had before. */
  readonly #paused = new Map<PausableClient, Read>();
  /** Paused clients that must also wait until then (ms epoch), whatever the router: their publish budget is spent. */
  readonly #held = new Map<PausableClient, number>();
  #checkScheduled = false;
  #holdTimer: TimerHandle | undefined;
  #holdTimerAt = 0;
  /** How many times a publisher was paused (stats). */
  pauses = 0;
  /** How many times a publisher was held for its publish budget (stats). */
  holds = 0;

  constructor(queue: RouterQueue, options: IntakeOptions) {
    this.#queue = queue;
    this.#high = options.high;
    this.#low = options.low;
    this.#clock = options.clock;
  }

  /** Called for every PUBLISH from a client, before it is routed. */
  published(client: PausableClient): void {
    if (this.#queue.length <= this.#high || client.closed || this.#paused.has(client)) return;
    this.#pause(client);
    this.pauses++;
    this.#scheduleCheck();
  }

  /**
   * Stops reading `client` for `ms` (its publish rate budget is spent; publish-budget.ts), then
   * until the router is down to its low mark like any paused client. What it sends meanwhile
   * waits in its socket, where TCP holds it back.
   */
  holdFor(client: PausableClient, ms: number, now = this.#clock.now()): void {
    if (client.closed) return;
    const until = now + ms;
    const held = this.#held.get(client);
    if (held !== undefined && held >= until) return;
    if (held === undefined) {
      this.holds++;
      if (!this.#paused.has(client)) this.#pause(client);
    }
    this.#held.set(client, until);
    this.#armHoldTimer(until, now);
  }

  /** A paused client that closes must not be kept. */
  forget(client: PausableClient): void {
    this.#held.delete(client);
    const read = this.#paused.get(client);
    if (read === undefined) return;
    this.#paused.delete(client);
    client.conn.read = read;
  }

  /** Resumes everyone, e.g. when the broker stops. */
  resumeAll(): void {
    this.#held.clear();
    this.#holdTimer?.cancel();
    this.#holdTimer = undefined;
    const paused = [...this.#paused];
    this.#paused.clear();
    for (const [client, read] of paused) {
      client.conn.read = read;
      if (!client.closed) client.resume();
    }
  }

  #pause(client: PausableClient): void {
    const conn = client.conn;
    const read = conn.read;
    this.#paused.set(client, read);
    // Node's own stream machinery reads with a size (read(0) to refill); only aedes reads all.
    conn.read = function pausedRead(this: unknown, size?: number | null) {
      return size === null || size === undefined ? null : read.call(this, size);
    };
  }

  #resume(client: PausableClient): void {
    const read = this.#paused.get(client);
    if (read === undefined) return;
    this.#paused.delete(client);
    client.conn.read = read;
    if (!client.closed) client.resume();
  }

  #scheduleCheck(): void {
    if (this.#checkScheduled) return;
    this.#checkScheduled = true;
    setImmediate(() => this.#check());
  }

  /** Once per event-loop turn while anyone is paused for the router. */
  #check(): void {
    this.#checkScheduled = false;
    if (this.#paused.size === 0) return;
    if (this.#queue.length > this.#low) {
      if (this.#paused.size > this.#held.size) this.#scheduleCheck();
      return;
    }
    for (const client of [...this.#paused.keys()]) if (!this.#held.has(client)) this.#resume(client);
  }

  #armHoldTimer(until: number, now: number): void {
    if (this.#holdTimer !== undefined && this.#holdTimerAt <= until) return;
    this.#holdTimer?.cancel();
    this.#holdTimerAt = until;
    this.#holdTimer = this.#clock.setTimeout(() => this.#holdsOver(), Math.max(1, until - now));
  }

  /** Holds that ran out: those clients are read again (once the router is low, see #check). */
  #holdsOver(): void {
    this.#holdTimer = undefined;
    const now = this.#clock.now();
    let next = Infinity;
    for (const [client, until] of this.#held) {
      if (until <= now) this.#held.delete(client);
      else if (until < next) next = until;
    }
    if (next !== Infinity) this.#armHoldTimer(next, now);
    this.#check();
  }
}
