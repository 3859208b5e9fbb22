import type { Clock, TimerHandle } from '../../core/clock.ts';

/**
 * Longest single wait. A Pi has no real-time clock: NTP may move the system time by hours after
 * boot, and Node timers count elapsed time, not wall time. Re-checking at least once a minute
 * keeps "at 07:00" right after such a correction (and avoids setTimeout's 24.8-day overflow).
 */
const MAX_WAIT_MS = 60_000;

/** Runs `fn` once the clock reads `time` or later. */
export function runAt(clock: Clock, time: number, fn: () => void): TimerHandle {
  let handle: TimerHandle | undefined;
  let cancelled = false;
  const arm = (): void => {
    if (cancelled) return;
    const wait = time - clock.now();
    if (wait <= 0) {
      fn();
      return;
    }
    handle = clock.setTimeout(arm, Math.min(wait, MAX_WAIT_MS));
  };
  arm();
  return {
    cancel: () => {
      cancelled = true;
      handle?.cancel();
    },
  };
}

/**
 * Fires at each occurrence given by `next` (first one after now), then the one after, until
 * cancelled. `next` returns undefined when there is none (the sun does not rise at the pole).
 */
export function runEvery(
  clock: Clock,
  next: (after: number) => number | undefined,
  fire: (scheduledAt: number) => void,
): TimerHandle {
  let handle: TimerHandle | undefined;
  let cancelled = false;
  const schedule = (after: number): void => {
    const t = next(after);
    if (t === undefined || cancelled) return;
    handle = runAt(clock, t, () => {
      // Schedule the following occurrence first, so a failing run cannot stop the schedule.
      schedule(t);
      fire(t);
    });
  };
  schedule(clock.now());
  return {
    cancel: () => {
      cancelled = true;
      handle?.cancel();
    },
  };
}
