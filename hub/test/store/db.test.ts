import { openSync, writeSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion } from '../../src/store/db.ts';
import { MIGRATIONS } from '../../src/store/migrations.ts';
import { tempDir } from '../helpers/temp.ts';

describe('openDatabase', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));
  const dbPath = () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return join(t.dir, 'hearth.db');
  };

  it('creates the file in WAL mode with every migration applied', () => {
    const path = dbPath();
    const db = openDatabase(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(schemaVersion(db)).toBe(Math.max(...MIGRATIONS.map((m) => m.version)));
    db.close();
  });

  it('applies only new migrations on a later start, each in its own transaction', () => {
    const path = dbPath();
    openDatabase(path).close();
    const latest = Math.max(...MIGRATIONS.map((m) => m.version));
    const extra = { version: latest + 1, name: 'extra', sql: 'CREATE TABLE extra (x INTEGER) STRICT;' };
    const db = openDatabase(path, { migrations: [extra] });
    expect(schemaVersion(db)).toBe(latest + 1);
    db.close();
    // A failing migration leaves the schema version (and the tables) as they were.
    const broken = {
      version: latest + 2,
      name: 'broken',
      sql: 'CREATE TABLE half (x INTEGER); SELECT * FROM no_such_table;',
    };
    expect(() => openDatabase(path, { migrations: [extra, broken] })).toThrow();
    const check = new Database(path);
    expect(check.pragma('user_version', { simple: true })).toBe(latest + 1);
    expect(check.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half'").get()).toEqual({ n: 0 });
    check.close();
  });

  it('refuses a database newer than the hub with store_too_new', () => {
    const path = dbPath();
    const db = openDatabase(path);
    db.pragma('user_version = 999');
    db.close();
    expect(() => openDatabase(path)).toThrowError(expect.objectContaining({ code: 'store_too_new' }));
  });

  it('refuses a file with damaged pages with store_corrupt and leaves it untouched', () => {
    const path = dbPath();
    const db = openDatabase(path);
    db.exec('CREATE TABLE filler (id INTEGER PRIMARY KEY, t TEXT); CREATE INDEX filler_t ON filler(t);');
    const insert = db.prepare('INSERT INTO filler (t) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run(`row ${i} `.repeat(8));
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    // Scribble over a few pages in the middle of the file, keeping the header valid.
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(4096 * 3, 0x7f), 0, 4096 * 3, 4096 * 10);
    closeSync(fd);
    const before = readFileSync(path);
    expect(() => openDatabase(path)).toThrowError(expect.objectContaining({ code: 'store_corrupt' }));
    expect(readFileSync(path).equals(before)).toBe(true);
  });
});
