import { mkdirSync, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { HubError } from '../core/errors.ts';
import { MIGRATIONS, type Migration } from './migrations.ts';

export type Db = Database.Database;

export interface OpenOptions {
  /** Extra migrations appended after the built-in ones (tests of the migration runner). */
  migrations?: Migration[];
}

/**
 * Opens the hub's one SQLite file. Refuses, with `store_corrupt`, a file that is not a database or
 * fails `PRAGMA integrity_check`: the owner must decide what to do with it, the hub never resets
 * it silently. WAL keeps readers (the API) from blocking the writer (ingest), and
 * `synchronous=NORMAL` in WAL mode loses at most the last transactions on power loss, never
 * consistency.
 */
export function openDatabase(path: string, options: OpenOptions = {}): Db {
  mkdirSync(dirname(path), { recursive: true });
  const isNew = !existsSync(path) || statSync(path).size === 0;
  let db: Db;
  try {
    db = new Database(path);
  } catch (err) {
    throw new HubError('store_corrupt', `cannot open database ${path}: ${(err as Error).message}`, undefined, {
      cause: err,
    });
  }
  try {
    if (!isNew) checkIntegrity(db, path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, [...MIGRATIONS, ...(options.migrations ?? [])]);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

function checkIntegrity(db: Db, path: string): void {
  let rows: { integrity_check: string }[];
  try {
    rows = db.pragma('integrity_check') as { integrity_check: string }[];
  } catch (err) {
    throw new HubError(
      'store_corrupt',
      `database ${path} is unreadable (${(err as Error).message}); move it aside or restore a backup`,
      undefined,
      { cause: err },
    );
  }
  const problems = rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
  if (problems.length > 0) {
    throw new HubError(
      'store_corrupt',
      `database ${path} failed integrity_check: ${problems.slice(0, 3).join('; ')}; move it aside or restore a backup`,
    );
  }
}

export function migrate(db: Db, migrations: Migration[]): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  if (current > latest) {
    throw new HubError(
      'store_too_new',
      `database schema version ${current} is newer than this hub understands (${latest}); upgrade the hub`,
    );
  }
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (migration.version <= current) continue;
    // Foreign keys can only be switched outside a transaction; switched back whatever happens.
    const restoreForeignKeys = migration.foreignKeysOff === true && db.pragma('foreign_keys', { simple: true }) === 1;
    if (restoreForeignKeys) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        db.exec(migration.sql);
        if (migration.foreignKeysOff && (db.pragma('foreign_key_check') as unknown[]).length > 0) {
          throw new HubError(
            'store_corrupt',
            `migration ${migration.version} (${migration.name}) left broken references; the database was not changed`,
          );
        }
        db.pragma(`user_version = ${migration.version}`);
      })();
    } finally {
      if (restoreForeignKeys) db.pragma('foreign_keys = ON');
    }
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}
