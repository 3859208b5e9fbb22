import type { Db } from './db.ts';

export interface RefreshTokenRow {
  id: string;
  userId: string;
  familyId: string;
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
  replacedAt: number | null;
  revokedAt: number | null;
}

interface RawToken {
  id: string;
  user_id: string;
  family_id: string;
  token_hash: string;
  created_at: number;
  expires_at: number;
  replaced_at: number | null;
  revoked_at: number | null;
}

const toToken = (r: RawToken): RefreshTokenRow => ({
  id: r.id,
  userId: r.user_id,
  familyId: r.family_id,
  tokenHash: r.token_hash,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  replacedAt: r.replaced_at,
  revokedAt: r.revoked_at,
});

export class TokensRepo {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  insert(t: Omit<RefreshTokenRow, 'replacedAt' | 'revokedAt'>): void {
    this.#db
      .prepare(
        'INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(t.id, t.userId, t.familyId, t.tokenHash, t.createdAt, t.expiresAt);
  }

  byHash(tokenHash: string): RefreshTokenRow | undefined {
    const row = this.#db.prepare('SELECT * FROM refresh_tokens WHERE token_hash = ?').get(tokenHash) as
      | RawToken
      | undefined;
    return row && toToken(row);
  }

  markReplaced(id: string, at: number): void {
    this.#db.prepare('UPDATE refresh_tokens SET replaced_at = ? WHERE id = ?').run(at, id);
  }

  revokeFamily(familyId: string, at: number): void {
    this.#db
      .prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL')
      .run(at, familyId);
  }

  revokeUser(userId: string, at: number): void {
    this.#db
      .prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL')
      .run(at, userId);
  }

  deleteExpired(now: number): number {
    return this.#db.prepare('DELETE FROM refresh_tokens WHERE expires_at < ?').run(now).changes;
  }
}
