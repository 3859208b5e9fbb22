import type { Actor, StateValue } from '@hearth/model/values';
import { isHubError } from '../core/errors.ts';
import { ACTIONS } from './actions/index.ts';
import { StopRun } from './actions/wait.ts';
import { stepBudgetExceeded, yieldToLoop, type RunLimits } from './budget.ts';
import type { Rule, Tagged } from './model.ts';
import type { ActionExec, Cause, ConditionTrace, Predicate, Segment, TriggerEnv, TriggerEvent } from './spec.ts';
import type { ActionTrace, RunStatus, Trace } from './trace.ts';
import { TRIGGERS } from './triggers/index.ts';

/** Action entries one trace keeps. */
export const MAX_TRACED_ACTIONS = 500;
/** Condition results one trace keeps (a `repeat while` tests its conditions every pass). */
export const MAX_TRACED_CONDITIONS = 500;

/** Why a run was cut short; `shutdown` keeps its stored position so it resumes after a restart. */
export type CancelReason = 'restart' | 'rule_changed' | 'shutdown' | 'removed';

export class Cancelled extends Error {
  readonly reason: CancelReason;
  constructor(reason: CancelReason) {
    super(`cancelled: ${reason}`);
    this.name = 'Cancelled';
    this.reason = reason;
  }
}

/** What a run needs from the engine. */
export interface RunHost {
  env: TriggerEnv;
  actor: Actor;
  limits: RunLimits;
  /** Called before each action; may throw to stop the run (a dry run's own budget). */
  step?(run: Run): void;
  command(run: Run, deviceId: string, capability: string, value: StateValue): Promise<void>;
  predicate(conditions: Tagged[], path: string): Predicate;
  notify(run: Run, message: string, level: string): void;
  setRuleEnabled(run: Run, ruleId: string, enabled: boolean): void;
  scene(sceneId: string): { device: string; capability: string; value: StateValue }[];
  cameraClip(run: Run, cameraId: string, seconds: number): void;
  saveTrace(run: Run): void;
  /** Stores (or with `undefined`, forgets) where this run waits, so a restart can resume it. */
  saveResume(run: Run, position: { path: Segment[]; dueAt: number | null } | undefined): void;
}

/**
 * One run of a rule's actions. Actions are walked as nested lists; every action knows its
 * position (`path`), which is what a paused run stores and what a resumed run skips to.
 */
export class Run {
  readonly id: string;
  readonly rule: Rule;
  readonly event: TriggerEvent;
  readonly trace: Trace;
  /** The cause carried into events this run's commands produce (loop detection). */
  readonly childCause: Cause;
  readonly #host: RunHost;
  readonly #cancels = new Set<(reason: CancelReason) => void>();
  #cancelled: CancelReason | undefined;
  /** When resuming: the stored due time of the delay/wait the run was paused in. */
  #resumeDue: number | null | undefined;
  /** Actions executed since the run last gave the event loop a turn. */
  #sinceYield = 0;

  constructor(id: string, rule: Rule, event: TriggerEvent, host: RunHost, trace?: Trace) {
    this.id = id;
    this.rule = rule;
    this.event = event;
    this.#host = host;
    this.childCause = { runId: id, ruleId: rule.id, chain: [...(event.cause?.chain ?? []), rule.id] };
    this.trace = trace ?? {
      runId: id,
      ruleId: rule.id,
      version: rule.version,
      startedAt: host.env.clock.now(),
      status: 'running',
      trigger: event,
      conditions: [],
      actions: [],
    };
  }

  get cancelled(): CancelReason | undefined {
    return this.#cancelled;
  }

  /** Runs the actions (from a stored position when `resume` is given) and records the outcome. */
  async execute(resume?: { path: Segment[]; dueAt: number | null }): Promise<RunStatus> {
    this.#resumeDue = resume?.dueAt;
    this.trace.status = 'running';
    let status: RunStatus = 'done';
    try {
      await this.#list(this.rule.definition.actions, 'actions', [], resume?.path);
    } catch (err) {
      if (err instanceof StopRun) {
        status = 'stopped';
        this.trace.reason = err.message;
      } else if (err instanceof Cancelled) {
        status = err.reason === 'shutdown' ? 'waiting' : 'cancelled';
        this.trace.reason = err.reason;
      } else {
        status = 'failed';
        this.trace.reason = isHubError(err) ? err.code : 'internal_error';
      }
    }
    if (this.#cancelled === 'shutdown') {
      // Paused by the hub stopping: the stored position (if any) resumes it; say so if none.
      if ((this.trace.status as RunStatus) !== 'waiting') {
        this.trace.status = 'interrupted';
        this.#host.saveTrace(this);
      }
      return this.trace.status;
    }
    this.#host.saveResume(this, undefined);
    this.trace.status = status;
    this.trace.endedAt = this.#host.env.clock.now();
    this.#host.saveTrace(this);
    return status;
  }

