import type { StateValue } from '@hearth/model/values';
import type { Db } from './db.ts';

export interface DeviceRow {
  id: string;
  name: string;
  roomId: string | null;
  driver: string;
  model: string;
  capabilities: string[];
  config: Record<string, unknown>;
  available: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface StateRow {
  deviceId: string;
  capability: string;
  value: StateValue;
  updatedAt: number;
}

interface RawDevice {
  id: string;
  name: string;
  room_id: string | null;
  driver: string;
  model: string;
  capabilities: string;
  config: string;
  available: number;
  created_at: number;
  updated_at: number;
}

const toDevice = (r: RawDevice): DeviceRow => ({
  id: r.id,
  name: r.name,
  roomId: r.room_id,
  driver: r.driver,
  model: r.model,
  capabilities: JSON.parse(r.capabilities),
  config: JSON.parse(r.config),
  available: r.available === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class DevicesRepo {
  readonly #db: Db;
  readonly #upsertState;
  readonly #setConfig;

  constructor(db: Db) {
    this.#db = db;
    this.#upsertState = db.prepare(
      `INSERT INTO device_state (device_id, capability, value, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (device_id, capability) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
    // On every plug command (its counter): prepared once.
    this.#setConfig = db.prepare('UPDATE devices SET config = ?, updated_at = ? WHERE id = ?');
  }

  list(): DeviceRow[] {
    return (this.#db.prepare('SELECT * FROM devices ORDER BY created_at, id').all() as RawDevice[]).map(toDevice);
  }

  byId(id: string): DeviceRow | undefined {
    const row = this.#db.prepare('SELECT * FROM devices WHERE id = ?').get(id) as RawDevice | undefined;
    return row && toDevice(row);
  }

  insert(d: DeviceRow): void {
    this.#db
      .prepare(
        `INSERT INTO devices (id, name, room_id, driver, model, capabilities, config, available, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        d.id,
        d.name,
        d.roomId,
        d.driver,
        d.model,
        JSON.stringify(d.capabilities),
        JSON.stringify(d.config),
        d.available ? 1 : 0,
        d.createdAt,
        d.updatedAt,
      );
  }

  update(
    id: string,
    fields: { name?: string; roomId?: string | null; config?: Record<string, unknown> },
    at: number,
  ): boolean {
    const current = this.byId(id);
    if (!current) return false;
    this.#db
      .prepare('UPDATE devices SET name = ?, room_id = ?, config = ?, updated_at = ? WHERE id = ?')
      .run(
        fields.name ?? current.name,
        fields.roomId !== undefined ? fields.roomId : current.roomId,
        JSON.stringify(fields.config ?? current.config),
        at,
        id,
      );
    return true;
  }

  setConfig(id: string, config: Record<string, unknown>, at: number): boolean {
    return this.#setConfig.run(JSON.stringify(config), at, id).changes > 0;
  }

  setAvailable(id: string, available: boolean, at: number): void {
    this.#db.prepare('UPDATE devices SET available = ?, updated_at = ? WHERE id = ?').run(available ? 1 : 0, at, id);
  }

  delete(id: string): boolean {
    return this.#db.prepare('DELETE FROM devices WHERE id = ?').run(id).changes > 0;
  }

  states(): StateRow[] {
    return (
      this.#db.prepare('SELECT * FROM device_state').all() as {
        device_id: string;
        capability: string;
        value: string;
        updated_at: number;
      }[]
    ).map((r) => ({
      deviceId: r.device_id,
      capability: r.capability,
      value: JSON.parse(r.value),
      updatedAt: r.updated_at,
    }));
  }

  /**
   * One state row, one transaction. The device's `updated_at` is not touched: the row carries its
   * own time and the device's view takes the newest of them (views.ts), so bumping `devices`
   * too wrote a second page per state change for nothing (issue 13, docs/writes.md).
   */
  saveState(s: StateRow): void {
    this.saveStates([s]);
  }

  /** Many state rows in one transaction. */
  saveStates(rows: StateRow[]): void {
    this.#db.transaction(() => {
      for (const s of rows) this.#upsertState.run(s.deviceId, s.capability, JSON.stringify(s.value), s.updatedAt);
    })();
  }
}
