import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';

/** Keys remembered; beyond it the memory starts over (a few extra lines at worst). */
const MAX_KEYS = 1024;

/**
 * At most one line per key (e.g. reason and credential) per window, with how many were left out
 * since the last one: a flooding client gets its line, and cannot crowd out another's.
 */
export class KeyedLogThrottle {
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(log: Logger, clock: Clock, windowMs = 10_000) {
    this.#log = log;
    this.#clock = clock;
    this.#windowMs = windowMs;
  }

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const now = this.#clock.now();
    const last = this.#last.get(key);
    if (last !== undefined && now - last.at < this.#windowMs) {
      last.suppressed++;
      return;
    }
    if (last === undefined && this.#last.size >= MAX_KEYS) this.#last.clear();
    this.#log.warn(
      last !== undefined && last.suppressed > 0 ? { ...fields, suppressed: last.suppressed } : fields,
      message,
    );
    this.#last.set(key, { at: now, suppressed: 0 });
  }
}
