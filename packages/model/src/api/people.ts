import type { ApiTokenScope, GrantableRole, Role } from '../values.ts';

/** POST /auth/login, /auth/refresh, /setup. */
export interface Session {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

/** GET /users, /me. */
export interface User {
  id: string;
  username: string;
  role: Role;
  createdAt: string;
  /** Two-step login on (only in GET /me, the person's own account). */
  totp?: boolean;
}

/** POST /me/totp/setup: the secret to enter in an authenticator app, as text and otpauth URI. */
export interface TotpSetup {
  secret: string;
  uri: string;
}

/** GET /me/tokens: a script key (never its secret, which is shown once when made). */
export interface ScriptKey {
  id: string;
  name: string;
  scope: ApiTokenScope;
  devices: string[] | null;
  createdAt: string;
  lastUsedAt: string | null;
}

/** POST /me/tokens: the new key with its secret, shown this once. */
export type ScriptKeyCreated = ScriptKey & { token: string };

/** An installer's time-limited support access after the handover. */
export interface HandoverGrant {
  grantedAt: string;
  expiresAt: string;
  active: boolean;
}

/** GET /handover. */
export interface HandoverStatus {
  ownerExists: boolean;
  pendingInvite: { expiresAt: string; supportDays: number } | null;
  installers: { id: string; username: string; supportGrant: HandoverGrant | null }[];
}

/** POST /handover/owner-invite: the one-time code the new owner types. */
export interface HandoverInvite {
  code: string;
  expiresAt: string;
  supportDays: number;
}

/** POST /users: a new person (installers come only by the handover, never this way). */
export interface UserCreate {
  username: string;
  password: string;
  role: GrantableRole;
}

/** PATCH /users/:id: a new role or password (at least one). */
export interface UserPatch {
  role?: GrantableRole;
  password?: string;
}

/** POST /auth/login: the password, and with two-step login on, a code from the app or a recovery code. */
export interface LoginBody {
  username: string;
  password: string;
  totp?: string;
  recoveryCode?: string;
}

/** POST /auth/refresh, /auth/logout. */
export interface RefreshBody {
  refreshToken: string;
}

/** POST /setup: the first account (the owner, or an installer who hands the home over later). */
export interface SetupBody {
  username: string;
  password: string;
  setupCode?: string;
  role?: 'owner' | 'installer';
}

/** POST /me/password. */
export interface PasswordChange {
  currentPassword: string;
  newPassword: string;
}

/** POST /me/totp/enable: a code from the app for the secret of /me/totp/setup, and the password. */
export interface TotpEnable {
  code: string;
  password: string;
}

/** POST /me/totp/disable. */
export interface TotpDisable {
  password: string;
}

/** POST /me/tokens: a script key, for all devices or the ones named. */
export interface ScriptKeyCreate {
  name: string;
  scope: ApiTokenScope;
  devices?: string[];
}

/** POST /handover/owner-invite: the installer's support access after the handover, in days. */
export interface HandoverInviteCreate {
  supportDays?: number;
}

/** POST /handover/accept: the owner account made with the invite's code. */
export interface HandoverAccept {
  code: string;
  username: string;
  password: string;
}

/** PUT /handover/support/:id: the installer's support access from now on, in days. */
export interface SupportExtend {
  days: number;
}
