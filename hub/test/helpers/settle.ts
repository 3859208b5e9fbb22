import type { ManualClock } from '../../src/core/clock.ts';

/**
 * Awaits `promise` while moving a ManualClock forward whenever something is waiting on it (a
 * login delay, a command timeout), so code that sleeps on the injected clock finishes without
 * real waiting. Real async work (argon2 on the thread pool) is awaited normally in between.
 */
export async function settle<T>(promise: Promise<T>, clock: ManualClock, stepMs = 1000): Promise<T> {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  tracked.catch(() => {});
  while (!done) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (!done && clock.pendingTimers() > 0) clock.advance(stepMs);
  }
  return tracked;
}
