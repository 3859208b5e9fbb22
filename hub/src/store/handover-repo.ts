import type { Db } from './db.ts';

/** A one-time owner invite (auth/handover.ts); the code itself is never stored. */
export interface OwnerInviteRow {
  id: string;
  codeHash: string;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
  supportDays: number;
  usedAt: number | null;
}

export interface SupportGrantRow {
  userId: string;
  grantedAt: number;
  expiresAt: number;
}

interface RawInvite {
  id: string;
  code_hash: string;
  created_by: string;
  created_at: number;
  expires_at: number;
  support_days: number;
  used_at: number | null;
}

const toInvite = (r: RawInvite): OwnerInviteRow => ({
  id: r.id,
  codeHash: r.code_hash,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  supportDays: r.support_days,
  usedAt: r.used_at,
});

/** Owner invites and installers' support grants (migration 12). */
export class HandoverRepo {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /** A new invite replaces every unused one: only the newest code can make the owner. */
  replaceInvite(invite: Omit<OwnerInviteRow, 'usedAt'>): void {
    this.#db.prepare('DELETE FROM owner_invites WHERE used_at IS NULL').run();
    this.#db
      .prepare(
        'INSERT INTO owner_invites (id, code_hash, created_by, created_at, expires_at, support_days) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(invite.id, invite.codeHash, invite.createdBy, invite.createdAt, invite.expiresAt, invite.supportDays);
  }

  inviteByHash(codeHash: string): OwnerInviteRow | undefined {
    const row = this.#db.prepare('SELECT * FROM owner_invites WHERE code_hash = ?').get(codeHash) as
      | RawInvite
      | undefined;
    return row && toInvite(row);
  }

  /** The unused invite, if any (there is at most one). */
  pendingInvite(): OwnerInviteRow | undefined {
    const row = this.#db
      .prepare('SELECT * FROM owner_invites WHERE used_at IS NULL ORDER BY created_at DESC LIMIT 1')
      .get() as RawInvite | undefined;
    return row && toInvite(row);
  }

  /** Marks the invite spent; false if it already was (two accepts racing). */
  useInvite(id: string, at: number): boolean {
    return (
      this.#db.prepare('UPDATE owner_invites SET used_at = ? WHERE id = ? AND used_at IS NULL').run(at, id).changes ===
      1
    );
  }

  grant(userId: string): SupportGrantRow | undefined {
    const row = this.#db
      .prepare(
        'SELECT user_id AS userId, granted_at AS grantedAt, expires_at AS expiresAt FROM support_grants WHERE user_id = ?',
      )
      .get(userId);
    return row as SupportGrantRow | undefined;
  }

  grants(): SupportGrantRow[] {
    return this.#db
      .prepare(
        'SELECT user_id AS userId, granted_at AS grantedAt, expires_at AS expiresAt FROM support_grants ORDER BY expires_at',
      )
      .all() as SupportGrantRow[];
  }

  setGrant(grant: SupportGrantRow): void {
    this.#db
      .prepare(
        'INSERT INTO support_grants (user_id, granted_at, expires_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET expires_at = excluded.expires_at',
      )
      .run(grant.userId, grant.grantedAt, grant.expiresAt);
  }

  deleteGrant(userId: string): boolean {
    return this.#db.prepare('DELETE FROM support_grants WHERE user_id = ?').run(userId).changes === 1;
  }
}
