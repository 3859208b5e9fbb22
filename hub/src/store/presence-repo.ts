import type { StateValue } from '@hearth/model/values';
import type { Db } from './db.ts';

export type PresenceState = 'home' | 'away';
export type PresenceSource = 'manual' | 'phone' | 'device';

export interface PresenceRow {
  userId: string;
  state: PresenceState;
  source: PresenceSource;
  /** With source `device`: the device, capability and the value that means home. */
  follow: { device: string; capability: string; home: StateValue } | null;
  changedAt: number;
}

interface RawPresence {
  user_id: string;
  state: PresenceState;
  source: PresenceSource;
  device_id: string | null;
  capability: string | null;
  home_value: string | null;
  changed_at: number;
}

const toRow = (r: RawPresence): PresenceRow => ({
  userId: r.user_id,
  state: r.state,
  source: r.source,
  follow:
    r.device_id !== null && r.capability !== null
      ? { device: r.device_id, capability: r.capability, home: JSON.parse(r.home_value ?? 'null') as StateValue }
      : null,
  changedAt: r.changed_at,
});

/** Presence (devices/presence.ts): one row a person who has it, written when it changes. */
export class PresenceRepo {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  all(): PresenceRow[] {
    return (this.#db.prepare('SELECT * FROM presence').all() as RawPresence[]).map(toRow);
  }

  save(row: PresenceRow): void {
    this.#db
      .prepare(
        `INSERT INTO presence (user_id, state, source, device_id, capability, home_value, changed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, source = excluded.source,
           device_id = excluded.device_id, capability = excluded.capability, home_value = excluded.home_value,
           changed_at = excluded.changed_at`,
      )
      .run(
        row.userId,
        row.state,
        row.source,
        row.follow?.device ?? null,
        row.follow?.capability ?? null,
        row.follow ? JSON.stringify(row.follow.home) : null,
        row.changedAt,
      );
  }

  delete(userId: string): boolean {
    return this.#db.prepare('DELETE FROM presence WHERE user_id = ?').run(userId).changes > 0;
  }
}
