import type { StateValue } from '@hearth/model/values';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';

interface Waiter {
  deviceId: string;
  capability: string;
  value: StateValue;
  resolve: () => void;
  reject: (err: HubError) => void;
  timer: TimerHandle;
}

/**
 * Commands waiting for the device to confirm. A command is confirmed when the device reports the
 * commanded value for that capability after the command was sent: a plug that was already on
 * still answers a "switch on" with its state, so an unchanged value confirms too.
 */
export class PendingCommands {
  readonly #clock: Clock;
  readonly #waiters = new Set<Waiter>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Starts waiting; the returned promise rejects with `device_timeout` after `timeoutMs`. */
  wait(
    deviceId: string,
    capability: string,
    value: StateValue,
    timeoutMs: number,
  ): { confirmed: Promise<void>; cancel: () => void } {
    let waiter!: Waiter;
    const confirmed = new Promise<void>((resolve, reject) => {
      waiter = {
        deviceId,
        capability,
        value,
        resolve,
        reject,
        timer: this.#clock.setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(
            new HubError('device_timeout', `device ${deviceId} did not confirm ${capability} within ${timeoutMs} ms`, {
              deviceId,
              capability,
              timeoutMs,
            }),
          );
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
    return {
      confirmed,
      cancel: () => {
        waiter.timer.cancel();
        this.#waiters.delete(waiter);
      },
    };
  }

  /** Called for every state report; resolves the waiters it confirms. */
  reported(deviceId: string, capability: string, value: StateValue): void {
    for (const waiter of this.#waiters) {
      if (waiter.deviceId === deviceId && waiter.capability === capability && waiter.value === value) {
        waiter.timer.cancel();
        this.#waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** Fails every waiter of a device (removed, or gone offline) at once instead of timing out. */
  failDevice(deviceId: string, error: HubError): void {
    for (const waiter of this.#waiters) {
      if (waiter.deviceId === deviceId) {
        waiter.timer.cancel();
        this.#waiters.delete(waiter);
        waiter.reject(error);
      }
    }
  }

  get size(): number {
    return this.#waiters.size;
  }
}
