/** A sustained rate and the burst allowed on top of it (a token bucket). */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export interface PublishRateLimits {
  /** Each device credential (its one connection). */
  device: RateLimit;
  /** Each integration user, all its connections together. */
  integration: RateLimit;
  /** Every client's PUBLISHes together. */
  total: RateLimit;
}

/**
 * A token bucket that can go into debt: a message sent with the bucket empty is still counted,
 * down to `-burst`, so a flooder waits for every message it sent, not just for the next token
 * (each time it is read again, aedes hands over a whole socket chunk, hundreds of messages).
 */
class Bucket {
  readonly limit: RateLimit;
  tokens: number;
  #at: number;

  constructor(limit: RateLimit, now: number) {
    this.limit = limit;
    this.tokens = limit.burst;
    this.#at = now;
  }

  refill(now: number): number {
    if (now > this.#at) {
      this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.#at) * this.limit.perSecond) / 1000);
      this.#at = now;
    }
    return this.tokens;
  }

  /** Milliseconds until a whole token is back. */
  waitMs(): number {
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.limit.perSecond));
  }
}

/** What `take` decided about one PUBLISH. */
export const WITHIN = 0;
/** Over budget: hold the client back `waitMs`, shed it if QoS 0. */
export const OVER = 1;
/** Its credential's debt is at the floor: it kept sending far beyond its budget; disconnect it. */
export const EXHAUSTED = 2;
export type Verdict = typeof WITHIN | typeof OVER | typeof EXHAUSTED;

/** Who published: the credential's username and whether it is a device. */
export interface Publisher {
  readonly username: string;
  readonly kind: 'device' | 'integration';
}

/**
 * Publish rate limits: a token bucket per credential (a device's connection; an integration
 * user's connections together) and one for every client together. A PUBLISH takes a token from
 * both; with either empty it is over budget, and `waitMs` says how long until there is room
 * again (the broker then stops reading that client for that long and sheds its QoS 0 messages;
 * an EXHAUSTED client is disconnected, see PublishAdmission.admit). The hub's own publishes and
 * wills are not counted.
 */
export class PublishBudget {
  readonly #limits: PublishRateLimits;
  readonly #total: Bucket;
  readonly #byCredential = new Map<string, Bucket>();
  #sweepAt = 0;
  /** After `take` returned OVER: how long the client should not be read. */
  waitMs = 0;

  constructor(limits: PublishRateLimits, now: number) {
    this.#limits = limits;
    this.#total = new Bucket(limits.total, now);
  }

  /**
   * Counts one PUBLISH. A credential within its own budget but with the total spent is OVER for
   * as long as the total needs (it is not charged: others spent it). A credential over its own
   * budget is charged anyway (debt, see Bucket) and OVER until it has paid; EXHAUSTED once its
   * debt reached a whole burst.
   */
  take(publisher: Publisher, now: number): Verdict {
    let own = this.#byCredential.get(publisher.username);
    if (own === undefined) {
      if (now >= this.#sweepAt) this.#sweep(now);
      own = new Bucket(publisher.kind === 'device' ? this.#limits.device : this.#limits.integration, now);
      this.#byCredential.set(publisher.username, own);
    }
    if (own.refill(now) >= 1) {
      const total = this.#total;
      if (total.refill(now) >= 1) {
        own.tokens -= 1;
        total.tokens -= 1;
        return WITHIN;
      }
      this.waitMs = total.waitMs();
      return OVER;
    }
    if (own.tokens <= -own.limit.burst) {
      this.waitMs = own.waitMs();
      return EXHAUSTED;
    }
    own.tokens -= 1;
    this.waitMs = own.waitMs();
    return OVER;
  }

  /** Buckets that refilled completely say nothing a new one would not: forget them (bounds memory). */
  #sweep(now: number): void {
    this.#sweepAt = now + 60_000;
    for (const [username, bucket] of this.#byCredential)
      if (bucket.refill(now) >= bucket.limit.burst) this.#byCredential.delete(username);
  }

  get credentials(): number {
    return this.#byCredential.size;
  }
}