  cancel(reason: CancelReason): void {
    if (this.#cancelled) return;
    this.#cancelled = reason;
    for (const cancel of [...this.#cancels]) cancel(reason);
    this.#cancels.clear();
  }

  async #list(actions: Tagged[], trace: string, at: Segment[], resume: Segment[] | undefined): Promise<void> {
    const start = resume?.length ? (resume[0] as number) : 0;
    for (let i = start; i < actions.length; i++) {
      if (this.#cancelled) throw new Cancelled(this.#cancelled);
      const inner = resume?.length && i === start ? resume.slice(1) : undefined;
      // An action resumed after a restart was counted when it started.
      if (!inner) await this.#step();
      await this.#action(actions[i]!, `${trace}.${i}`, [...at, i], inner);
    }
  }

  /** Counts one action against the budget, and lets other work run every `yieldEvery` actions. */
  async #step(): Promise<void> {
    const { maxSteps, yieldEvery } = this.#host.limits;
    const steps = (this.trace.steps ?? 0) + 1;
    this.#host.step?.(this);
    if (steps > maxSteps) throw stepBudgetExceeded('steps_per_run', maxSteps);
    this.trace.steps = steps;
    if (++this.#sinceYield >= yieldEvery) {
      this.#sinceYield = 0;
      await yieldToLoop();
      if (this.#cancelled) throw new Cancelled(this.#cancelled);
    }
  }

  /** Keeps a test's condition results in the trace, up to MAX_TRACED_CONDITIONS. */
  #traceConditions(seen: ConditionTrace[]): void {
    const room = MAX_TRACED_CONDITIONS - this.trace.conditions.length;
    if (room > 0) this.trace.conditions.push(...seen.slice(0, room));
    if (seen.length > room)
      this.trace.untracedConditions = (this.trace.untracedConditions ?? 0) + seen.length - Math.max(0, room);
  }

  async #action(def: Tagged, path: string, at: Segment[], resume: Segment[] | undefined): Promise<void> {
    const clock = this.#host.env.clock;
    const entry: ActionTrace = { path, type: def.type, startedAt: clock.now(), result: 'running' };
    // A resumed action's entry is already in the stored trace: update that one.
    const stored = resume ? this.trace.actions.findLast((a) => a.path === path) : undefined;
    const record = stored ?? entry;
    // A long repeat would grow the trace without bound: past the cap, steps run untraced.
    if (!stored) {
      if (this.trace.actions.length < MAX_TRACED_ACTIONS) this.trace.actions.push(entry);
      else this.trace.untracedActions = (this.trace.untracedActions ?? 0) + 1;
    }
    record.result = 'running';
    try {
      await ACTIONS.get(def.type)!.run(def, this.#exec(path, at, resume, record));
      record.result = 'ok';
    } catch (err) {
      if (err instanceof StopRun) record.result = 'stopped';
      else if (err instanceof Cancelled) record.result = 'cancelled';
      else {
        record.result = 'error';
        record.error = isHubError(err)
          ? { code: err.code, message: err.message }
          : { code: 'internal_error', message: String((err as Error).message ?? err) };
      }
      throw err;
    } finally {
      record.ms = clock.now() - record.startedAt;
    }
  }

  #exec(path: string, at: Segment[], resume: Segment[] | undefined, record: ActionTrace): ActionExec {
    const host = this.#host;
    // Only the action the run was paused in (resume = []) takes the stored due time.
    const resumingHere = resume !== undefined && resume.length === 0;
    const storedDue = (): number | null | undefined => {
      if (!resumingHere) return undefined;
      const due = this.#resumeDue;
      this.#resumeDue = undefined;
      return due;
    };
    return {
      ruleId: this.rule.id,
      event: this.event,
      path,
      resume,
      command: (deviceId, capability, value) => host.command(this, deviceId, capability, value),
      sleep: (ms) => {
        const due = storedDue();
        return this.#wait(at, due !== undefined ? due : host.env.clock.now() + ms, undefined).then(() => undefined);
      },
      waitFor: (triggers, timeoutMs) => {
        const due = storedDue();
        const dueAt = due !== undefined ? due : timeoutMs === undefined ? null : host.env.clock.now() + timeoutMs;
        return this.#wait(at, dueAt, triggers);
      },
      test: (conditions, p) => {
        const seen: ConditionTrace[] = [];
        const result = host.predicate(conditions, p)(seen);
        this.#traceConditions(seen);
        return result;
      },
      list: (actions, trace, seg, inside) => this.#list(actions, trace, [...at, ...seg], inside),
      notify: (message, level) => host.notify(this, message, level),
      setRuleEnabled: (ruleId, enabled) => host.setRuleEnabled(this, ruleId, enabled),
      scene: (sceneId) => host.scene(sceneId),
      cameraClip: (cameraId, seconds) => host.cameraClip(this, cameraId, seconds),
      note: (detail) => Object.assign(record, detail),
    };
  }

  /** Waits until `dueAt` (null: no limit) or one of `triggers`; stored so a restart resumes it. */
  #wait(at: Segment[], dueAt: number | null, triggers: Tagged[] | undefined): Promise<TriggerEvent | undefined> {
    const host = this.#host;
    return new Promise<TriggerEvent | undefined>((resolve, reject) => {
      if (this.#cancelled) return reject(new Cancelled(this.#cancelled));
      host.saveResume(this, { path: at, dueAt });
      this.trace.status = 'waiting';
      host.saveTrace(this);
      const detach: (() => void)[] = [];
      let settled = false;
      const finish = (event: TriggerEvent | undefined): void => {
        settled = true;
        for (const d of detach) d();
        this.#cancels.delete(onCancel);
        host.saveResume(this, undefined);
        this.trace.status = 'running';
        resolve(event);
      };
      const onCancel = (reason: CancelReason): void => {
        for (const d of detach) d();
        reject(new Cancelled(reason));
      };
      this.#cancels.add(onCancel);
      if (dueAt !== null) {
        const timer = host.env.at(dueAt, () => finish(undefined));
        detach.push(() => timer.cancel());
      }
      triggers?.forEach((t, i) => {
        if (settled) return;
        const off = TRIGGERS.get(t.type)!.attach(
          t,
          host.env,
          (event) => {
            if (settled) return;
            settled = true;
            finish({ ...event, trigger: i });
          },
          `wait:${this.id}:${at.join('.')}:${i}`,
        );
        // A trigger may fire while attaching (a stored hold that ran out): detach it at once.
        if (settled) off();
        else detach.push(off);
      });
    });
  }
}
