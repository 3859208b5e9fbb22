import type { Db } from './db.ts';
import type { AuditEvent } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';

export interface AuditRow extends AuditEvent {
  id: number;
}

/**
 * Actions whose rows are group-committed (groupCommit below): the frequent ones a device or a rule
 * makes, a row per command and per notification. Every other action (people's changes, sign-ins,
 * keys, pairing) is written at once, as before.
 */
export const GROUPED_AUDIT_ACTIONS: ReadonlySet<string> = new Set(['device.command', 'rule.notify']);
/** Held rows beyond this (a disk that keeps failing) are written at once, so a failure reaches the caller. */
const MAX_HELD = 10_000;

export class AuditRepo {
  readonly #db: Db;
  readonly #insert;
  #held: AuditEvent[] = [];
  #group: { clock: Clock; windowMs: number } | undefined;
  #timer: TimerHandle | undefined;

  constructor(db: Db) {
    this.#db = db;
    this.#insert = db.prepare('INSERT INTO audit_log (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)');
  }

  /**
   * From now on, rows of GROUPED_AUDIT_ACTIONS are held for up to `windowMs` and written in one
   * transaction (issue 13, docs/writes.md: each was its own transaction, a page or two per
   * command, and 56 % of a rule-heavy home's WAL pages were `rule.notify` rows). Order is kept:
   * any other row is written at once, after the held ones in the same transaction, and readers
   * (list) write what is held first. A power cut may lose the held rows (≤ windowMs); a clean
   * stop writes them (Store.close). 0: each at once, as before.
   */
  groupCommit(clock: Clock, windowMs: number): void {
    this.#group = windowMs > 0 ? { clock, windowMs } : undefined;
    if (!this.#group) this.flush();
  }

  insert(e: AuditEvent): void {
    if (this.#group && GROUPED_AUDIT_ACTIONS.has(e.action) && this.#held.length < MAX_HELD) {
      this.#held.push(e);
      this.#timer ??= this.#group.clock.setTimeout(() => {
        this.#timer = undefined;
        try {
          this.flush();
        } catch {
          // A full or failing disk: the rows stay held and go with the next row or read, which
          // then fail to their caller as an unbatched write would have.
        }
      }, this.#group.windowMs);
      return;
    }
    if (this.#held.length === 0) this.#write(e);
    else
      this.#db.transaction(() => {
        this.#writeHeld();
        this.#write(e);
      })();
  }

  /** Rows held, not yet written (tests, and what a power cut would lose). */
  get held(): number {
    return this.#held.length;
  }

  /** Writes what is held, in one transaction. */
  flush(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#held.length === 0) return;
    this.#db.transaction(() => this.#writeHeld())();
  }

  #writeHeld(): void {
    const batch = this.#held;
    this.#held = [];
    try {
      for (const e of batch) this.#write(e);
    } catch (err) {
      this.#held = batch.concat(this.#held);
      throw err;
    }
  }

  #write(e: AuditEvent): void {
    this.#insert.run(
      e.at,
      JSON.stringify(e.actor, withoutKeyDevices),
      e.action,
      e.target ?? null,
      e.details ? JSON.stringify(e.details) : null,
    );
  }

  /** Newest first; `before` pages backwards by id. */
  list(limit: number, before?: number): AuditRow[] {
    this.flush();
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
