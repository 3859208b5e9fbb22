import type { Db } from './db.ts';
import type { Role } from '../core/bus.ts';

export interface UserRow {
  id: string;
  username: string;
  passwordHash: string;
  role: Role;
  createdAt: number;
  /** Bumped when the user's sessions must end (role change, password reset): see access-tokens.ts. */
  sessionGeneration: number;
}

/** A row to insert: a new user starts at generation 0. */
export type NewUser = Omit<UserRow, 'sessionGeneration'>;

interface RawUser {
  id: string;
  username: string;
  password_hash: string;
  role: Role;
  created_at: number;
  session_generation: number;
}

const toUser = (r: RawUser): UserRow => ({ id: r.id, username: r.username, passwordHash: r.password_hash, role: r.role, createdAt: r.created_at, sessionGeneration: r.session_generation });

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
    if (change.passwordHash !== undefined) this.#db.prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(change.passwordHash, id);
  }

  /** Access tokens issued before this call stop verifying (service.inspectAccess). */
  bumpSessionGeneration(id: string): void {
    this.#db.prepare('UPDATE users SET session_generation = session_generation + 1 WHERE id = ?').run(id);
  }

  /** Refresh tokens go with the row (ON DELETE CASCADE). */
  delete(id: string): boolean {
    return this.#db.prepare('DELETE FROM users WHERE id = ?').run(id).changes > 0;
  }
}
