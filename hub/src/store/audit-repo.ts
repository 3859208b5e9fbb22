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
      .run(e.at, JSON.stringify(e.actor), e.action, e.target ?? null, e.details ? JSON.stringify(e.details) : null);
    return Number(result.lastInsertRowid);
  }

  /** Newest first; `before` pages backwards by id. */
  list(limit: number, before?: number): AuditRow[] {
    const rows = this.#db
      .prepare('SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?')
      .all(before ?? Number.MAX_SAFE_INTEGER, limit) as { id: number; at: number; actor: string; action: string; target: string | null; details: string | null }[];
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
