import type { Actor, StateValue } from '@hearth/model/values';
import type { EventBus } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { RulesRepo } from '../store/rules-repo.ts';
import { compileConditions } from './conditions/index.ts';
import { TriggerIndex } from './env.ts';
import { DEFAULT_LIMITS, type RunLimits } from './budget.ts';
import type { Rule, Tagged } from './model.ts';
import { Run, type CancelReason, type RunHost } from './run.ts';
import type { ConditionTrace, Location, Predicate, PresenceView, Segment, TriggerEnv, TriggerEvent } from './spec.ts';
import type { RunStatus, Trace } from './trace.ts';
import { TRIGGERS } from './triggers/index.ts';
import { ruleMax, ruleTraceLimit } from './validate.ts';

/** Longest chain of rules firing rules; anything longer is treated as a loop. */
export const MAX_CHAIN = 8;
const HEARTBEAT_MS = 60_000;

export type RulesStorage = Pick<RulesRepo, 'saveTrace' | 'savePending' | 'dropPending' | 'pending' | 'dropPendingOf'>;

/** What the engine needs from the hub (or, for a dry run, from a simulation of it). */
export interface EngineHost {
  bus: EventBus;
  clock: Clock;
  log: Logger;
  storage: RulesStorage;
  command(deviceId: string, capability: string, value: StateValue, actor: Actor): Promise<void>;
  state(deviceId: string, capability: string): StateValue | undefined;
  available(deviceId: string): boolean | undefined;
  location(): Location | undefined;
  /** Who is home (absent in a dry run). */
  presence?(): PresenceView;
  notify(ruleId: string, runId: string, message: string, level: string): void;
  setRuleEnabled(ruleId: string, enabled: boolean, actor: Actor): void;
  scene(sceneId: string): { device: string; capability: string; value: StateValue }[] | undefined;
  cameraClip(ruleId: string, cameraId: string, seconds: number): void;
  /** When the engine last knew it was running (for missed time triggers). */
  lastAlive: { get(): number | undefined; set(t: number): void };
  newId(prefix: string): string;
  /** Each run's step budget (defaults: DEFAULT_LIMITS). */
  limits?: RunLimits;
  /** Called before every action of every run; may throw to stop that run (a dry run's total). */
  step?(): void;
}

interface LiveRule {
  rule: Rule;
  env: TriggerEnv;
  predicate: Predicate;
  detach: (() => void)[];
  runs: Set<Run>;
  queue: { id: string; event: TriggerEvent }[];
  removed: boolean;
}

/**
 * Runs the enabled rules: attaches their triggers, decides per the rule's mode whether a firing
 * starts, queues or is skipped, cuts loops (a run whose cause chain already holds the rule), and
 * hands every run the context of the event that caused it. Work that must outlive a restart
 * (holds, paused runs, queued runs) is in `rule_pending`.
 */
export class RulesEngine {
  readonly #host: EngineHost;
  readonly #index = new TriggerIndex();
  readonly #live = new Map<string, LiveRule>();
  readonly #predicates = new WeakMap<Tagged[], Predicate>();
  /** Pending rows read at start (holds are restored by their triggers while attaching). */
  #startRows = new Map<string, { dueAt: number | null; data: Record<string, unknown> }>();
  #heartbeat: TimerHandle | undefined;
  #running = false;

  constructor(host: EngineHost) {
    this.#host = host;
  }

