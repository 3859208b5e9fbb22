import type { Role } from '@hearth/model/values';
import type { Db } from './db.ts';

export interface UserRow {
  id: string;
  username: string;
  passwordHash: string;
  role: Role;
  createdAt: number;
  /** Bumped when the user's sessions must end (role change, password reset): see access-tokens.ts. */
  sessionGeneration: number;
  /** The active TOTP secret (base32), null when two-step login is off (auth/two-factor.ts). */
  totpSecret?: string | null;
  /** A secret set up but not yet confirmed with a code. */
  totpPendingSecret?: string | null;
  /** The newest time step a code was accepted for: that code and older ones are refused. */
  totpLastStep?: number | null;
}

/** A row to insert: a new user starts at generation 0, without a second factor. */
export type NewUser = Omit<UserRow, 'sessionGeneration' | 'totpSecret' | 'totpPendingSecret' | 'totpLastStep'>;

interface RawUser {
  id: string;
  username: string;
  password_hash: string;
  role: Role;
  created_at: number;
  session_generation: number;
  totp_secret: string | null;
  totp_pending_secret: string | null;
  totp_last_step: number | null;
}

const toUser = (r: RawUser): UserRow => ({
  id: r.id,
  username: r.username,
  passwordHash: r.password_hash,
  role: r.role,
  createdAt: r.created_at,
  sessionGeneration: r.session_generation,
  totpSecret: r.totp_secret,
  totpPendingSecret: r.totp_pending_secret,
  totpLastStep: r.totp_last_step,
});

export class UsersRepo {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  count(): number {
    return (this.#db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
  }

  insert(user: NewUser): void {
    this.#db
      .prepare('INSERT INTO users (id, username, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(user.id, user.username, user.passwordHash, user.role, user.createdAt);
  }

  byUsername(username: string): UserRow | undefined {
    const row = this.#db.prepare('SELECT * FROM users WHERE username = ?').get(username) as RawUser | undefined;
    return row && toUser(row);
  }

  byId(id: string): UserRow | undefined {
    const row = this.#db.prepare('SELECT * FROM users WHERE id = ?').get(id) as RawUser | undefined;
    return row && toUser(row);
  }

  list(): UserRow[] {
    return (this.#db.prepare('SELECT * FROM users ORDER BY created_at').all() as RawUser[]).map(toUser);
  }

  countRole(role: Role): number {
    return (this.#db.prepare('SELECT count(*) AS n FROM users WHERE role = ?').get(role) as { n: number }).n;
  }

  update(id: string, change: { role?: Role; passwordHash?: string }): void {
    if (change.role !== undefined) this.#db.prepare('UPDATE users SET role = ? WHERE id = ?').run(change.role, id);
    if (change.passwordHash !== undefined)
      this.#db.prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(change.passwordHash, id);
  }

  /** Access tokens issued before this call stop verifying (service.inspectAccess). */
  bumpSessionGeneration(id: string): void {
    this.#db.prepare('UPDATE users SET session_generation = session_generation + 1 WHERE id = ?').run(id);
  }

  /** Keeps a secret for confirmation (TOTP stays as it is until confirmed). */
  setTotpPending(id: string, secret: string): void {
    this.#db.prepare('UPDATE users SET totp_pending_secret = ? WHERE id = ?').run(secret, id);
  }

  /** The pending secret becomes the active one, with new recovery codes (digests) replacing any old ones. */
  enableTotp(id: string, secret: string, step: number, recoveryHashes: string[]): void {
    this.#db
      .prepare('UPDATE users SET totp_secret = ?, totp_pending_secret = NULL, totp_last_step = ? WHERE id = ?')
      .run(secret, step, id);
    this.#db.prepare('DELETE FROM totp_recovery_codes WHERE user_id = ?').run(id);
    const insert = this.#db.prepare('INSERT INTO totp_recovery_codes (user_id, code_hash) VALUES (?, ?)');
    for (const hash of recoveryHashes) insert.run(id, hash);
  }

  /** Two-step login off: secret, pending secret, replay mark and recovery codes go. True if it was on. */
  disableTotp(id: string): boolean {
    const was = this.#db.prepare('SELECT totp_secret FROM users WHERE id = ?').get(id) as
      | { totp_secret: string | null }
      | undefined;
    this.#db
      .prepare('UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL, totp_last_step = NULL WHERE id = ?')
      .run(id);
    this.#db.prepare('DELETE FROM totp_recovery_codes WHERE user_id = ?').run(id);
    return was?.totp_secret != null;
  }

  /** Records an accepted step; false when that step (or a newer one) was accepted already: a replay. */
  acceptTotpStep(id: string, step: number): boolean {
    return (
      this.#db
        .prepare(
          'UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < ?)',
        )
        .run(step, id, step).changes > 0
    );
  }

  /** Spends a recovery code; false when it is unknown or spent. */
  useRecoveryCode(id: string, hash: string, at: number): boolean {
    return (
      this.#db
        .prepare('UPDATE totp_recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL')
        .run(at, id, hash).changes > 0
    );
  }

  recoveryCodesLeft(id: string): number {
    return (
      this.#db
        .prepare('SELECT count(*) AS n FROM totp_recovery_codes WHERE user_id = ? AND used_at IS NULL')
        .get(id) as { n: number }
    ).n;
  }

  /** Refresh tokens go with the row (ON DELETE CASCADE). */
  delete(id: string): boolean {
    return this.#db.prepare('DELETE FROM users WHERE id = ?').run(id).changes > 0;
  }
}
