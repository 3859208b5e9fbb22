import type { Role } from '@hearth/model/values';
import { randomUUID } from 'node:crypto';
import { newDeviceKeys } from '@hearth/protocol/keys';
import { toBase64, toBase64Url } from '@hearth/protocol/encoding';
import type { UserActor } from '../auth/service.ts';
import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import { hasRole } from '../devices/access.ts';
import type { SettingsRepo } from '../store/settings-repo.ts';

const INVITES = 'relay.invites';
/** Long enough to walk to the phone and scan; short enough that a forgotten link goes stale. */
export const INVITE_TTL_MS = 30 * 60_000;
/** Open invites per hub; more answer `conflict`. */
const MAX_OPEN_INVITES = 20;

export interface RemoteInvite {
  id: string;
  /** Ed25519 / X25519 public halves of the invite key; its seed is only in the link. */
  publicKey: string;
  boxPublicKey: string;
  /** Who invited, and so whose device the redeeming one becomes (with this role). */
  userId: string;
  username: string;
  role: Role;
  name: string;
  createdAt: number;
  expiresAt: number;
}

/** What `create` hands back once: the seed leaves the hub in the link and is not kept. */
export interface IssuedInvite {
  invite: RemoteInvite;
  /** base64url of the invite key's 32-byte seed. */
  secret: string;
}

/**
 * One-time enrolment invites (docs/relay-protocol.md "Enrolment by invite"). A logged-in user on
 * the LAN asks for one; the hub makes a throwaway device key, keeps its public halves and puts
 * its seed in a link. Whoever opens the link (the app on the relay's https origin, or
 * `hearth-remote redeem`) reaches the hub through the relay with that key, which only lets it
 * call the redeem route once, before it expires, to enrol its own fresh key for the inviting
 * user. A device enrolled this way still needs that user's password to log in.
 */
export class RemoteInvites {
  readonly #settings: SettingsRepo;
  readonly #clock: Clock;

  constructor(settings: SettingsRepo, clock: Clock) {
    this.#settings = settings;
    this.#clock = clock;
  }

  /** Open (not redeemed, not expired) invites. */
  open(): RemoteInvite[] {
    const now = this.#clock.now();
    return (this.#settings.get<RemoteInvite[]>(INVITES) ?? []).filter((i) => i.expiresAt > now);
  }

  byKey(publicKey: string): RemoteInvite | undefined {
    return this.open().find((i) => i.publicKey === publicKey);
  }

  byId(id: string): RemoteInvite | undefined {
    return this.open().find((i) => i.id === id);
  }

  create(actor: UserActor, name: string): IssuedInvite {
    const open = this.open();
    if (open.length >= MAX_OPEN_INVITES)
      throw new HubError('conflict', `at most ${MAX_OPEN_INVITES} open invites; wait for one to expire or revoke some`);
    const keys = newDeviceKeys();
    const now = this.#clock.now();
    const invite: RemoteInvite = {
      id: randomUUID(),
      publicKey: toBase64(keys.sign.publicKey),
      boxPublicKey: toBase64(keys.box.publicKey),
      userId: actor.userId,
      username: actor.username,
      role: actor.role,
      name,
      createdAt: now,
      expiresAt: now + INVITE_TTL_MS,
    };
    this.#settings.set(INVITES, [...open, invite]);
    return { invite, secret: toBase64Url(keys.seed) };
  }

  /** Takes an invite out for good (redeemed or withdrawn); returns it if it was open. */
  take(id: string): RemoteInvite | undefined {
    const open = this.open();
    const invite = open.find((i) => i.id === id);
    if (invite)
      this.#settings.set(
        INVITES,
        open.filter((i) => i.id !== id),
      );
    return invite;
  }

  /** Admins see every open invite; others their own. */
  list(actor: UserActor): RemoteInvite[] {
    return this.open().filter((i) => hasRole(actor, 'admin') || i.userId === actor.userId);
  }

  /** A user removed or demoted: their open invites go with their devices. */
  dropUser(userId: string): number {
    const open = this.open();
    const kept = open.filter((i) => i.userId !== userId);
    if (kept.length !== open.length) this.#settings.set(INVITES, kept);
    return open.length - kept.length;
  }

  /** When the next open invite expires (to drop its key from the relay's list then). */
  nextExpiry(): number | null {
    const times = this.open().map((i) => i.expiresAt);
    return times.length ? Math.min(...times) : null;
  }
}
