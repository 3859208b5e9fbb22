import type { Actor, Role } from '@hearth/model/values';

/**
 * The shapes shared by the auth service and its helpers (two-factor.ts, user-admin.ts), here so
 * those helpers need not import the service that uses them. service.ts re-exports them.
 */
export type UserActor = Extract<Actor, { kind: 'user' }>;

export interface PublicUser {
  id: string;
  username: string;
  role: Role;
  createdAt: string;
}
