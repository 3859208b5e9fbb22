import type { Actor } from '@hearth/model/values';
import type Database from 'better-sqlite3';
import type { Db } from './db.ts';

/**
 * What the store needs of a rule's definition: its name, for the `name` column. The rest is JSON
 * whose shape the rules part owns (rules/model.ts instantiates the repo with it), so the store
 * does not import from the layer above it.
 */
export interface StoredDefinition {
  name: string;
}

export interface StoredRule<D extends StoredDefinition = StoredDefinition> {
  id: string;
  enabled: boolean;
  version: number;
  definition: D;
  createdAt: number;
  updatedAt: number;
}

export interface RuleVersionRow<D extends StoredDefinition = StoredDefinition> {
  ruleId: string;
  version: number;
  definition: D;
  author: Actor;
  at: number;
  note: string | null;
}

export interface TraceRow {
  runId: string;
  ruleId: string;
  startedAt: number;
  status: string;
  data: Record<string, unknown>;
}

export type PendingKind = 'hold' | 'resume' | 'queued';

export interface PendingRow {
  id: string;
  ruleId: string;
  kind: PendingKind;
  dueAt: number | null;
  data: Record<string, unknown>;
  createdAt: number;
}

interface RawRule {
  id: string;
  name: string;
  enabled: number;
  version: number;
  definition: string;
  created_at: number;
  updated_at: number;
}

