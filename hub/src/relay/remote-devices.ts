import type { Role } from '@hearth/model/values';
import { randomUUID } from 'node:crypto';
import { keyFromBase64, toBase64 } from '@hearth/protocol/encoding';
import type { UserActor } from '../auth/service.ts';
import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import { hasRole } from '../devices/access.ts';
import type { SettingsRepo } from '../store/settings-repo.ts';
import { checkSubscription, type PushSubscription } from './push.ts';

const DEVICES = 'relay.devices';
const REVOKED = 'relay.revokedKeys';
/** A home has a handful of phones and browsers; this bounds the signed list the relay stores. */
export const MAX_REMOTE_DEVICES = 200;

export interface RemoteDevice {
  id: string;
  name: string;
  /** Ed25519, base64: identity at the relay and in the end-to-end handshake. */
  publicKey: string;
  /** X25519, base64: the home key is sealed to it. */
  boxPublicKey: string;
  userId: string;
  username: string;
  role: Role;
  createdAt: number;
  /** Its Web Push subscription, if it asked for notifications. */
  push?: PushSubscription;
  /**
   * Set on the stand-in for an invite key (remote-invites.ts) while it is connected: such a
   * caller may only redeem its invite. Never stored.
   */
  invite?: true;
}

/**
 * Devices enrolled for remote access, bound to a user and role. Kept as one settings value (a
 * handful of rows; no migration for it). Every change calls `onChange`, which pushes the new
 * signed list to the relay and closes sessions of keys no longer on it.
 */
export class RemoteDevices {
  readonly #settings: SettingsRepo;
  readonly #clock: Clock;
  onChange: (devices: RemoteDevice[], revokedKeys: string[]) => void = () => {};
  /** A user's devices were all revoked (removed or demoted): their open invites go too. */
  onUserRevoked: (userId: string) => void = () => {};
  /** Devices left the list (revoked, their user removed or demoted): the home key rotates. */
  onRemoved: (gone: RemoteDevice[]) => void = () => {};

  constructor(settings: SettingsRepo, clock: Clock) {
    this.#settings = settings;
    this.#clock = clock;
  }

  all(): RemoteDevice[] {
    return this.#settings.get<RemoteDevice[]>(DEVICES) ?? [];
  }

  revokedKeys(): string[] {
    return this.#settings.get<string[]>(REVOKED) ?? [];
  }

  byKey(publicKey: Uint8Array): RemoteDevice | undefined {
    const b64 = toBase64(publicKey);
    return this.all().find((d) => d.publicKey === b64);
  }

  enroll(actor: UserActor, input: { publicKey: string; boxPublicKey: string; name: string }): RemoteDevice {
    const publicKey = toBase64(keyOf(input.publicKey, 'publicKey'));
    const boxPublicKey = toBase64(keyOf(input.boxPublicKey, 'boxPublicKey'));
    const devices = this.all();
    if (devices.some((d) => d.publicKey === publicKey))
      throw new HubError('conflict', 'this key is already enrolled', { field: 'publicKey' });
    if (devices.length >= MAX_REMOTE_DEVICES)
      throw new HubError('conflict', `at most ${MAX_REMOTE_DEVICES} remote devices`);
    const device: RemoteDevice = {
      id: randomUUID(),
      name: input.name,
      publicKey,
      boxPublicKey,
      userId: actor.userId,
      username: actor.username,
      role: actor.role,
      createdAt: this.#clock.now(),
    };
    // Enrolling a revoked key again on the LAN is a deliberate act by a logged-in user: it leaves
    // the revoked list.
    this.#save(
      [...devices, device],
      this.revokedKeys().filter((k) => k !== publicKey),
    );
    return device;
  }

  /** Admins see every device; others their own. */
  list(actor: UserActor): RemoteDevice[] {
    return this.all().filter((d) => hasRole(actor, 'admin') || d.userId === actor.userId);
  }

  revoke(actor: UserActor, id: string): void {
    this.manageable(actor, id);
    this.#remove((d) => d.id === id);
  }

  /**
   * The device `actor` may change (revoke, re-point its notifications, test them): their own,
   * or as an admin anyone's but an owner's. Someone else's device answers like a missing one to
   * a member, so ids cannot be probed; an admin sees an owner's device listed, so it is 403
   * `forbidden`, as for changing the owner's account (hub/src/auth/user-admin.ts).
   */
  manageable(actor: UserActor, id: string): RemoteDevice {
    const device = this.all().find((d) => d.id === id);
    if (!device || (!hasRole(actor, 'admin') && device.userId !== actor.userId))
      throw new HubError('remote_device_not_found', 'no such remote device');
    if (device.userId !== actor.userId && device.role === 'owner' && actor.role !== 'owner')
      throw new HubError('forbidden', "only an owner can change an owner's remote devices");
    return device;
  }

  /** Sets (or with null clears) a device's Web Push subscription: see `manageable` for who may. */
  setPush(actor: UserActor, id: string, subscription: PushSubscription | null): void {
    this.manageable(actor, id);
    const devices = this.all();
    const device = devices.find((d) => d.id === id)!;
    if (subscription) device.push = checkSubscription(subscription);
    else delete device.push;
    // Not a change of who may connect: the relay's list stays as it is.
    this.#settings.set(DEVICES, devices);
  }

  /** The push service said the subscription is gone (404/410): forget it. */
  dropPush(endpoint: string): void {
    const devices = this.all();
    let changed = false;
    for (const d of devices) {
      if (d.push?.endpoint === endpoint) {
        delete d.push;
        changed = true;
      }
    }
    if (changed) this.#settings.set(DEVICES, devices);
  }

  /** A user removed or demoted: every device of theirs goes at once. */
  revokeUser(userId: string): number {
    this.onUserRevoked(userId);
    return this.#remove((d) => d.userId === userId);
  }

  #remove(match: (d: RemoteDevice) => boolean): number {
    const devices = this.all();
    const gone = devices.filter(match);
    if (gone.length === 0) return 0;
    this.#save(
      devices.filter((d) => !match(d)),
      [...this.revokedKeys(), ...gone.map((d) => d.publicKey)].slice(-1000),
    );
    this.onRemoved(gone);
    return gone.length;
  }

  #save(devices: RemoteDevice[], revoked: string[]): void {
    this.#settings.set(DEVICES, devices);
    this.#settings.set(REVOKED, revoked);
    this.onChange(devices, revoked);
  }
}

function keyOf(text: string, field: string): Uint8Array {
  try {
    return keyFromBase64(text, 32);
  } catch {
    throw new HubError('validation_failed', `${field} must be a base64 32-byte key`, { field });
  }
}
