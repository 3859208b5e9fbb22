import type { Actor } from '@hearth/model/values';
import { createHash } from 'node:crypto';
import type { EventBus } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { recordAudit } from '../store/audit-log.ts';
import type { OwnerInviteRow } from '../store/handover-repo.ts';
import type { Store } from '../store/store.ts';
import type { UserRow } from '../store/users-repo.ts';
import { newCode, normalise } from './setup-code.ts';

/** How long an owner invite can be accepted. */
export const OWNER_INVITE_TTL_MS = 7 * 24 * 3600_000;
/** The longest support grant given or extended at once (days). */
export const SUPPORT_DAYS_MAX = 90;
const DAY_MS = 24 * 3600_000;
/** The grant watch wakes at least this often, so a far end stays within a timer's range. */
const GRANT_WATCH_MAX_SLEEP_MS = DAY_MS;

export interface HandoverDeps {
  store: Store;
  bus: EventBus;
  clock: Clock;
}

export interface OwnerInvite {
  /** Shown once, to whoever made the invite; only its SHA-256 is kept. */
  code: string;
  expiresAt: string;
  supportDays: number;
}

export interface HandoverStatus {
  ownerExists: boolean;
  /** The unused owner invite, without its code. */
  pendingInvite: { expiresAt: string; supportDays: number } | null;
  installers: {
    id: string;
    username: string;
    supportGrant: { grantedAt: string; expiresAt: string; active: boolean } | null;
  }[];
}

/**
 * Handing a home from its installer to its owner (issue 15). The installer creates their account
 * with the setup code (`POST /setup {role: "installer"}`), sets the home up with admin rights,
 * then makes a one-time owner invite (7 days, one use, accepted only on the LAN). When the owner
 * accepts, every installer account stops working at once, unless the invite asked for a support
 * grant: then it works until the grant ends, which the owner sees, extends and revokes.
 *
 * The rule in one place (`checkAccess`, run at every token use, login and refresh): an installer
 * account works while the home has no owner, or while it has an unexpired support grant.
 */
export class Handover {
  readonly #deps: HandoverDeps;
  /** Wakes when the next support grant ends (see #grantsEnded). */
  #grantTimer: TimerHandle | undefined;
  /** Grants that ended up to here have been acted on. */
  #grantsCheckedUntil: number;

  constructor(deps: HandoverDeps) {
    this.#deps = deps;
    this.#grantsCheckedUntil = deps.clock.now();
    this.#watchGrants();
  }

  stop(): void {
    this.#grantTimer?.cancel();
    this.#grantTimer = undefined;
  }