const toRule = <D extends StoredDefinition>(r: RawRule): StoredRule<D> => ({
  id: r.id,
  enabled: r.enabled === 1,
  version: r.version,
  definition: JSON.parse(r.definition) as D,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Rules, their versions, traces and restart-surviving work (migration 5). SQL lives only here. */
export class RulesRepo<D extends StoredDefinition = StoredDefinition> {
  readonly #db: Db;
  readonly #insertTrace: Database.Statement;
  readonly #pruneTraces: Database.Statement;
  readonly #savePending: Database.Statement;
  readonly #dropPending: Database.Statement;

  constructor(db: Db) {
    this.#db = db;
    this.#insertTrace =
      db.prepare(`INSERT INTO rule_traces (run_id, rule_id, started_at, status, data) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, data = excluded.data`);
    this.#pruneTraces = db.prepare(
      'DELETE FROM rule_traces WHERE rule_id = ? AND id <= (SELECT id FROM rule_traces WHERE rule_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)',
    );
    this.#savePending =
      db.prepare(`INSERT INTO rule_pending (id, rule_id, kind, due_at, data, created_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET due_at = excluded.due_at, data = excluded.data`);
    this.#dropPending = db.prepare('DELETE FROM rule_pending WHERE id = ?');
  }

  list(): StoredRule<D>[] {
    return (this.#db.prepare('SELECT * FROM rules ORDER BY created_at, id').all() as RawRule[]).map((r) =>
      toRule<D>(r),
    );
  }

  byId(id: string): StoredRule<D> | undefined {
    const row = this.#db.prepare('SELECT * FROM rules WHERE id = ?').get(id) as RawRule | undefined;
    return row && toRule<D>(row);
  }

  /** Stores a new rule or a new version of one, with its version row, in one transaction. */
  saveVersion(rule: StoredRule<D>, author: Actor, note: string | null): void {
    this.#db.transaction(() => {
      this.#db
        .prepare(`INSERT INTO rules (id, name, enabled, version, definition, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET name = excluded.name, enabled = excluded.enabled, version = excluded.version,
          definition = excluded.definition, updated_at = excluded.updated_at`)
        .run(
          rule.id,
          rule.definition.name,
          rule.enabled ? 1 : 0,
          rule.version,
          JSON.stringify(rule.definition),
          rule.createdAt,
          rule.updatedAt,
        );
      this.#db
        .prepare('INSERT INTO rule_versions (rule_id, version, definition, author, at, note) VALUES (?, ?, ?, ?, ?, ?)')
        .run(rule.id, rule.version, JSON.stringify(rule.definition), JSON.stringify(author), rule.updatedAt, note);
    })();
  }

  setEnabled(id: string, enabled: boolean, at: number): boolean {
    return (
      this.#db.prepare('UPDATE rules SET enabled = ?, updated_at = ? WHERE id = ?').run(enabled ? 1 : 0, at, id)
        .changes > 0
    );
  }

  delete(id: string): boolean {
    return this.#db.prepare('DELETE FROM rules WHERE id = ?').run(id).changes > 0;
  }

  versions(ruleId: string): RuleVersionRow<D>[] {
    const rows = this.#db
      .prepare('SELECT * FROM rule_versions WHERE rule_id = ? ORDER BY version DESC')
      .all(ruleId) as {
      rule_id: string;
      version: number;
      definition: string;
      author: string;
      at: number;
      note: string | null;
    }[];
    return rows.map((r) => ({
      ruleId: r.rule_id,
      version: r.version,
      definition: JSON.parse(r.definition),
      author: JSON.parse(r.author),
      at: r.at,
      note: r.note,
    }));
  }

  version(ruleId: string, version: number): RuleVersionRow<D> | undefined {
    return this.versions(ruleId).find((v) => v.version === version);
  }

  /** Inserts or updates a run's trace and keeps only the newest `keep` of that rule. */
  saveTrace(t: TraceRow, keep: number): void {
    this.#insertTrace.run(t.runId, t.ruleId, t.startedAt, t.status, JSON.stringify(t.data));
    this.#pruneTraces.run(t.ruleId, t.ruleId, keep);
  }

  /**
   * Many runs' traces in ONE transaction (rules/trace-writer.ts), each rule pruned once to its
   * newest `keep`. A trace of a rule deleted meanwhile is skipped (its foreign key fails).
   */
  saveTraces(batch: { row: TraceRow; keep: number }[]): void {
    this.#db.transaction(() => {
      const keep = new Map<string, number>();
      for (const { row: t, keep: k } of batch) {
        try {
          this.#insertTrace.run(t.runId, t.ruleId, t.startedAt, t.status, JSON.stringify(t.data));
          keep.set(t.ruleId, k);
        } catch (err) {
          if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_FOREIGNKEY') throw err;
        }
      }
      for (const [ruleId, k] of keep) this.#pruneTraces.run(ruleId, ruleId, k);
    })();
  }

  traces(ruleId: string, limit: number): TraceRow[] {
    const rows = this.#db
      .prepare('SELECT * FROM rule_traces WHERE rule_id = ? ORDER BY id DESC LIMIT ?')
      .all(ruleId, limit) as { run_id: string; rule_id: string; started_at: number; status: string; data: string }[];
    return rows.map((r) => ({
      runId: r.run_id,
      ruleId: r.rule_id,
      startedAt: r.started_at,
      status: r.status,
      data: JSON.parse(r.data),
    }));
  }

  savePending(p: PendingRow): void {
    this.#savePending.run(p.id, p.ruleId, p.kind, p.dueAt, JSON.stringify(p.data), p.createdAt);
  }

  dropPending(id: string): void {
    this.#dropPending.run(id);
  }

  pending(ruleId?: string, kind?: PendingKind): PendingRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (ruleId !== undefined) {
      where.push('rule_id = ?');
      args.push(ruleId);
    }
    if (kind !== undefined) {
      where.push('kind = ?');
      args.push(kind);
    }
    const sql = `SELECT * FROM rule_pending ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id`;
    const rows = this.#db.prepare(sql).all(...args) as {
      id: string;
      rule_id: string;
      kind: PendingKind;
      due_at: number | null;
      data: string;
      created_at: number;
    }[];
    return rows.map((r) => ({
      id: r.id,
      ruleId: r.rule_id,
      kind: r.kind,
      dueAt: r.due_at,
      data: JSON.parse(r.data),
      createdAt: r.created_at,
    }));
  }

  dropPendingOf(ruleId: string): void {
    this.#db.prepare('DELETE FROM rule_pending WHERE rule_id = ?').run(ruleId);
  }
}
