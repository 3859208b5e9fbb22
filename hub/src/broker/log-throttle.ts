import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';

/**
 * Caps how many lines one noisy source (refused connects from a misconfigured plug, a buggy
 * subscriber handler) writes per window; the rest are counted and summarized once.
 */
export class LogThrottle {
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #max: number;
  readonly #windowMs: number;
  #windowStart = 0;
  #count = 0;
  #suppressed = 0;

  constructor(log: Logger, clock: Clock, max = 20, windowMs = 10_000) {
    this.#log = log;
    this.#clock = clock;
    this.#max = max;
    this.#windowMs = windowMs;
  }

  warn(fields: Record<string, unknown>, message: string): void {
    const now = this.#clock.now();
    if (now - this.#windowStart >= this.#windowMs) {
      if (this.#suppressed > 0) this.#log.warn({ suppressed: this.#suppressed }, 'similar broker warnings suppressed');
      this.#windowStart = now;
      this.#count = 0;
      this.#suppressed = 0;
    }
    if (this.#count++ < this.#max) this.#log.warn(fields, message);
    else this.#suppressed++;
  }
}
