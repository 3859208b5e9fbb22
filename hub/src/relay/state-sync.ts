import { sealState } from '@hearth/protocol/state-blob';
import { toBase64 } from '@hearth/protocol/encoding';
import type { EventBus } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { DeviceRegistry } from '../devices/registry.ts';

const OWNER = 'relay.state-sync';
const CHANGES = ['device.state', 'device.availability', 'device.added', 'device.updated', 'device.removed'] as const;
/** Changes within this window go out as one snapshot: a busy home does not upload per reading. */
export const STATE_DEBOUNCE_MS = 1000;

/**
 * Keeps the relay's last-known copy of the home fresh: on a device change (debounced) it seals
 * a snapshot of every device, its state and availability with the home key and hands it to
 * `publish`. Telemetry samples alone do not trigger one (state changes do).
 */
export class StateSync {
  readonly #bus: EventBus;
  readonly #clock: Clock;
  readonly #registry: DeviceRegistry;
  /** Read at each snapshot: the key rotates when a device or user is removed. */
  readonly #homeKey: () => Uint8Array;
  readonly #publish: (blob: string) => void;
  #timer: TimerHandle | undefined;

  constructor(deps: {
    bus: EventBus;
    clock: Clock;
    registry: DeviceRegistry;
    homeKey: () => Uint8Array;
    publish: (blob: string) => void;
  }) {
    this.#bus = deps.bus;
    this.#clock = deps.clock;
    this.#registry = deps.registry;
    this.#homeKey = deps.homeKey;
    this.#publish = deps.publish;
  }

  start(): void {
    for (const event of CHANGES) this.#bus.on(OWNER, event, () => this.#schedule());
  }

  stop(): void {
    this.#bus.offOwner(OWNER);
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Publishes a change still waiting for its debounce (the hub is stopping). */
  flush(): void {
    if (this.#timer) this.publishNow();
  }

  /** Seals and publishes now (the tunnel just came up). */
  publishNow(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    const devices = this.#registry.list({ kind: 'system', part: 'relay' }).map((d) => ({
      id: d.id,
      name: d.name,
      roomId: d.roomId,
      capabilities: d.capabilities,
      available: d.available,
      state: d.state,
      updatedAt: d.updatedAt,
    }));
    this.#publish(toBase64(sealState({ at: this.#clock.now(), devices }, this.#homeKey())));
  }

  #schedule(): void {
    if (this.#timer) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.publishNow();
    }, STATE_DEBOUNCE_MS);
  }
}
