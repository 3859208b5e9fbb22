import type { Db } from './db.ts';

export interface HomeRow {
  id: string;
  name: string;
  createdAt: number;
}

export interface RoomRow {
  id: string;
  homeId: string;
  name: string;
  createdAt: number;
}

interface RawRoom {
  id: string;
  home_id: string;
  name: string;
  created_at: number;
}

const toRoom = (r: RawRoom): RoomRow => ({ id: r.id, homeId: r.home_id, name: r.name, createdAt: r.created_at });

export class RoomsRepo {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  homes(): HomeRow[] {
    return (
      this.#db.prepare('SELECT id, name, created_at FROM homes ORDER BY created_at').all() as {
        id: string;
        name: string;
        created_at: number;
      }[]
    ).map((h) => ({
      id: h.id,
      name: h.name,
      createdAt: h.created_at,
    }));
  }

  insertHome(home: HomeRow): void {
    this.#db
      .prepare('INSERT INTO homes (id, name, created_at) VALUES (?, ?, ?)')
      .run(home.id, home.name, home.createdAt);
  }

  renameHome(id: string, name: string): boolean {
    return this.#db.prepare('UPDATE homes SET name = ? WHERE id = ?').run(name, id).changes > 0;
  }

  list(): RoomRow[] {
    return (this.#db.prepare('SELECT * FROM rooms ORDER BY created_at, id').all() as RawRoom[]).map(toRoom);
  }

  byId(id: string): RoomRow | undefined {
    const row = this.#db.prepare('SELECT * FROM rooms WHERE id = ?').get(id) as RawRoom | undefined;
    return row && toRoom(row);
  }

  insert(room: RoomRow): void {
    this.#db
      .prepare('INSERT INTO rooms (id, home_id, name, created_at) VALUES (?, ?, ?, ?)')
      .run(room.id, room.homeId, room.name, room.createdAt);
  }

  rename(id: string, name: string): boolean {
    return this.#db.prepare('UPDATE rooms SET name = ? WHERE id = ?').run(name, id).changes > 0;
  }

  delete(id: string): boolean {
    return this.#db.prepare('DELETE FROM rooms WHERE id = ?').run(id).changes > 0;
  }
}
