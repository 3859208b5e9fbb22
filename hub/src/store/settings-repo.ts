import type { Db } from './db.ts';

/** Small JSON values keyed by name: hub identity, home location, budgets. */
export class SettingsRepo {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  get<T>(key: string): T | undefined {
    const row = this.#db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  set(key: string, value: unknown): void {
    this.#db
      .prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(key, JSON.stringify(value));
  }
}