  checkAccess(user: UserRow): void {
    if (user.role !== 'installer' || !this.ownerExists()) return;
    const grant = this.#deps.store.handover.grant(user.id);
    if (!grant)
      throw new HubError(
        'installer_access_ended',
        'the home was handed over to its owner; ask them for a support grant',
      );
    if (grant.expiresAt <= this.#deps.clock.now())
      throw new HubError('installer_access_ended', 'the support grant has ended; ask the owner to extend it', {
        expiresAt: iso(grant.expiresAt),
      });
  }

  ownerExists(): boolean {
    return this.#deps.store.users.countRole('owner') > 0;
  }

  /**
   * A new one-time owner invite, replacing any unused one. Only an installer (or the console,
   * `hearth-admin invite-owner`) makes one, and only while the home has no owner.
   */
  inviteOwner(actor: Actor, input: { supportDays?: number | undefined }): OwnerInvite {
    if (actor.kind === 'user' && actor.role !== 'installer')
      throw new HubError('forbidden', 'only the installer invites the owner');
    const supportDays = input.supportDays ?? 0;
    checkDays(supportDays, 0);
    if (this.ownerExists()) throw new HubError('already_set_up', 'the home already has an owner');
    const code = newCode();
    const now = this.#deps.clock.now();
    const invite = {
      id: newId('inv'),
      codeHash: hashCode(code),
      createdBy: actor.kind === 'user' ? actor.userId : actor.kind,
      createdAt: now,
      expiresAt: now + OWNER_INVITE_TTL_MS,
      supportDays,
    };
    this.#deps.store.handover.replaceInvite(invite);
    this.#audit(actor, 'handover.invite', invite.id, { expiresAt: iso(invite.expiresAt), supportDays });
    return { code, expiresAt: iso(invite.expiresAt), supportDays };
  }

  /**
   * Inside the transaction that creates the owner: the invite the code names, spent now.
   * `owner_invite_invalid` alike for a wrong, spent or expired code (the answer tells no one which).
   */
  spendInvite(code: string): OwnerInviteRow {
    const invite = this.#deps.store.handover.inviteByHash(hashCode(code));
    const now = this.#deps.clock.now();
    if (
      !invite ||
      invite.usedAt !== null ||
      invite.expiresAt <= now ||
      !this.#deps.store.handover.useInvite(invite.id, now)
    ) {
      throw new HubError(
        'owner_invite_invalid',
        'this owner invite is wrong, already used or expired; ask the installer for a new one',
        { field: 'code' },
      );
    }
    return invite;
  }

  /**
   * After the owner exists: each installer gets the invite's support grant, or its sessions end
   * now (refresh tokens revoked, generation up, open streams closed). Audited as the owner's act.
   */
  handedOver(owner: Actor, invite: OwnerInviteRow): void {
    const now = this.#deps.clock.now();
    const installers = this.#deps.store.users.list().filter((u) => u.role === 'installer');
    const ended: string[] = [];
    this.#deps.store.transaction(() => {
      for (const installer of installers) {
        if (invite.supportDays > 0) {
          this.#deps.store.handover.setGrant({
            userId: installer.id,
            grantedAt: now,
            expiresAt: now + invite.supportDays * DAY_MS,
          });
        } else {
          this.#endSessions(installer.id, now);
          ended.push(installer.id);
        }
      }
    });
    for (const id of ended) this.#deps.bus.emit('user.sessions_ended', { userId: id, reason: 'handover', at: now });
    this.#watchGrants();
    this.#audit(owner, 'handover.accept', invite.id, {
      installers: installers.map((u) => u.username),
      supportDays: invite.supportDays,
      ...(invite.supportDays > 0 ? { supportUntil: iso(now + invite.supportDays * DAY_MS) } : {}),
    });
  }

  status(): HandoverStatus {
    const pending = this.#deps.store.handover.pendingInvite();
    const now = this.#deps.clock.now();
    return {
      ownerExists: this.ownerExists(),
      pendingInvite:
        pending && pending.expiresAt > now
          ? { expiresAt: iso(pending.expiresAt), supportDays: pending.supportDays }
          : null,
      installers: this.#deps.store.users
        .list()
        .filter((u) => u.role === 'installer')
        .map((u) => {
          const grant = this.#deps.store.handover.grant(u.id);
          return {
            id: u.id,
            username: u.username,
            supportGrant: grant
              ? { grantedAt: iso(grant.grantedAt), expiresAt: iso(grant.expiresAt), active: grant.expiresAt > now }
              : null,
          };
        }),
    };
  }

  /** The owner gives (or renews) an installer's support grant: it then ends `days` from now. */
  extendSupport(actor: Actor, userId: string, days: number): { expiresAt: string } {
    checkDays(days, 1);
    const installer = this.#installer(userId);
    const now = this.#deps.clock.now();
    const expiresAt = now + days * DAY_MS;
    this.#deps.store.handover.setGrant({ userId: installer.id, grantedAt: now, expiresAt });
    this.#watchGrants();
    this.#audit(actor, 'handover.support_extend', installer.id, {
      username: installer.username,
      days,
      expiresAt: iso(expiresAt),
    });
    return { expiresAt: iso(expiresAt) };
  }

  /** The owner ends an installer's support grant; its sessions end at once. */
  revokeSupport(actor: Actor, userId: string): void {
    const installer = this.#installer(userId);
    const now = this.#deps.clock.now();
    const revoked = this.#deps.store.transaction(() => {
      if (!this.#deps.store.handover.deleteGrant(installer.id)) return false;
      this.#endSessions(installer.id, now);
      return true;
    });
    if (!revoked) throw new HubError('support_grant_not_found', 'this installer has no support grant');
    this.#deps.bus.emit('user.sessions_ended', { userId: installer.id, reason: 'support_revoked', at: now });
    this.#audit(actor, 'handover.support_revoke', installer.id, { username: installer.username });
  }

  /**
   * Arms a timer for the next grant to end. An installer's tokens are refused from that moment
   * (checkAccess runs at every use), but an open events stream or live view was authorised when
   * it opened and would otherwise stay until its access token expires.
   */
  #watchGrants(): void {
    this.#grantTimer?.cancel();
    this.#grantTimer = undefined;
    const now = this.#deps.clock.now();
    const next = this.#deps.store.handover.grants().find((g) => g.expiresAt > this.#grantsCheckedUntil);
    if (!next) return;
    const sleep = Math.min(Math.max(0, next.expiresAt - now), GRANT_WATCH_MAX_SLEEP_MS);
    this.#grantTimer = this.#deps.clock.setTimeout(() => this.#grantsEnded(), sleep);
  }

  /** Closes the open streams of installers whose grant ended since the last check. */
  #grantsEnded(): void {
    const now = this.#deps.clock.now();
    const ended = this.#deps.store.handover
      .grants()
      .filter((g) => g.expiresAt > this.#grantsCheckedUntil && g.expiresAt <= now);
    this.#grantsCheckedUntil = now;
    for (const grant of ended) {
      this.#deps.bus.emit('user.sessions_ended', { userId: grant.userId, reason: 'support_ended', at: now });
      this.#audit({ kind: 'system', part: 'auth' }, 'handover.support_end', grant.userId, {
        expiresAt: iso(grant.expiresAt),
      });
    }
    this.#watchGrants();
  }

  #installer(userId: string): UserRow {
    const user = this.#deps.store.users.byId(userId);
    if (user?.role !== 'installer') throw new HubError('user_not_found', 'no installer account with that id');
    return user;
  }

  #endSessions(userId: string, at: number): void {
    this.#deps.store.tokens.revokeUser(userId, at);
    this.#deps.store.users.bumpSessionGeneration(userId);
  }

  #audit(actor: Actor, action: string, target: string, details: Record<string, unknown>): void {
    recordAudit(this.#deps.store, this.#deps.bus, { actor, action, target, details, at: this.#deps.clock.now() });
  }
}

function checkDays(days: number, min: number): void {
  if (!Number.isInteger(days) || days < min || days > SUPPORT_DAYS_MAX) {
    throw new HubError('validation_failed', `a support grant is ${min} to ${SUPPORT_DAYS_MAX} whole days`, {
      field: min === 0 ? 'supportDays' : 'days',
    });
  }
}

/** The code has ~59 random bits, so a plain SHA-256 keeps it safe at rest (argon2 is for passwords). */
function hashCode(code: string): string {
  return createHash('sha256').update(normalise(code)).digest('hex');
}

const iso = (ms: number): string => new Date(ms).toISOString();
