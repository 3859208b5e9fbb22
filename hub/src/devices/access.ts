import type { Actor, Role } from '@hearth/model/values';
import { HubError } from '../core/errors.ts';

// An installer may do what an admin may for setting the home up (rooms, devices, rules,
// cameras), never what needs the owner; user management refuses it separately (user-admin.ts).
const RANK: Record<Role, number> = { guest: 0, member: 1, admin: 2, installer: 2, owner: 3 };

/** True if the actor holds at least `role`. Rules and the hub itself act with full rights. */
export function hasRole(actor: Actor, role: Role): boolean {
  if (actor.kind !== 'user') return true;
  return RANK[actor.role] >= RANK[role];
}

export function requireRole(actor: Actor, role: Role, what: string): void {
  if (!hasRole(actor, role)) throw new HubError('forbidden', `${what} needs the ${role} role`);
}

/**
 * False only for a key for scripts limited to some devices (auth/api-tokens.ts) and a device
 * outside them: for that key the device does not exist (404 like an unknown one, and no events).
 */
export function reachesDevice(actor: Actor, deviceId: string): boolean {
  return actor.kind !== 'user' || !actor.token?.devices || actor.token.devices.includes(deviceId);
}

/** A key limited to some devices: it sees nothing that is not about one device (rules, audit, cameras). */
export function limitedToDevices(actor: Actor): boolean {
  return actor.kind === 'user' && actor.token?.devices !== undefined;
}
