import type { ApiTokenScope } from '@hearth/model/values';
import type { Db } from './db.ts';

export interface ApiTokenRow {
  id: string;
  userId: string;
  name: string;
  tokenHash: string;
  scope: ApiTokenScope;
  /** The only devices the key reaches; null: every device its person sees. */
  devices: string[] | null;
  createdAt: number;
  lastUsedAt: number | null;
}

interface RawApiToken {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  scope: ApiTokenScope;
  devices: string | null;
  created_at: number;
  last_used_at: number | null;
}

const toRow = (r: RawApiToken): ApiTokenRow => ({
  id: r.id,
  userId: r.user_id,
  name: r.name,
  tokenHash: r.token_hash,
  scope: r.scope,
  devices: r.devices === null ? null : (JSON.parse(r.devices) as string[]),
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

/** Keys for scripts (auth/api-tokens.ts), one row each; the secret is only ever its digest. */
export class ApiTokensRepo {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  insert(t: Omit<ApiTokenRow, 'lastUsedAt'>): void {
    this.#db
      .prepare(
        'INSERT INTO api_tokens (id, user_id, name, token_hash, scope, devices, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        t.id,
        t.userId,
        t.name,
        t.tokenHash,
        t.scope,
        t.devices === null ? null : JSON.stringify(t.devices),
        t.createdAt,
      );
  }

  byHash(tokenHash: string): ApiTokenRow | undefined {
    const row = this.#db.prepare('SELECT * FROM api_tokens WHERE token_hash = ?').get(tokenHash) as
      | RawApiToken
      | undefined;
    return row && toRow(row);
  }

  byUser(userId: string): ApiTokenRow[] {
    return (
      this.#db
        .prepare('SELECT * FROM api_tokens WHERE user_id = ? ORDER BY created_at, id')
        .all(userId) as RawApiToken[]
    ).map(toRow);
  }

  countByUser(userId: string): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM api_tokens WHERE user_id = ?').get(userId) as { n: number }).n;
  }

  /** Deletes the user's key `id`; false if they have no such key. */
  delete(userId: string, id: string): boolean {
    return this.#db.prepare('DELETE FROM api_tokens WHERE id = ? AND user_id = ?').run(id, userId).changes > 0;
  }

  /** Deletes the user's keys whose scope is in `scopes` (all of them when absent); returns their ids. */
  deleteUser(userId: string, scopes?: readonly ApiTokenScope[]): string[] {
    const rows = this.byUser(userId).filter((t) => !scopes || scopes.includes(t.scope));
    const del = this.#db.prepare('DELETE FROM api_tokens WHERE id = ?');
    for (const row of rows) del.run(row.id);
    return rows.map((r) => r.id);
  }

  touch(id: string, at: number): void {
    this.#db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(at, id);
  }
}
