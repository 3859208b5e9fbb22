import { HubError } from '../core/errors.ts';

/**
 * How many export ffmpegs run at once, per user and in all. Each one reads and writes a range
 * of footage (up to an hour, ~1.8 GB): a few in parallel saturate an SD card, twenty make the
 * hub and its recording crawl. Past the bound the request is refused at once with 429
 * `too_many_exports` (a player retries; queueing would only hold sockets and memory).
 */
export class ExportSlots {
  readonly #perUser: number;
  readonly #total: number;
  readonly #byUser = new Map<string, number>();
  #running = 0;
  /** The most that ever ran at once (exposed in /metrics: the bound is observable). */
  runningMax = 0;

  constructor(limits: { perUser: number; total: number }) {
    this.#perUser = Math.max(1, limits.perUser);
    this.#total = Math.max(1, limits.total);
  }

  get running(): number {
    return this.#running;
  }

  /** Takes a slot for `user`, or throws `too_many_exports`; returns its release (idempotent). */
  acquire(user: string): () => void {
    const mine = this.#byUser.get(user) ?? 0;
    if (mine >= this.#perUser) {
      throw new HubError(
        'too_many_exports',
        `at most ${this.#perUser} exports per person at once; try again when one is done`,
        { scope: 'user', limit: this.#perUser, retryAfterS: 2 },
      );
    }
    if (this.#running >= this.#total) {
      throw new HubError('too_many_exports', `at most ${this.#total} exports at once on this hub; try again shortly`, {
        scope: 'all',
        limit: this.#total,
        retryAfterS: 2,
      });
    }
    this.#byUser.set(user, mine + 1);
    this.#running++;
    this.runningMax = Math.max(this.runningMax, this.#running);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#running--;
      const left = (this.#byUser.get(user) ?? 1) - 1;
      if (left > 0) this.#byUser.set(user, left);
      else this.#byUser.delete(user);
    };
  }
}
