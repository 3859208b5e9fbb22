import type { StateValue } from '@hearth/model/values';
import type { DeviceAvailabilityEvent, DeviceStateEvent, EnergyCycleEvent, EventBus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import { runAt } from './schedule/at.ts';
import type { Cause, HoldStore, Location, PresenceChange, PresenceView, TriggerEnv } from './spec.ts';

type StateFn = (e: DeviceStateEvent, cause: Cause | undefined) => void;

/**
 * One bus subscription per event type for all rules, indexed by device and capability, so an
 * event costs a map lookup plus the triggers that watch it, not a call per rule (1,000 rules).
 * It also remembers which rule run is commanding which capability, so the state change that
 * command causes carries that run as its cause.
 */
export class TriggerIndex {
  readonly #state = new Map<string, Set<StateFn>>();
  readonly #availability = new Map<string, Set<(e: DeviceAvailabilityEvent) => void>>();
  readonly #camera = new Set<(e: { cameraId: string; kind: string; at: number }) => void>();
  readonly #hubStart = new Set<() => void>();
  readonly #presence = new Set<(e: PresenceChange) => void>();
  readonly #cycle = new Map<string, Set<(e: EnergyCycleEvent) => void>>();
  readonly #causes = new Map<string, Cause>();

  attach(bus: EventBus, owner: string): void {
    bus.on(owner, 'device.state', (e) => {
      const key = `${e.deviceId}\u0000${e.capability}`;
      const fns = this.#state.get(key);
      if (!fns) return;
      const cause = this.#causes.get(key);
      for (const fn of [...fns]) fn(e, cause);
    });
    bus.on(owner, 'device.availability', (e) => {
      for (const fn of [...(this.#availability.get(e.deviceId) ?? [])]) fn(e);
    });
    bus.on(owner, 'recording.event', (e) => {
      for (const fn of [...this.#camera]) fn(e);
    });
    bus.on(owner, 'presence.changed', (e) => {
      for (const fn of [...this.#presence]) fn(e);
    });
    bus.on(owner, 'energy.cycle', (e) => {
      for (const fn of [...(this.#cycle.get(e.deviceId) ?? [])]) fn(e);
    });
  }

  /** Marks `cause` as responsible for changes of this capability until the returned undo. */
  claim(deviceId: string, capability: string, cause: Cause): () => void {
    const key = `${deviceId}\u0000${capability}`;
    this.#causes.set(key, cause);
    return () => {
      if (this.#causes.get(key) === cause) this.#causes.delete(key);
    };
  }

  hubStarted(): void {
    for (const fn of [...this.#hubStart]) fn();
  }

  env(deps: {
    clock: Clock;
    state(d: string, c: string): StateValue | undefined;
    available(d: string): boolean | undefined;
    location(): Location | undefined;
    presence?: (() => PresenceView) | undefined;
    holds: HoldStore;
  }): TriggerEnv {
    const add = <K, F>(map: Map<K, Set<F>>, key: K, fn: F): (() => void) => {
      let set = map.get(key);
      if (!set) map.set(key, (set = new Set()));
      set.add(fn);
      return () => {
        set.delete(fn);
        if (set.size === 0) map.delete(key);
      };
    };
    return {
      clock: deps.clock,
      onState: (deviceId, capability, fn) => add(this.#state, `${deviceId}\u0000${capability}`, fn),
      onAvailability: (deviceId, fn) => add(this.#availability, deviceId, fn),
      onCamera: (fn) => {
        this.#camera.add(fn);
        return () => {
          this.#camera.delete(fn);
        };
      },
      onPresence: (fn) => {
        this.#presence.add(fn);
        return () => {
          this.#presence.delete(fn);
        };
      },
      ...(deps.presence ? { presence: deps.presence } : {}),
      onCycle: (deviceId, fn) => add(this.#cycle, deviceId, fn),
      onHubStart: (fn) => {
        this.#hubStart.add(fn);
        return () => {
          this.#hubStart.delete(fn);
        };
      },
      state: deps.state,
      available: deps.available,
      at: (time, fn) => runAt(deps.clock, time, fn),
      location: deps.location,
      holds: deps.holds,
    };
  }
}