  start(rules: Rule[], options: { hubStart?: boolean; catchUp?: boolean; heartbeat?: boolean } = {}): void {
    const { storage, clock } = this.#host;
    this.#running = true;
    this.#index.attach(this.#host.bus, 'rules');
    const pending = storage.pending();
    this.#startRows = new Map(pending.map((p) => [p.id, { dueAt: p.dueAt, data: p.data }]));
    for (const rule of rules) if (rule.enabled) this.#attach(rule);
    this.#resumeStored(pending);
    this.#startRows.clear();
    if (options.catchUp !== false) this.#catchUp();
    if (options.hubStart !== false) this.#index.hubStarted();
    const beat = (): void => {
      // "Down since" is read only to catch up missed time triggers: without a rule that asks for
      // that, the beat writes nothing (a settings row a minute is ~10 MB a day on the SD card).
      if (this.#catchesUp()) this.#host.lastAlive.set(clock.now());
      this.#heartbeat = clock.setTimeout(beat, HEARTBEAT_MS);
    };
    if (options.heartbeat !== false) beat();
  }

  /** Detaches everything; paused runs keep their stored position and resume on the next start. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#heartbeat?.cancel();
    this.#host.bus.offOwner('rules');
    for (const live of this.#live.values()) {
      for (const d of live.detach) d();
      for (const run of live.runs) run.cancel('shutdown');
    }
    this.#live.clear();
    this.#host.lastAlive.set(this.#host.clock.now());
  }

  /** A rule was created, edited, enabled or disabled: replace what runs for it. */
  upsert(rule: Rule): void {
    if (this.#live.has(rule.id)) this.#unload(rule.id, 'rule_changed');
    if (rule.enabled && this.#running) {
      this.#attach(rule);
      // The beat may have been silent: start "down since" from now, not from a stale beat.
      if (rule.definition.missed === 'catch_up') this.#store(() => this.#host.lastAlive.set(this.#host.clock.now()));
    }
  }

  #catchesUp(): boolean {
    for (const live of this.#live.values()) if (live.rule.definition.missed === 'catch_up') return true;
    return false;
  }

  remove(ruleId: string): void {
    this.#unload(ruleId, 'removed');
  }

  /** Runs a rule's actions now, as if triggered (conditions skipped unless asked for). */
  runNow(ruleId: string, actor: Actor, checkConditions = false): string | undefined {
    const live = this.#live.get(ruleId);
    if (!live) return undefined;
    return this.#fire(live, { type: 'manual', at: this.#host.clock.now(), by: actor }, !checkConditions);
  }

  running(ruleId: string): number {
    return this.#live.get(ruleId)?.runs.size ?? 0;
  }

  /** Resolves when no run is in progress (dry runs and tests). */
  idle(): boolean {
    for (const live of this.#live.values()) if (live.runs.size > 0) return false;
    return true;
  }

  /** True while a run is executing (not waiting on a delay or trigger): it may have yielded. */
  busy(): boolean {
    for (const live of this.#live.values())
      for (const run of live.runs) if (run.trace.status === 'running') return true;
    return false;
  }

  // ---- attaching ---------------------------------------------------------------------------

  #attach(rule: Rule): void {
    const host = this.#host;
    const holds = {
      save: (key: string, dueAt: number, event: TriggerEvent) =>
        this.#store(() =>
          host.storage.savePending({
            id: `hold:${key}`,
            ruleId: rule.id,
            kind: 'hold',
            dueAt,
            data: { event },
            createdAt: host.clock.now(),
          }),
        ),
      drop: (key: string) => this.#store(() => host.storage.dropPending(`hold:${key}`)),
      load: (key: string) => {
        const row = this.#startRows.get(`hold:${key}`);
        return row && row.dueAt !== null ? { dueAt: row.dueAt, event: row.data.event as TriggerEvent } : undefined;
      },
    };
    const env = this.#index.env({
      clock: host.clock,
      state: host.state,
      available: host.available,
      location: host.location,
      presence: host.presence?.bind(host),
      holds,
    });
    const live: LiveRule = {
      rule,
      env,
      detach: [],
      runs: new Set(),
      queue: [],
      removed: false,
      predicate: compileConditions(rule.definition.conditions, 'conditions', env),
    };
    this.#live.set(rule.id, live);
    rule.definition.triggers.forEach((t, i) => {
      const fire = (event: TriggerEvent): void => {
        this.#fire(live, { ...event, trigger: i });
      };
      live.detach.push(TRIGGERS.get(t.type)!.attach(t, env, fire, `${rule.id}:${i}`));
    });
  }

