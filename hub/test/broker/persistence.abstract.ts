/**
 * aedes-persistence's own abstract test suite, run against our SQLite persistence.
 * Not a vitest file: the suite is written for node:test. Run from the repository root with
 *   node --test hub/test/broker/persistence.abstract.ts
 * (scripts/test does). Each instance gets its own fresh database file.
 */
import { test, after } from 'node:test';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/db.ts';
import { SqlitePersistence } from '../../src/broker/persistence/sqlite-persistence.ts';

const require = createRequire(import.meta.url);
const abstractPersistence = require('aedes-persistence/abstract.js') as (opts: {
  test: typeof test;
  persistence: () => Promise<unknown>;
  testAsync: boolean;
}) => void;

const dir = mkdtempSync(join(tmpdir(), 'hearth-persistence-abstract-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
abstractPersistence({
  test,
  testAsync: true,
  persistence: async () => {
    const db = openDatabase(join(dir, `p${n++}.db`));
    // A short window so the suite also exercises the SQLite writes, not only memory.
    const persistence = new SqlitePersistence({ db, flushMs: 1 });
    const destroy = persistence.destroy.bind(persistence);
    persistence.destroy = async () => {
      await destroy();
      db.close();
    };
    return persistence;
  },
});
