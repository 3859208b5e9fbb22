import type { User } from '@hearth/model/api';
import type { GrantableRole, Role } from '@hearth/model/values';
import { ApiError, plainMessage } from '../../api/errors.ts';

export const ROLE_NAMES: Record<Role, string> = {
  owner: 'Owner',
  admin: 'Admin',
  member: 'Member',
  guest: 'Guest',
  installer: 'Installer',
};

/** The roles `actor` may give: only an owner makes an owner (the hub checks it too). */
export function grantable(actor: Role): GrantableRole[] {
  return actor === 'owner' ? ['owner', 'admin', 'member', 'guest'] : ['admin', 'member', 'guest'];
}

/** Whether `actor` may touch `target` at all: nobody re-roles or removes themselves, only an owner changes an owner. */
export function manageable(actor: User, target: User): boolean {
  return actor.id !== target.id && (target.role !== 'owner' || actor.role === 'owner');
}

/** Plain words for a failed user change, with the field it belongs to when it names one. */
export function peopleError(err: unknown): { field?: 'username' | 'password'; message: string } {
  if (err instanceof ApiError) {
    const field = err.details?.field;
    if (err.code === 'username_taken')
      return { field: 'username', message: 'Someone already has that username. Choose another.' };
    if (err.code === 'validation_failed' && field === 'username')
      return { field: 'username', message: 'A username is 1 to 64 letters, digits or . _ @ - (no spaces).' };
    if (err.code === 'validation_failed' && field === 'password')
      return { field: 'password', message: 'A password needs at least 8 characters.' };
    if (err.code === 'forbidden') return { message: 'Only an owner can make, change or remove an owner.' };
  }
  return { message: plainMessage(err) };
}
