import type { ApiTokenActor, ApiTokenScope, Role } from '@hearth/model/values';
import type { EventBus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import { newId, newSecret, sha256 } from '../core/ids.ts';
import { recordAudit } from '../store/audit-log.ts';
import type { ApiTokenRow } from '../store/api-tokens-repo.ts';
import type { Store } from '../store/store.ts';
import type { UserActor } from './user-types.ts';

/** Every key starts so; access tokens (`eyJ…`, base64url JSON) never do, so one look tells them apart. */
export const API_TOKEN_PREFIX = 'hsk_';
/** Keys one person may hold: each is a standing way in, so the list must stay reviewable. */
export const MAX_API_TOKENS_PER_USER = 20;
export const MAX_API_TOKEN_NAME = 64;
export const MAX_API_TOKEN_DEVICES = 50;
/**
 * `last_used_at` is written at most this often per key (docs/writes.md): a script polling every
 * second costs 24 one-page transactions a day instead of 86,400. The exact last use is kept in
 * memory and shown by the listing; a restart forgets at most this much of it.
 */
export const LAST_USE_WRITE_INTERVAL_MS = 3_600_000;

const RANK: Record<Role, number> = { guest: 0, member: 1, admin: 2, installer: 2, owner: 3 };
/** The least role that may hold a key of each scope. */
const SCOPE_NEEDS: Record<ApiTokenScope, Role> = { read: 'guest', control: 'member', admin: 'admin' };
/** The most a key of each scope acts as (read is further held to reading: api/access.ts). */
const SCOPE_CAP: Record<ApiTokenScope, Role> = { read: 'member', control: 'member', admin: 'admin' };

/** What GET /me/tokens shows: never the secret, not even its digest. */
export interface ApiTokenView {
  id: string;
  name: string;
  scope: ApiTokenScope;
  devices: string[] | null;
  createdAt: string;
  lastUsedAt: string | null;
}

/** True if a key of `scope` may call a route that needs `role` (before the person's own role). */
export function scopeReaches(scope: ApiTokenScope, role: Role): boolean {
  return RANK[SCOPE_CAP[scope]] >= RANK[role];
}

/** The scopes a person of `role` may hold. */
export function scopesFor(role: Role): ApiTokenScope[] {
  return (Object.keys(SCOPE_NEEDS) as ApiTokenScope[]).filter((s) => RANK[role] >= RANK[SCOPE_NEEDS[s]]);
}

/**
 * Keys for scripts: long-lived bearer tokens a person makes for a script or an integration on the
 * home network. 256 random bits shown once, stored only as their SHA-256 (like refresh tokens). A
 * request with one acts as its person with the role cut down to the key's scope (`actorFor`) and,
 * if it has a device subset, reaching only those devices (devices/access.ts). Each use reads the
 * person's current row, so a removed person's key is refused at once; a password change or reset
 * deletes all their keys and a role change those whose scope the new role no longer allows.
 */
export class ApiTokens {
  readonly #store: Store;
  readonly #bus: EventBus;
  readonly #clock: Clock;
  /** Key id → its last use, newer than the row's while the write waits (LAST_USE_WRITE_INTERVAL_MS). */
  readonly #lastUse = new Map<string, number>();

  constructor(deps: { store: Store; bus: EventBus; clock: Clock }) {
    this.#store = deps.store;
    this.#bus = deps.bus;
    this.#clock = deps.clock;
  }

  /**
   * `POST /me/tokens`. `devices` must already be checked as visible to the person (the route asks
   * the registry). A key made with a key is refused at the route (api_token_refused).
   */
  create(
    actor: UserActor,
    input: { name: string; scope: ApiTokenScope; devices?: string[] | undefined },
  ): ApiTokenView & { token: string } {
    const name = input.name.trim();
    if (!name || name.length > MAX_API_TOKEN_NAME)
      throw new HubError('validation_failed', `a key's name has 1 to ${MAX_API_TOKEN_NAME} characters`, {
        field: 'name',
      });
    if (!scopesFor(actor.role).includes(input.scope)) {
      throw new HubError('api_token_scope_exceeds_role', `a ${actor.role} cannot hold a key of scope ${input.scope}`, {
        field: 'scope',
        allowed: scopesFor(actor.role),
      });
    }
    const devices = input.devices ? [...new Set(input.devices)] : null;
    if (devices && (devices.length === 0 || devices.length > MAX_API_TOKEN_DEVICES)) {
      throw new HubError('validation_failed', `a key's device list has 1 to ${MAX_API_TOKEN_DEVICES} devices`, {
        field: 'devices',
      });
    }
    const token = API_TOKEN_PREFIX + newSecret();
    const row = {
      id: newId('key'),
      userId: actor.userId,
      name,
      tokenHash: sha256(token),
      scope: input.scope,
      devices,
      createdAt: this.#clock.now(),
    };
    this.#store.transaction(() => {
      if (this.#store.apiTokens.countByUser(actor.userId) >= MAX_API_TOKENS_PER_USER) {
        throw new HubError('api_token_limit', `at most ${MAX_API_TOKENS_PER_USER} keys per person; revoke one first`, {
          max: MAX_API_TOKENS_PER_USER,
        });
      }
      this.#store.apiTokens.insert(row);
    });
    this.#audit(actor, 'api_token.create', row.id, { name, scope: row.scope, ...(devices ? { devices } : {}) });
    return { ...view({ ...row, lastUsedAt: null }), token };
  }

  list(userId: string): ApiTokenView[] {
    return this.#store.apiTokens
      .byUser(userId)
      .map((row) => view({ ...row, lastUsedAt: this.#lastUse.get(row.id) ?? row.lastUsedAt }));
  }

  /** `DELETE /me/tokens/:id`: only the person's own keys (anyone else's is not found). */
  revoke(actor: UserActor, id: string): void {
    const row = this.#store.apiTokens.byUser(actor.userId).find((t) => t.id === id);
    if (!row || !this.#store.apiTokens.delete(actor.userId, id))
      throw new HubError('api_token_not_found', 'no such key', { id });
    this.#lastUse.delete(id);
    this.#bus.emit('api_token.revoked', { userId: actor.userId, tokenIds: [id], at: this.#clock.now() });
    this.#audit(actor, 'api_token.revoke', id, { name: row.name });
  }

  /**
   * Inside the caller's transaction, when a person's password changes or their role goes down:
   * deletes all their keys (role absent) or those the new role may not hold. Returns the ids, for
   * `revoked` once committed.
   */
  removeFor(userId: string, role?: Role): string[] {
    if (!role) return this.#store.apiTokens.deleteUser(userId);
    const allowed = scopesFor(role);
    return this.#store.apiTokens.deleteUser(
      userId,
      (['read', 'control', 'admin'] as const).filter((s) => !allowed.includes(s)),
    );
  }

  /** After the commit: open streams of those keys close. */
  revoked(userId: string, tokenIds: string[]): void {
    if (tokenIds.length > 0) this.#bus.emit('api_token.revoked', { userId, tokenIds, at: this.#clock.now() });
  }

  /** The stored key for `token`, its last use noted (on disk at most once an hour); else `unauthorized`. */
  lookup(token: string): ApiTokenRow {
    const row = this.#store.apiTokens.byHash(sha256(token));
    if (!row) throw new HubError('unauthorized', 'unknown or revoked key');
    const now = this.#clock.now();
    this.#lastUse.set(row.id, now);
    if (row.lastUsedAt === null || now - row.lastUsedAt >= LAST_USE_WRITE_INTERVAL_MS)
      this.#store.apiTokens.touch(row.id, now);
    return row;
  }

  /** The person's actor as this key may act: role cut to the scope, the key named for the audit log. */
  static actorFor(person: UserActor, row: ApiTokenRow): UserActor {
    const cap = SCOPE_CAP[row.scope];
    const role = RANK[person.role] <= RANK[cap] ? person.role : cap;
    const token: ApiTokenActor = {
      id: row.id,
      name: row.name,
      scope: row.scope,
      ...(row.devices ? { devices: row.devices } : {}),
    };
    return { ...person, role, token };
  }

  #audit(actor: UserActor, action: string, target: string, details: Record<string, unknown>): void {
    recordAudit(this.#store, this.#bus, { actor, action, target, details, at: this.#clock.now() });
  }
}

function view(row: Omit<ApiTokenRow, 'tokenHash'>): ApiTokenView {
  return {
    id: row.id,
    name: row.name,
    scope: row.scope,
    devices: row.devices,
    createdAt: new Date(row.createdAt).toISOString(),
    lastUsedAt: row.lastUsedAt === null ? null : new Date(row.lastUsedAt).toISOString(),
  };
}
