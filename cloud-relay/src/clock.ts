/**
 * Time is injected, as in the hub (hub/src/core/clock.ts, the same shape): handshake timeouts,
 * pings, healing, rate buckets and stored-at times all read this clock, so a test drives them
 * with the hub's ManualClock instead of waiting. main.ts passes `systemClock`.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds of this clock's time. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Runs `fn` every `ms` milliseconds of this clock's time until cancelled. */
  setInterval(fn: () => void, ms: number): TimerHandle;
}

/** Real time; its timers never keep the process alive by themselves. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
  setInterval(fn, ms) {
    const handle = setInterval(fn, ms);
    handle.unref();
    return { cancel: () => clearInterval(handle) };
  },
};
