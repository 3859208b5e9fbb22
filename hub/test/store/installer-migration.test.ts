import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, openDatabase, schemaVersion } from '../../src/store/db.ts';
import { MIGRATIONS } from '../../src/store/migrations.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * Migration 12 rebuilds the users table (to allow the `installer` role): rows that reference
 * users (refresh tokens, recovery codes) must survive it, and foreign keys must be on after.
 */
describe('installer_handover migration', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  it('keeps users and what references them, allows installer, and leaves foreign keys on', () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const path = join(t.dir, 'hearth.db');
    // A database as a hub before this migration left it.
    const old = new Database(path);
    old.pragma('foreign_keys = ON');
    migrate(
      old,
      MIGRATIONS.filter((m) => m.version < 12),
    );
    old
      .prepare(
        'INSERT INTO users (id, username, password_hash, role, created_at, session_generation, ' +
          "totp_secret) VALUES ('usr_a', 'ann', 'h', 'owner', 1, 3, 'SECRET')",
      )
      .run();
    old
      .prepare(
        "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at) VALUES ('rt1', 'usr_a', 'f', 'th', 1, 2)",
      )
      .run();
    old.prepare("INSERT INTO totp_recovery_codes (user_id, code_hash) VALUES ('usr_a', 'c1')").run();
    expect(() =>
      old
        .prepare(
          "INSERT INTO users (id, username, password_hash, role, created_at) VALUES ('usr_b', 'bob', 'h', 'installer', 1)",
        )
        .run(),
    ).toThrow(/CHECK/);
    old.close();

    const db = openDatabase(path);
    expect(schemaVersion(db)).toBe(Math.max(...MIGRATIONS.map((m) => m.version)));
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(
      db
        .prepare("SELECT username, role, session_generation AS g, totp_secret AS s FROM users WHERE id = 'usr_a'")
        .get(),
    ).toEqual({ username: 'ann', role: 'owner', g: 3, s: 'SECRET' });
    expect(db.prepare('SELECT count(*) AS n FROM refresh_tokens').get()).toEqual({ n: 1 });
    expect(db.prepare('SELECT count(*) AS n FROM totp_recovery_codes').get()).toEqual({ n: 1 });
    db.prepare(
      "INSERT INTO users (id, username, password_hash, role, created_at) VALUES ('usr_b', 'bob', 'h', 'installer', 1)",
    ).run();
    // The references still point at the rebuilt table: deleting a user cascades as before.
    db.prepare("DELETE FROM users WHERE id = 'usr_a'").run();
    expect(db.prepare('SELECT count(*) AS n FROM refresh_tokens').get()).toEqual({ n: 0 });
    expect(db.pragma('foreign_key_check')).toEqual([]);
    db.close();
  });
});
