import type { StateValue } from '@hearth/model/values';
import type { Db } from './db.ts';

export interface SceneState {
  device: string;
  capability: string;
  value: StateValue;
}

export interface SceneRow {
  id: string;
  name: string;
  states: SceneState[];
  createdAt: number;
  updatedAt: number;
}

interface RawScene {
  id: string;
  name: string;
  states: string;
  created_at: number;
  updated_at: number;
}

const toScene = (r: RawScene): SceneRow => ({
  id: r.id,
  name: r.name,
  states: JSON.parse(r.states) as SceneState[],
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Saved scenes (migration 5, with the rules). */
export class ScenesRepo {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  list(): SceneRow[] {
    return (this.#db.prepare('SELECT * FROM scenes ORDER BY created_at, id').all() as RawScene[]).map(toScene);
  }

  byId(id: string): SceneRow | undefined {
    const row = this.#db.prepare('SELECT * FROM scenes WHERE id = ?').get(id) as RawScene | undefined;
    return row && toScene(row);
  }

  save(s: SceneRow): void {
    this.#db
      .prepare(`INSERT INTO scenes (id, name, states, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET name = excluded.name, states = excluded.states, updated_at = excluded.updated_at`)
      .run(s.id, s.name, JSON.stringify(s.states), s.createdAt, s.updatedAt);
  }

  delete(id: string): boolean {
    return this.#db.prepare('DELETE FROM scenes WHERE id = ?').run(id).changes > 0;
  }
}
