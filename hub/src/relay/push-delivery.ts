import { HubError } from '../core/errors.ts';
import type { Clock } from '../core/clock.ts';
import { hasRole } from '../devices/access.ts';
import type { ControlMessage } from '@hearth/protocol/relay-messages';
import type { PushRequest, PushSender } from './push.ts';
import type { RemoteDevices } from './remote-devices.ts';

/** What one push service answered (`status`), or why nothing was posted (`code`). */
export interface PushOutcome {
  status?: number;
  code?: string;
}

export interface PushDeliveryDeps {
  devices: RemoteDevices;
  sender: PushSender;
  clock: Clock;
  /** The tunnel's control channel while it is up, else null. */
  control(): ((message: ControlMessage) => void) | null;
}

/** How long the hub waits (on the injected clock) for the relay to say what the push service answered. */
export const PUSH_TIMEOUT_MS = 15_000;

/**
 * Delivers notifications to enrolled devices' Web Push subscriptions through the relay: builds
 * each encrypted request (push.ts), asks the relay to post it, and matches the relay's
 * `push_result` to it. A subscription the push service says is gone is forgotten.
 */
export class PushDelivery {
  readonly #deps: PushDeliveryDeps;
  #nextId = 1;
  readonly #waiters = new Map<number, { endpoint: string; resolve: (result: PushOutcome) => void }>();

  constructor(deps: PushDeliveryDeps) {
    this.#deps = deps;
  }

  /**
   * Sends `payload` to every device with a push subscription whose user is a member or above (or
   * only to `only.deviceId`). Resolves with what each push service answered.
   */
  notify(
    payload: { title: string; body: string; level?: string; [k: string]: unknown },
    only?: { deviceId?: string; role?: 'member' | 'admin' | 'owner' },
  ): Promise<({ deviceId: string } & PushOutcome)[]> {
    const { devices, sender, clock } = this.#deps;
    // Members and up by default; `role` narrows it (backup alerts go to owners only).
    const targets = devices
      .all()
      .filter(
        (d) =>
          d.push &&
          (only?.deviceId
            ? d.id === only.deviceId
            : hasRole({ kind: 'user', userId: d.userId, username: d.username, role: d.role }, only?.role ?? 'member')),
      );
    return Promise.all(
      targets.map(async (device) => {
        let request: PushRequest;
        try {
          request = sender.request(device.push!, { ...payload, at: clock.now() });
        } catch (err) {
          return { deviceId: device.id, code: err instanceof HubError ? err.code : 'push_failed' };
        }
        return { deviceId: device.id, ...(await this.#post(request)) };
      }),
    );
  }

  /** The relay's `push_result` for request `id`. */
  result(id: number, result: PushOutcome): void {
    const waiter = this.#waiters.get(id);
    if (!waiter) return;
    this.#waiters.delete(id);
    // RFC 8030: 404/410 mean the subscription is gone for good.
    if (result.status === 404 || result.status === 410) this.#deps.devices.dropPush(waiter.endpoint);
    waiter.resolve(result);
  }

  #post(request: PushRequest): Promise<PushOutcome> {
    const send = this.#deps.control();
    if (!send) return Promise.resolve({ code: 'relay_offline' });
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = this.#deps.clock.setTimeout(() => {
        this.#waiters.delete(id);
        resolve({ code: 'push_timeout' });
      }, PUSH_TIMEOUT_MS);
      this.#waiters.set(id, {
        endpoint: request.endpoint,
        resolve: (result) => {
          timer.cancel();
          resolve(result);
        },
      });
      send({ type: 'push', id, ...request });
    });
  }
}
