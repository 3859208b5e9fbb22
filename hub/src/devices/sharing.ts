import type { Share, ShareAccess, ShareKind, ShareWindow } from '@hearth/model/api';
import type { Actor } from '@hearth/model/values';
import type { EventBus } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import { recordAudit } from '../store/audit-log.ts';
import type { ShareRow } from '../store/shares-repo.ts';
import type { Store } from '../store/store.ts';
import { hasRole, limitedToDevices, reachesDevice, requireRole } from './access.ts';
import { homeTimeZoneSetting } from './home.ts';
import { checkWindows, inWindows, usableZone } from './share-windows.ts';

/** What an actor may do with one thing: nothing (it does not exist for them), look, or also command. */
export type Reach = 'none' | ShareAccess;

export interface ShareTarget {
  kind: ShareKind;
  id: string;
}

export interface ShareInput {
  userId: string;
  kind: ShareKind;
  targetId: string;
  access: ShareAccess;
  until?: number;
  windows?: ShareWindow[];
}

export interface SharingDeps {
  store: Store;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  /** The most shares one home holds (`devices.maxShares`): each is a row and is looked at on every event. */
  maxShares: number;
  /** The room a device is in (null: none; undefined: no such device). */
  roomOf(deviceId: string): string | null | undefined;
}

/** Default bound of shares per home. */
export const DEFAULT_MAX_SHARES = 500;
const MINUTE = 60_000;
const RANK: Record<Reach, number> = { none: 0, view: 1, control: 2 };

/**
 * Sharing: an owner or admin shares a device, a room (every device in it), a scene or a camera
 * with a member or a guest, to view or to control, optionally until a time and in weekly windows.
 *
 * `reach(actor, target)` is the one access check every surface asks (the registry for devices,
 * so the API, events stream, history and energy; the camera and scene routes; later the bridges):
 * rules and the hub itself reach everything; a key for scripts with a device subset reaches only
 * those devices; owners, admins and members reach everything (members as before sharing existed:
 * a share to a member is kept and listed but adds nothing until they are made a guest); a guest
 * reaches what a share open right now gives them, and nothing else exists for them.
 *
 * Shares live in memory (loaded at start) and on disk. A share whose `until` passed ends at once
 * for every check; the timer then deletes its row and emits `share.changed` so open streams drop
 * what the person no longer reaches. While any share has windows, the timer looks once a minute.
 */
export class Sharing {
  readonly #deps: SharingDeps;
  #rows: ShareRow[] = [];
  /** Which shares were open at the last look, to tell streams only about changes. */
  #open = new Map<string, boolean>();
  #timer: TimerHandle | undefined;
  readonly #targets = new Map<ShareKind, (id: string) => boolean>();

  constructor(deps: SharingDeps) {
    this.#deps = deps;
  }

  start(): void {
    this.#deps.store.shares.deleteEnded(this.#deps.clock.now());
    this.#reload();
    // A removed person's shares went with their row (ON DELETE CASCADE): drop them from memory too.
    this.#deps.bus.on('devices.sharing', 'user.sessions_ended', () => this.#reload());
    this.#deps.bus.on('devices.sharing', 'device.removed', ({ deviceId }) => this.forget('device', deviceId));
    this.#look();
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#deps.bus.offOwner('devices.sharing');
  }

  /**
   * Tells sharing how to know that a scene or a camera exists (the rules and the recorder start
   * after the registry). Without one, sharing that kind answers `not_ready`.
   */
  registerTarget(kind: ShareKind, exists: (id: string) => boolean): void {
    this.#targets.set(kind, exists);
  }

  // ---- the access check ---------------------------------------------------------------------

  /** How far `actor` reaches `target` now. The one check every surface makes. */
  reach(actor: Actor, target: ShareTarget): Reach {
    if (actor.kind !== 'user') return 'control';
    if (limitedToDevices(actor) && (target.kind !== 'device' || !reachesDevice(actor, target.id))) return 'none';
    if (hasRole(actor, 'member')) return 'control';
    return this.#shared(actor.userId, target);
  }

  /** True when `actor` reaches `target` at all. */
  sees(actor: Actor, target: ShareTarget): boolean {
    return this.reach(actor, target) !== 'none';
  }

