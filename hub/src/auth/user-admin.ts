import type { Actor, Role } from '@hearth/model/values';
import type { EventBus, UserSessionsEndedEvent } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { recordAudit } from '../store/audit-log.ts';
import type { Store } from '../store/store.ts';
import type { UserRow } from '../store/users-repo.ts';
import { ApiTokens } from './api-tokens.ts';
import { hashPassword } from './passwords.ts';
import { checkPassword, checkUsername } from './policy.ts';
import type { PublicUser, UserActor } from './user-types.ts';

export interface UserAdminDeps {
  store: Store;
  bus: EventBus;
  clock: Clock;
}

/** Ends a user's remote access (their enrolled devices, at the hub and the relay); returns how many. */
export type RevokeRemote = (userId: string) => number;

/**
 * Managing people: owners and admins add, change and remove users. The rules live here (not in
 * the routes) so the command line can share them:
 * - only an owner makes, changes or removes an owner (an admin cannot raise anyone above itself);
 * - the last owner is never removed or demoted (the hub would be unmanageable);
 * - nobody removes or re-roles themselves (`self_change_refused`): one wrong click must not lock
 *   the only person who noticed out of their own hub.
 * Resetting a password also turns the user's two-step login off (their way back in when the
 * authenticator is lost; audited as `totpDisabled`).
 * Removing a user, changing their role or resetting their password ends every session of theirs
 * at once: their refresh tokens are revoked, their session generation goes up (so each access
 * token issued before is refused at its next use: service.inspectAccess; it is on the row, so
 * this holds across a restart), and `user.sessions_ended` on the bus closes their open events
 * streams, on the LAN and through the relay (events/event-stream.ts). A removal deletes the row
 * instead of bumping it; a token for a missing user is refused all the same.
 */
export class UserAdmin {
  readonly #deps: UserAdminDeps;
  readonly #keys: ApiTokens;

  constructor(deps: UserAdminDeps) {
    this.#deps = deps;
    this.#keys = new ApiTokens(deps);
  }

  list(): PublicUser[] {
    return this.#deps.store.users.list().map(publicUser);
  }

  async create(actor: UserActor, input: { username: string; password: string; role: Role }): Promise<PublicUser> {
    notInstaller(actor);
    checkUsername(input.username);
    checkPassword(input.password);
    this.#mayGrant(actor, input.role);
    if (this.#deps.store.users.byUsername(input.username)) throw taken();
    const user: UserRow = {
      id: newId('usr'),
      username: input.username,
      passwordHash: await hashPassword(input.password),
      role: input.role,
      createdAt: this.#deps.clock.now(),
      sessionGeneration: 0,
    };
    // Checked again after the (slow) hash: two requests for one name must not both win.
    this.#deps.store.transaction(() => {
      if (this.#deps.store.users.byUsername(input.username)) throw taken();
      this.#deps.store.users.insert(user);
    });
    this.#audit(actor, 'user.add', user.id, { username: user.username, role: user.role });
    return publicUser(user);
  }

