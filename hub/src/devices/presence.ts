import type { PersonPresence, PresenceView } from '@hearth/model/api';
import type { Actor, StateValue } from '@hearth/model/values';
import type { EventBus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import type { PresenceRow, PresenceState } from '../store/presence-repo.ts';
import type { Store } from '../store/store.ts';
import { hasRole } from './access.ts';

/** The home as a whole: someone is home, or everyone who has presence is away (nobody has: unknown). */
export type HomePresence = 'someone_home' | 'everyone_away' | 'unknown';

export interface PresenceDeps {
  store: Store;
  bus: EventBus;
  clock: Clock;
  /** A device's current value of a capability (undefined: unknown device or no value yet). */
  stateOf(deviceId: string, capability: string): StateValue | undefined;
}

/**
 * Who is home: each person may have presence, home or away, from a manual toggle, their phone
 * (the app reports seeing the hub on the home network) or a device's state they choose (a key fob,
 * a presence sensor: home while the capability has the chosen value). Only home/away is kept, never
 * where anyone is; it stays in the hub (the relay's state copy holds devices only).
 *
 * The home's state is derived: `someone_home` when anyone is home, `everyone_away` when people have
 * presence and none is home, `unknown` when nobody has any. Every change of a person emits
 * `presence.changed` with the home's state after it (rules trigger on it; streams show it).
 * Members and up see everyone; a guest sees only themselves and not the home's state (whether a
 * home is empty is not a guest's business).
 */
export class Presence {
  readonly #deps: PresenceDeps;
  #rows = new Map<string, PresenceRow>();

  constructor(deps: PresenceDeps) {
    this.#deps = deps;
  }

  start(): void {
    for (const row of this.#deps.store.presence.all()) this.#rows.set(row.userId, row);
    // A device source may have changed while the hub was down: its current value decides.
    for (const row of this.#rows.values()) if (row.follow) this.#fromDevice(row);
    this.#deps.bus.on('devices.presence', 'device.state', (e) => {
      for (const row of this.#rows.values()) {
        if (row.follow?.device === e.deviceId && row.follow.capability === e.capability) this.#fromDevice(row);
      }
    });
    // A removed person's row went with them (ON DELETE CASCADE).
    this.#deps.bus.on('devices.presence', 'user.sessions_ended', ({ userId }) => {
      if (this.#rows.has(userId) && !this.#deps.store.users.byId(userId)) this.#rows.delete(userId);
    });
  }

  stop(): void {
    this.#deps.bus.offOwner('devices.presence');
  }

  home(): HomePresence {
    if (this.#rows.size === 0) return 'unknown';
    for (const row of this.#rows.values()) if (row.state === 'home') return 'someone_home';
    return 'everyone_away';
  }

  /** One person's state, or undefined if they have no presence. */
  stateOf(userId: string): PresenceState | undefined {
    return this.#rows.get(userId)?.state;
  }

  /** Sets a person's presence by hand or from their phone. */
  set(userId: string, state: PresenceState, source: 'manual' | 'phone'): void {
    this.#put({ userId, state, source, follow: null, changedAt: this.#deps.clock.now() });
  }

  /** Makes a person's presence follow a device's state: home while `capability` is `home`. */
  follow(userId: string, device: string, capability: string, home: StateValue): void {
    const row: PresenceRow = {
      userId,
      state: 'away',
      source: 'device',
      follow: { device, capability, home },
      changedAt: this.#deps.clock.now(),
    };
    row.state = this.#deps.stateOf(device, capability) === home ? 'home' : 'away';
    this.#put(row);
  }

  /** The person no longer has presence. */
  clear(userId: string): void {
    const before = this.#rows.get(userId);
    if (!before || !this.#deps.store.presence.delete(userId)) return;
    this.#rows.delete(userId);
    this.#emit(userId, null);
  }

  /** What `actor` may see: everyone and the home for members and up, only themselves for a guest. */
  view(actor: Actor): PresenceView {
    const all = actor.kind !== 'user' || hasRole(actor, 'member');
    const people: PersonPresence[] = [];
    for (const row of this.#rows.values()) {
      if (!all && (actor.kind !== 'user' || row.userId !== actor.userId)) continue;
      const user = this.#deps.store.users.byId(row.userId);
      if (!user) continue;
      people.push({
        userId: row.userId,
        username: user.username,
        state: row.state,
        source: row.source,
        device: row.follow?.device ?? null,
        changedAt: new Date(row.changedAt).toISOString(),
      });
    }
    return { home: all ? this.home() : null, people };
  }

  #fromDevice(row: PresenceRow): void {
    const f = row.follow!;
    const state: PresenceState = this.#deps.stateOf(f.device, f.capability) === f.home ? 'home' : 'away';
    if (state !== row.state) this.#put({ ...row, state, changedAt: this.#deps.clock.now() });
  }

  #put(row: PresenceRow): void {
    const before = this.#rows.get(row.userId);
    const same =
      before &&
      before.state === row.state &&
      before.source === row.source &&
      JSON.stringify(before.follow) === JSON.stringify(row.follow);
    if (same) return; // nothing to write: the SD card's budget
    this.#deps.store.presence.save(row);
    this.#rows.set(row.userId, row);
    if (before?.state !== row.state) this.#emit(row.userId, row.state);
  }

  #emit(userId: string, state: PresenceState | null): void {
    this.#deps.bus.emit('presence.changed', { userId, state, home: this.home(), at: this.#deps.clock.now() });
  }
}