  /**
   * From when `actor` may read `target`'s past (its event log): null for everyone who reaches it
   * by role (no bound), else the creation of the oldest share open now that gives it to them
   * (directly or through its room); +Infinity when none does. A guest reads what happened while
   * they had it, never what others did with it before.
   */
  sharedSince(actor: Actor, target: ShareTarget): number | null {
    if (actor.kind !== 'user' || hasRole(actor, 'member')) return null;
    const now = this.#deps.clock.now();
    const room = target.kind === 'device' ? this.#deps.roomOf(target.id) : undefined;
    let since = Number.POSITIVE_INFINITY;
    for (const s of this.#rows) {
      if (s.userId !== actor.userId) continue;
      const hit =
        (s.kind === target.kind && s.targetId === target.id) || (room && s.kind === 'room' && s.targetId === room);
      if (hit && this.#isOpen(s, now)) since = Math.min(since, s.createdAt);
    }
    return since;
  }

  #shared(userId: string, target: ShareTarget): Reach {
    const now = this.#deps.clock.now();
    const room = target.kind === 'device' ? this.#deps.roomOf(target.id) : undefined;
    let best: Reach = 'none';
    for (const s of this.#rows) {
      if (s.userId !== userId) continue;
      const hit =
        (s.kind === target.kind && s.targetId === target.id) || (room && s.kind === 'room' && s.targetId === room);
      if (hit && RANK[s.access] > RANK[best] && this.#isOpen(s, now)) best = s.access;
    }
    return best;
  }

  #isOpen(s: ShareRow, now: number): boolean {
    if (s.until !== null && now >= s.until) return false;
    return s.windows.length === 0 || inWindows(s.windows, now, this.#zone());
  }

  #zone(): string {
    return usableZone(homeTimeZoneSetting(this.#deps.store.settings));
  }

  // ---- managing shares ----------------------------------------------------------------------

  create(input: ShareInput, actor: Actor): Share {
    requireRole(actor, 'admin', 'sharing');
    const { store, clock } = this.#deps;
    const user = store.users.byId(input.userId);
    if (!user) throw new HubError('user_not_found', `no user ${input.userId}`, { userId: input.userId });
    if (user.role !== 'member' && user.role !== 'guest')
      throw new HubError('share_user_role', `a ${user.role} already reaches everything`, { role: user.role });
    this.#requireTarget(input.kind, input.targetId);
    const windows = input.windows ?? [];
    checkWindows(windows);
    const now = clock.now();
    if (input.until !== undefined && input.until <= now)
      throw new HubError('validation_failed', "'until' is already past", { field: 'until' });
    if (this.#rows.length >= this.#deps.maxShares)
      throw new HubError('share_limit', `the home already has ${this.#deps.maxShares} shares`, {
        limit: this.#deps.maxShares,
      });
    const row: ShareRow = {
      id: newId('share'),
      userId: input.userId,
      kind: input.kind,
      targetId: input.targetId,
      access: input.access,
      until: input.until ?? null,
      windows,
      createdBy: actor.kind === 'user' ? actor.userId : 'system',
      createdAt: now,
    };
    store.shares.insert(row);
    this.#rows.push(row);
    this.#audit(actor, 'share.add', row.id, {
      userId: row.userId,
      kind: row.kind,
      targetId: row.targetId,
      access: row.access,
      until: row.until,
    });
    this.#look();
    return this.view(row);
  }

  /** The shares, all or those of one person or one thing, oldest first. */
  list(filter: { userId?: string; kind?: ShareKind; targetId?: string } = {}): Share[] {
    return this.#rows
      .filter(
        (s) =>
          (filter.userId === undefined || s.userId === filter.userId) &&
          (filter.kind === undefined || s.kind === filter.kind) &&
          (filter.targetId === undefined || s.targetId === filter.targetId),
      )
      .map((s) => this.view(s));
  }

  /** The shares that give `userId` a device directly or through its room. */
  forDevice(deviceId: string): Share[] {
    const room = this.#deps.roomOf(deviceId);
    return this.#rows
      .filter(
        (s) => (s.kind === 'device' && s.targetId === deviceId) || (room && s.kind === 'room' && s.targetId === room),
      )
      .map((s) => this.view(s));
  }

  remove(id: string, actor: Actor): void {
    requireRole(actor, 'admin', 'ending a share');
    const row = this.#rows.find((s) => s.id === id);
    if (!row || !this.#deps.store.shares.delete(id)) throw new HubError('share_not_found', `no share ${id}`);
    this.#rows = this.#rows.filter((s) => s.id !== id);
    this.#audit(actor, 'share.remove', id, { userId: row.userId, kind: row.kind, targetId: row.targetId });
    this.#changed([row.userId]);
    this.#look();
  }

  /** The thing was removed: its shares go too (a new thing never inherits them). */
  forget(kind: ShareKind, targetId: string): void {
    const gone = this.#deps.store.shares.deleteTarget(kind, targetId);
    if (gone.length === 0) return;
    this.#rows = this.#rows.filter((s) => !(s.kind === kind && s.targetId === targetId));
    this.#changed(gone.map((s) => s.userId));
    this.#look();
  }

  view(s: ShareRow): Share {
    return {
      id: s.id,
      userId: s.userId,
      kind: s.kind,
      targetId: s.targetId,
      access: s.access,
      until: s.until === null ? null : new Date(s.until).toISOString(),
      windows: s.windows,
      active: this.#isOpen(s, this.#deps.clock.now()),
      createdAt: new Date(s.createdAt).toISOString(),
    };
  }

  #requireTarget(kind: ShareKind, id: string): void {
    const { store, roomOf } = this.#deps;
    if (kind === 'device') {
      if (roomOf(id) === undefined) throw new HubError('device_not_found', `no device ${id}`, { deviceId: id });
      return;
    }
    if (kind === 'room') {
      if (!store.rooms.byId(id)) throw new HubError('room_not_found', `no room ${id}`, { roomId: id });
      return;
    }
    const exists = this.#targets.get(kind);
    if (!exists) throw new HubError('not_ready', `${kind}s are not running`);
    if (!exists(id)) throw new HubError(kind === 'scene' ? 'scene_not_found' : 'camera_not_found', `no ${kind} ${id}`);
  }

  // ---- time ---------------------------------------------------------------------------------

  /**
   * Ends what ended, tells streams whose reach changed, and sets the next look: at the next
   * `until`, or within a minute while any share has windows.
   */
  #look(): void {
    const { store, clock } = this.#deps;
    this.#timer?.cancel();
    this.#timer = undefined;
    const now = clock.now();
    const ended = this.#rows.filter((s) => s.until !== null && s.until <= now);
    if (ended.length > 0) {
      store.shares.deleteEnded(now);
      this.#rows = this.#rows.filter((s) => !ended.includes(s));
      for (const s of ended) this.#open.delete(s.id);
    }
    const changed = new Set(ended.map((s) => s.userId));
    const open = new Map<string, boolean>();
    for (const s of this.#rows) {
      const isOpen = this.#isOpen(s, now);
      open.set(s.id, isOpen);
      if (this.#open.get(s.id) !== isOpen) changed.add(s.userId);
    }
    // Shares removed by hand or with their target were announced where they went.
    this.#open = open;
    if (changed.size > 0) this.#changed([...changed]);

    let next = Number.POSITIVE_INFINITY;
    for (const s of this.#rows) {
      if (s.until !== null) next = Math.min(next, s.until);
      if (s.windows.length > 0) next = Math.min(next, (Math.floor(now / MINUTE) + 1) * MINUTE);
    }
    if (next !== Number.POSITIVE_INFINITY) this.#timer = clock.setTimeout(() => this.#look(), next - now);
  }

  #changed(userIds: string[]): void {
    const at = this.#deps.clock.now();
    for (const userId of new Set(userIds)) this.#deps.bus.emit('share.changed', { userId, at });
  }

  #reload(): void {
    this.#rows = this.#deps.store.shares.all();
  }

  #audit(actor: Actor, action: string, target: string, details: Record<string, unknown>): void {
    recordAudit(this.#deps.store, this.#deps.bus, { actor, action, target, details, at: this.#deps.clock.now() });
  }
}
