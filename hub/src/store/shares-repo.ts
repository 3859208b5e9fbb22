import type { ShareAccess, ShareKind, ShareWindow } from '@hearth/model/api';
import type { Db } from './db.ts';

export interface ShareRow {
  id: string;
  userId: string;
  kind: ShareKind;
  targetId: string;
  access: ShareAccess;
  /** When it ends by itself (epoch ms), or null. */
  until: number | null;
  /** Weekly windows in the home's time zone; empty: always. */
  windows: ShareWindow[];
  /** The user id of the owner or admin who made it. */
  createdBy: string;
  createdAt: number;
}

interface RawShare {
  id: string;
  user_id: string;
  kind: ShareKind;
  target_id: string;
  access: ShareAccess;
  until: number | null;
  windows: string | null;
  created_by: string;
  created_at: number;
}

const toRow = (r: RawShare): ShareRow => ({
  id: r.id,
  userId: r.user_id,
  kind: r.kind,
  targetId: r.target_id,
  access: r.access,
  until: r.until,
  windows: r.windows === null ? [] : (JSON.parse(r.windows) as ShareWindow[]),
  createdBy: r.created_by,
  createdAt: r.created_at,
});

/** Shares (devices/sharing.ts), one row each. Read whole at start; written only when one is made or ends. */
export class SharesRepo {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  insert(s: ShareRow): void {
    this.#db
      .prepare(
        `INSERT INTO shares (id, user_id, kind, target_id, access, until, windows, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        s.id,
        s.userId,
        s.kind,
        s.targetId,
        s.access,
        s.until,
        s.windows.length === 0 ? null : JSON.stringify(s.windows),
        s.createdBy,
        s.createdAt,
      );
  }

  all(): ShareRow[] {
    return (this.#db.prepare('SELECT * FROM shares ORDER BY created_at, id').all() as RawShare[]).map(toRow);
  }

  count(): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM shares').get() as { n: number }).n;
  }

  /** Deletes share `id`; false if there is none. */
  delete(id: string): boolean {
    return this.#db.prepare('DELETE FROM shares WHERE id = ?').run(id).changes > 0;
  }

  /** Deletes every share of one thing (it was removed); returns their rows. */
  deleteTarget(kind: ShareKind, targetId: string): ShareRow[] {
    const rows = (
      this.#db.prepare('SELECT * FROM shares WHERE kind = ? AND target_id = ?').all(kind, targetId) as RawShare[]
    ).map(toRow);
    this.#db.prepare('DELETE FROM shares WHERE kind = ? AND target_id = ?').run(kind, targetId);
    return rows;
  }

  /** Deletes the shares that ended by `now` and have no window left to open; returns their ids. */
  deleteEnded(now: number): string[] {
    const ids = (
      this.#db.prepare('SELECT id FROM shares WHERE until IS NOT NULL AND until <= ?').all(now) as { id: string }[]
    ).map((r) => r.id);
    this.#db.prepare('DELETE FROM shares WHERE until IS NOT NULL AND until <= ?').run(now);
    return ids;
  }
}
