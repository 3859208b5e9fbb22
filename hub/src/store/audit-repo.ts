import type { Db } from './db.ts';
import type { AuditEvent } from '../core/bus.ts';

export interface AuditRow extends AuditEvent {
  id: number;
}

export class AuditRepo {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  insert(e: AuditEvent): number {
    const result = this.#db
      .prepare('INSERT INTO audit_log (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)')
      .run(
        e.at,
        JSON.stringify(e.actor, withoutKeyDevices),
        e.action,
        e.target ?? null,
        e.details ? JSON.stringify(e.details) : null,
      );
    return Number(result.lastInsertRowid);
  }

  /** Newest first; `before` pages backwards by id. */
  list(limit: number, before?: number): AuditRow[] {
    const rows = this.#db
      .prepare('SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?')
      .all(before ?? Number.MAX_SAFE_INTEGER, limit) as {
      id: number;
      at: number;
      actor: string;
      action: string;
      target: string | null;
      details: string | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      actor: JSON.parse(r.actor),
      action: r.action,
      ...(r.target !== null ? { target: r.target } : {}),
      ...(r.details !== null ? { details: JSON.parse(r.details) } : {}),
    }));
  }
}

/**
 * A key for scripts limited to some devices carries their ids on its actor (auth/api-tokens.ts);
 * the audit row names the key (id, name, scope) and leaves the list out, up to 50 ids on every
 * command it sends (the SD card's budget, docs/writes.md).
 */
function withoutKeyDevices(this: unknown, key: string, value: unknown): unknown {
  return key === 'devices' && this !== null && typeof this === 'object' && 'scope' in this ? undefined : value;
}