  async update(
    actor: UserActor,
    id: string,
    input: { role?: Role; password?: string },
    revokeRemote: RevokeRemote,
  ): Promise<PublicUser> {
    notInstaller(actor);
    if (input.password !== undefined) checkPassword(input.password);
    const target = this.#target(actor, id);
    const roleChanges = input.role !== undefined && input.role !== target.role;
    if (roleChanges) {
      if (target.id === actor.userId)
        throw new HubError('self_change_refused', 'you cannot change your own role; ask another owner');
      this.#mayGrant(actor, input.role!);
    }
    const passwordHash = input.password !== undefined ? await hashPassword(input.password) : undefined;
    const now = this.#deps.clock.now();
    // A reset is the way back into an account whose authenticator is lost: it turns TOTP off too.
    let keys: string[] = [];
    const totpDisabled = this.#deps.store.transaction(() => {
      if (roleChanges && target.role === 'owner') this.#keepAnOwner();
      this.#deps.store.users.update(id, {
        ...(roleChanges ? { role: input.role! } : {}),
        ...(passwordHash ? { passwordHash } : {}),
      });
      if (roleChanges || passwordHash) {
        this.#deps.store.tokens.revokeUser(id, now);
        this.#deps.store.users.bumpSessionGeneration(id);
      }
      // Keys for scripts: a reset ends them all (the account may have been someone else's for a
      // while); a role change ends those whose scope the new role may not hold (api-tokens.ts).
      if (passwordHash) keys = this.#keys.removeFor(id);
      else if (roleChanges) keys = this.#keys.removeFor(id, input.role!);
      return passwordHash ? this.#deps.store.users.disableTotp(id) : false;
    });
    if (roleChanges || passwordHash) this.#sessionsEnded(id, roleChanges ? 'role_changed' : 'password_reset');
    this.#keys.revoked(id, keys);
    // Remote devices carry the role they were enrolled with (a guest's holds no home key): a
    // role change re-enrols on the LAN rather than leave a device with the old role's keys.
    const remoteDevices = roleChanges ? revokeRemote(id) : 0;
    this.#audit(actor, 'user.update', id, {
      username: target.username,
      ...(roleChanges ? { role: input.role, previousRole: target.role, remoteDevices } : {}),
      ...(passwordHash ? { passwordReset: true } : {}),
      ...(totpDisabled ? { totpDisabled: true } : {}),
      ...(keys.length > 0 ? { apiTokensRevoked: keys.length } : {}),
    });
    return publicUser(this.#deps.store.users.byId(id)!);
  }

  /** Removes the user: refresh tokens (cascade) and remote devices go in the same call. */
  remove(actor: UserActor, id: string, revokeRemote: RevokeRemote): void {
    notInstaller(actor);
    const target = this.#target(actor, id);
    if (target.id === actor.userId)
      throw new HubError('self_change_refused', 'you cannot remove yourself; ask another owner');
    this.#deps.store.transaction(() => {
      if (target.role === 'owner') this.#keepAnOwner();
      // Explicit although the rows cascade away with the user: says what happens, survives a schema change.
      this.#deps.store.tokens.revokeUser(id, this.#deps.clock.now());
      this.#deps.store.users.delete(id);
    });
    this.#sessionsEnded(id, 'removed');
    const remoteDevices = revokeRemote(id);
    this.#audit(actor, 'user.remove', id, { username: target.username, role: target.role, remoteDevices });
  }

  /** The user `actor` may manage; an admin sees an owner as untouchable (403, not 404: it is listed). */
  #target(actor: UserActor, id: string): UserRow {
    const target = this.#deps.store.users.byId(id);
    if (!target) throw new HubError('user_not_found', 'no such user');
    if (target.role === 'owner' && actor.role !== 'owner')
      throw new HubError('forbidden', 'only an owner can change an owner');
    if (target.role === 'installer' && actor.role !== 'owner')
      throw new HubError('forbidden', "only the owner changes the installer's account");
    return target;
  }

  #mayGrant(actor: UserActor, role: Role): void {
    if (role === 'owner' && actor.role !== 'owner') throw new HubError('forbidden', 'only an owner can make an owner');
    // Installer accounts come only from setup and `hearth-admin create-installer` (handover.ts).
    if (role === 'installer') throw new HubError('forbidden', 'an installer account is made only at first setup');
  }

  /** Inside the transaction: the target is an owner about to stop being one. */
  #keepAnOwner(): void {
    if (this.#deps.store.users.countRole('owner') <= 1)
      throw new HubError('last_owner', 'the hub needs at least one owner');
  }

  /** After the commit: open connections of the user close (the audit event follows). */
  #sessionsEnded(userId: string, reason: UserSessionsEndedEvent['reason']): void {
    this.#deps.bus.emit('user.sessions_ended', { userId, reason, at: this.#deps.clock.now() });
  }

  #audit(actor: Actor, action: string, target: string, details: Record<string, unknown>): void {
    recordAudit(this.#deps.store, this.#deps.bus, { actor, action, target, details, at: this.#deps.clock.now() });
  }
}

/**
 * An installer sets the home up but makes no accounts: one it made would outlive the handover
 * (a way back in the owner never agreed to). The owner adds the household after accepting.
 */
function notInstaller(actor: UserActor): void {
  if (actor.role === 'installer')
    throw new HubError('forbidden', 'an installer does not manage accounts; the owner does after the handover');
}

const taken = (): HubError => new HubError('username_taken', 'that username is taken', { field: 'username' });

export function publicUser(user: UserRow): PublicUser {
  return { id: user.id, username: user.username, role: user.role, createdAt: new Date(user.createdAt).toISOString() };
}
