import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { RulesRepo, TraceRow } from '../store/rules-repo.ts';

/** Default window: like history's `eventFlushMs`, a second of ended runs per transaction. */
export const DEFAULT_TRACE_FLUSH_MS = 1_000;

/**
 * Group commit of ended runs' traces (issue 13, docs/writes.md). Each run's trace used to be
 * its own transaction when the run ended: with a few hundred rules firing, ~half the WAL pages
 * of a busy hub. Traces of runs that ended are held here for up to `windowMs` and written in one
 * transaction; a paused run's trace (`waiting`) is written at once, beside its `rule_pending`
 * row, so a restart resumes it as before. Readers call `flush()` first (the traces API), a
 * clean stop writes what is held, and after `stop()` every trace is written at once again
 * (runs cancelled by the shutdown end after it). A power cut may lose the traces of the last
 * window: the actions themselves already happened.
 */
export class TraceWriter {
  readonly #repo: Pick<RulesRepo, 'saveTrace' | 'saveTraces'>;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #windowMs: number;
  /** By run id: a later save of the same run replaces the held one. */
  readonly #held = new Map<string, { row: TraceRow; keep: number }>();
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(
    repo: Pick<RulesRepo, 'saveTrace' | 'saveTraces'>,
    clock: Clock,
    log: Logger,
    windowMs = DEFAULT_TRACE_FLUSH_MS,
  ) {
    this.#repo = repo;
    this.#clock = clock;
    this.#log = log;
    this.#windowMs = windowMs;
  }

  saveTrace(row: TraceRow, keep: number): void {
    if (this.#stopped || this.#windowMs <= 0 || row.status === 'waiting') {
      // Written now; a held older version of this run must not overwrite it later.
      this.#held.delete(row.runId);
      this.#repo.saveTrace(row, keep);
      return;
    }
    this.#held.set(row.runId, { row, keep });
    this.#timer ??= this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, this.#windowMs);
  }

  /** Traces held, not yet written (tests, and what a power cut would lose). */
  get held(): number {
    return this.#held.size;
  }

  /** Writes what is held, in one transaction. A failure (a full disk) is logged: rules go on. */
  flush(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#held.size === 0) return;
    const batch = [...this.#held.values()];
    this.#held.clear();
    try {
      this.#repo.saveTraces(batch);
    } catch (err) {
      this.#log.error({ err, traces: batch.length }, 'rules: storing traces failed');
    }
  }

  /** The traces of a removed rule are gone with it. */
  dropRule(ruleId: string): void {
    for (const [runId, { row }] of this.#held) if (row.ruleId === ruleId) this.#held.delete(runId);
  }

  /** Writes what is held; from now on each trace is written at once. */
  stop(): void {
    this.#stopped = true;
    this.flush();
  }
}