  #unload(ruleId: string, reason: CancelReason): void {
    const live = this.#live.get(ruleId);
    if (!live) return;
    this.#live.delete(ruleId);
    live.removed = reason === 'removed';
    for (const d of live.detach) d();
    for (const run of live.runs) run.cancel(reason);
    live.queue = [];
    // Holds, paused and queued runs belonged to the old definition.
    this.#store(() => this.#host.storage.dropPendingOf(ruleId));
  }

  // ---- firing ------------------------------------------------------------------------------

  #fire(live: LiveRule, event: TriggerEvent, skipConditions = false): string | undefined {
    const { rule } = live;
    const runId = this.#host.newId('run');
    const chain = event.cause?.chain ?? [];
    if (chain.includes(rule.id) || chain.length >= MAX_CHAIN) {
      const loop = [...chain, rule.id].join(' -> ');
      this.#host.log.warn({ ruleId: rule.id, chain: loop }, 'rule loop cut');
      this.#note(live, runId, event, 'loop_cut', `loop: ${loop}`);
      return undefined;
    }
    const conditions: ConditionTrace[] = [];
    if (!skipConditions && !live.predicate(conditions)) {
      this.#note(live, runId, event, 'conditions_failed', undefined, conditions);
      return undefined;
    }
    const def = rule.definition;
    const busy = live.runs.size;
    switch (def.mode) {
      case 'single':
        if (busy > 0) return this.#skip(live, runId, event, 'already_running', conditions);
        break;
      case 'restart':
        for (const run of live.runs) run.cancel('restart');
        break;
      case 'queued':
        if (busy > 0) {
          if (live.queue.length >= ruleMax(def)) return this.#skip(live, runId, event, 'queue_full', conditions);
          live.queue.push({ id: runId, event });
          this.#store(() =>
            this.#host.storage.savePending({
              id: `queued:${runId}`,
              ruleId: rule.id,
              kind: 'queued',
              dueAt: null,
              data: { event },
              createdAt: this.#host.clock.now(),
            }),
          );
          return runId;
        }
        break;
      case 'parallel':
        if (busy >= ruleMax(def)) return this.#skip(live, runId, event, 'max_runs', conditions);
        break;
    }
    this.#start(live, runId, event, conditions);
    return runId;
  }

  #start(
    live: LiveRule,
    runId: string,
    event: TriggerEvent,
    conditions: ConditionTrace[],
    stored?: { trace: Trace; path: Segment[]; dueAt: number | null },
  ): void {
    const run = new Run(runId, live.rule, event, this.#runHost(live), stored?.trace);
    if (!stored) run.trace.conditions = conditions;
    live.runs.add(run);
    this.#host.bus.emit('rule.fired', { ruleId: live.rule.id, at: this.#host.clock.now() });
    void run.execute(stored && { path: stored.path, dueAt: stored.dueAt }).then((status: RunStatus) => {
      live.runs.delete(run);
      if (status !== 'waiting' && status !== 'interrupted') this.#next(live);
    });
  }

  /** Queued mode: the next waiting firing starts when the current run ends. */
  #next(live: LiveRule): void {
    if (!this.#running || live.removed || this.#live.get(live.rule.id) !== live || live.runs.size > 0) return;
    const next = live.queue.shift();
    if (!next) return;
    this.#store(() => this.#host.storage.dropPending(`queued:${next.id}`));
    this.#start(live, next.id, next.event, []);
  }

  #skip(live: LiveRule, runId: string, event: TriggerEvent, reason: string, conditions: ConditionTrace[]): undefined {
    this.#note(live, runId, event, 'skipped', reason, conditions);
    return undefined;
  }

  /** A firing that did not become a run still leaves a trace: that is what explains it. */
  #note(
    live: LiveRule,
    runId: string,
    event: TriggerEvent,
    status: RunStatus,
    reason: string | undefined,
    conditions: ConditionTrace[] = [],
  ): void {
    const now = this.#host.clock.now();
    const trace: Trace = {
      runId,
      ruleId: live.rule.id,
      version: live.rule.version,
      startedAt: now,
      endedAt: now,
      status,
      trigger: event,
      conditions,
      actions: [],
      ...(reason ? { reason } : {}),
    };
    this.#saveTrace(live, trace);
  }

  #saveTrace(live: LiveRule, trace: Trace): void {
    if (live.removed) return;
    this.#store(() =>
      this.#host.storage.saveTrace(
        {
          runId: trace.runId,
          ruleId: trace.ruleId,
          startedAt: trace.startedAt,
          status: trace.status,
          data: trace as unknown as Record<string, unknown>,
        },
        ruleTraceLimit(live.rule.definition),
      ),
    );
  }

  #runHost(live: LiveRule): RunHost {
    const host = this.#host;
    const actor: Actor = { kind: 'rule', ruleId: live.rule.id };
    return {
      env: live.env,
      actor,
      limits: host.limits ?? DEFAULT_LIMITS,
      ...(host.step ? { step: () => host.step!() } : {}),
      command: async (run, deviceId, capability, value) => {
        // The state change this command causes carries this run as its cause (loop detection).
        const release = this.#index.claim(deviceId, capability, run.childCause);
        try {
          await host.command(deviceId, capability, value, actor);
        } finally {
          release();
        }
      },
      predicate: (conditions, path) => {
        let p = this.#predicates.get(conditions);
        if (!p) this.#predicates.set(conditions, (p = compileConditions(conditions, path, live.env)));
        return p;
      },
      notify: (run, message, level) => host.notify(live.rule.id, run.id, message, level),
      setRuleEnabled: (_run, ruleId, enabled) => host.setRuleEnabled(ruleId, enabled, actor),
      scene: (sceneId) => {
        const states = host.scene(sceneId);
        if (!states) throw new HubError('scene_not_found', `no scene ${sceneId}`, { sceneId });
        return states;
      },
      cameraClip: (_run, cameraId, seconds) => host.cameraClip(live.rule.id, cameraId, seconds),
      saveTrace: (run) => this.#saveTrace(live, run.trace),
      saveResume: (run, position) => {
        if (live.removed) return;
        if (!position) return this.#store(() => host.storage.dropPending(`resume:${run.id}`));
        this.#store(() =>
          host.storage.savePending({
            id: `resume:${run.id}`,
            ruleId: live.rule.id,
            kind: 'resume',
            dueAt: position.dueAt,
            data: { version: live.rule.version, path: position.path, event: run.event, trace: run.trace },
            createdAt: host.clock.now(),
          }),
        );
      },
    };
  }

  // ---- restarts ----------------------------------------------------------------------------

  /** Paused and queued runs from before the restart continue, if their rule did not change. */
  #resumeStored(pending: ReturnType<RulesStorage['pending']>): void {
    for (const row of pending) {
      const live = this.#live.get(row.ruleId);
      if (row.kind === 'hold') continue;
      const data = row.data as { version?: number; path?: Segment[]; event: TriggerEvent; trace?: Trace };
      if (!live || (row.kind === 'resume' && data.version !== live.rule.version)) {
        this.#store(() => this.#host.storage.dropPending(row.id));
        continue;
      }
      if (row.kind === 'resume') {
        this.#start(live, row.id.slice('resume:'.length), data.event, [], {
          trace: data.trace!,
          path: data.path!,
          dueAt: row.dueAt,
        });
      } else {
        live.queue.push({ id: row.id.slice('queued:'.length), event: data.event });
      }
    }
    for (const live of this.#live.values()) this.#next(live);
  }

  /** Time triggers that fell while the hub was down run once now, for rules that ask for it. */
  #catchUp(): void {
    const since = this.#host.lastAlive.get();
    if (since === undefined) return;
    const now = this.#host.clock.now();
    for (const live of this.#live.values()) {
      if (live.rule.definition.missed !== 'catch_up') continue;
      const triggers = live.rule.definition.triggers;
      for (let i = 0; i < triggers.length; i++) {
        const t = triggers[i]!;
        const due = TRIGGERS.get(t.type)!.next?.(t, since, live.env);
        if (due !== undefined && due <= now) {
          this.#fire(live, { type: t.type, at: now, trigger: i, scheduledAt: due, missed: true });
          break;
        }
      }
    }
  }

  /** Storage failures (a full disk) are logged; they must not stop rules from running. */
  #store(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#host.log.error({ err }, 'rules: storing state failed');
    }
  }
}
