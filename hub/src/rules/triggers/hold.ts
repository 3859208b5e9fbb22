import type { TimerHandle } from '../../core/clock.ts';
import type { TriggerEnv, TriggerEvent } from '../spec.ts';

/**
 * "…for 10 minutes": a matching event starts a timer, a non-matching one cancels it, and the
 * trigger fires when the timer runs out. The timer is stored so it survives a restart; on
 * attach, `restore` re-arms it if the state still holds (or fires at once if it ran out while
 * the hub was down).
 */
export class Hold {
  readonly #env: TriggerEnv;
  readonly #key: string;
  readonly #ms: number;
  readonly #fire: (event: TriggerEvent) => void;
  #timer: TimerHandle | undefined;

  constructor(env: TriggerEnv, key: string, ms: number, fire: (event: TriggerEvent) => void) {
    this.#env = env;
    this.#key = key;
    this.#ms = ms;
    this.#fire = fire;
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** The condition became true with `event`; fires now or after the hold time. */
  start(event: TriggerEvent): void {
    if (this.#ms <= 0) return this.#fire(event);
    this.cancel();
    const dueAt = this.#env.clock.now() + this.#ms;
    this.#env.holds.save(this.#key, dueAt, event);
    this.#arm(dueAt, event);
  }

  /** The condition stopped holding. */
  cancel(): void {
    if (!this.#timer) return;
    this.#timer.cancel();
    this.#timer = undefined;
    this.#env.holds.drop(this.#key);
  }

  /** After a restart: picks up a stored timer if `stillHolds`, else forgets it. */
  restore(stillHolds: boolean): void {
    const saved = this.#env.holds.load(this.#key);
    if (!saved) return;
    if (!stillHolds) return this.#env.holds.drop(this.#key);
    this.#arm(saved.dueAt, saved.event);
  }

  /** Detach: stops the in-memory timer but keeps the stored one (the engine drops it on edits). */
  detach(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #arm(dueAt: number, event: TriggerEvent): void {
    this.#timer = this.#env.at(dueAt, () => {
      this.#timer = undefined;
      this.#env.holds.drop(this.#key);
      this.#fire({ ...event, at: this.#env.clock.now(), heldSince: event.at });
    });
  }
}
