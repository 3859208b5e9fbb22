import type { Logger } from '../../core/logger.ts';
import type { DirtyRows, PersistenceSql } from './persistence-sql.ts';

export interface PersistenceWriterOptions {
  log?: Logger | undefined;
  /** How long changes gather before one transaction writes them. */
  flushMs: number;
  /** Write at once when this many rows are dirty, bounding memory and transaction size. */
  maxPending: number;
}

/**
 * The write path of the broker's persistence (see the design comment in sqlite-persistence.ts):
 * a change marks its row in `dirty`, then calls `changed()`; the dirty rows are written in ONE
 * transaction `flushMs` after the first change, or at once when `maxPending` are waiting.
 *
 * Group commit: `afterCommit(cb)` calls `cb` once every row dirty at the time of the call is
 * committed (at once if none is). The broker sends a publisher's PUBACK / PUBREC through it, so
 * what it acknowledged is on disk first, while the batching stays: every acknowledgement waiting
 * on a batch is released by that batch's one transaction.
 */
export class PersistenceWriter {
  /** Rows changed since the last write; the stores mark them here directly. */
  readonly dirty: DirtyRows = {
    retained: new Map(),
    subs: new Map(),
    out: new Map(),
    incoming: new Map(),
    wills: new Map(),
  };
  readonly #sql: PersistenceSql;
  readonly #log: Logger | undefined;
  readonly #flushMs: number;
  readonly #maxPending: number;
  #flushTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #failing = false;
  #errors = 0;
  /** Callbacks waiting for the next commit (see afterCommit). */
  #waiting: (() => void)[] = [];

  constructor(sql: PersistenceSql, options: PersistenceWriterOptions) {
    this.#sql = sql;
    this.#log = options.log;
    this.#flushMs = options.flushMs;
    this.#maxPending = options.maxPending;
  }

  /** True once `close()` wrote the last rows: nothing is written or scheduled any more. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True while writes to SQLite are failing (they are retried). */
  get failing(): boolean {
    return this.#failing;
  }

  /** Failed write transactions so far. */
  get errors(): number {
    return this.#errors;
  }

  /** Writes every dirty row now, in one transaction. */
  flush(): void {
    if (this.#flushTimer) {
      clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
    }
    if (this.#closed) return;
    if (this.pending() === 0) {
      this.#release();
      return;
    }
    const d = this.dirty;
    try {
      this.#sql.write(d);
    } catch (err) {
      // Keep the dirty rows and try again later; memory still serves the broker meanwhile.
      this.#errors++;
      this.#failing = true;
      this.#log?.error({ err }, 'mqtt persistence flush failed; retrying');
      this.#flushTimer = setTimeout(() => this.flush(), 1000);
      this.#flushTimer.unref();
      return;
    }
    this.#failing = false;
    for (const [entry, write] of d.out) entry.persisted = write;
    for (const [entry, write] of d.incoming) entry.persisted = write;
    d.retained.clear();
    d.subs.clear();
    d.out.clear();
    d.incoming.clear();
    d.wills.clear();
    this.#release();
  }

  /**
   * Calls `cb` once what is dirty now has been committed: at once when nothing is, else after the
   * transaction that writes it (scheduled as usual, `flushMs` after the first change). While
   * writes fail, callers wait for the retry that succeeds.
   */
  afterCommit(cb: () => void): void {
    if (this.#closed || this.pending() === 0) {
      cb();
      return;
    }
    this.#waiting.push(cb);
  }

  /** Writes what is still dirty, then stops writing. */
  close(): void {
    this.flush();
    this.#closed = true;
    // A final write that failed leaves nothing to wait for: the connections are going away.
    this.#release();
  }

  #release(): void {
    if (this.#waiting.length === 0) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (let i = 0; i < waiting.length; i++) waiting[i]!();
  }

  pending(): number {
    const d = this.dirty;
    return d.retained.size + d.subs.size + d.out.size + d.incoming.size + d.wills.size;
  }

  /** Called after rows were marked dirty: schedules their write (or writes at once if many wait). */
  changed(): void {
    if (this.#closed) return;
    if (this.pending() >= this.#maxPending) {
      this.flush();
      return;
    }
    if (!this.#flushTimer && this.pending() > 0) {
      this.#flushTimer = setTimeout(() => this.flush(), this.#flushMs);
      // A pending flush must not keep the process alive; stop() flushes explicitly.
      this.#flushTimer.unref();
    }
  }
}
