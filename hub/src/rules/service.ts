import type { Actor } from '@hearth/model/values';
import type { EventBus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import { HubError, isHubError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import { homeLocation } from '../devices/home.ts';
import type { DeviceRegistry } from '../devices/registry.ts';
import type { HistoryService } from '../history/service.ts';
import { recordAudit } from '../store/audit-log.ts';
import { RulesRepo, type RuleVersionRow } from '../store/rules-repo.ts';
import { ScenesRepo, type SceneRow, type SceneState } from '../store/scenes-repo.ts';
import type { Store } from '../store/store.ts';
import { DEFAULT_LIMITS, type RulesLimits } from './budget.ts';
import type { CameraClips } from './cameras.ts';
import { diff, type Change } from './diff.ts';
import { dryRun, DRY_RUN_MAX_EVENTS, type DryRunResult } from './dry-run.ts';
import { RulesEngine, type EngineHost } from './engine.ts';
import type { Rule, RuleDefinition } from './model.ts';
import type { Location } from './spec.ts';
import type { Trace } from './trace.ts';
import { TraceWriter } from './trace-writer.ts';
import { validateRule, validateScene, type RefChecker } from './validate.ts';

export interface RulesDeps {
  store: Store;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  registry: DeviceRegistry;
  /** Step budgets of runs and dry runs (config `rules`; defaults: DEFAULT_LIMITS). */
  limits?: RulesLimits | undefined;
  /** Ended runs' traces are written together once per this window (config `rules.traceFlushMs`; 0: each at once). */
  traceFlushMs?: number | undefined;
}

/** A rule as the API shows it: the definition as written, plus its identity and state. */
export type RuleView = RuleDefinition & {
  id: string;
  enabled: boolean;
  version: number;
  running: number;
  createdAt: string;
  updatedAt: string;
};

export interface SceneView {
  id: string;
  name: string;
  states: SceneState[];
  createdAt: string;
  updatedAt: string;
}

export interface VersionView {
  version: number;
  author: Actor;
  at: string;
  note: string | null;
  definition: RuleDefinition;
}

const SYSTEM: Actor = { kind: 'system', part: 'rules' };
const LAST_ALIVE_SETTING = 'rules.lastAlive';
const DRY_RUN_MAX_SPAN_MS = 31 * 86_400_000;

/**
 * The rules part: rules and their versions in SQLite, the engine that runs them, and what the
 * API calls. Every change is a new version with its author; every change is audited.
 */
export class RulesService {
  readonly repo: RulesRepo<RuleDefinition>;
  readonly scenes: ScenesRepo;
  readonly engine: RulesEngine;
  /** Ended runs' traces, one transaction per window (trace-writer.ts). */
  readonly traceWriter: TraceWriter;
  /** Dry runs in progress (bounded by `limits.dryRunConcurrent`). */
  #dryRuns = 0;
  readonly #deps: RulesDeps;
  #cameras: CameraClips | undefined;

  constructor(deps: RulesDeps) {
    this.#deps = deps;
    this.repo = new RulesRepo<RuleDefinition>(deps.store.db);
    this.scenes = new ScenesRepo(deps.store.db);
    this.traceWriter = new TraceWriter(this.repo, deps.clock, deps.log, deps.traceFlushMs);
    this.engine = new RulesEngine(this.#host());
  }

  /** The recorder, once it runs (wired by the hub; see CameraClips). */
  useCameras(cameras: CameraClips | undefined): void {
    this.#cameras = cameras;
  }

  async start(): Promise<void> {
    this.engine.start(this.repo.list());
  }

  async stop(): Promise<void> {
    this.engine.stop();
    this.traceWriter.stop();
  }

  // ---- reading ----------------------------------------------------------------------------

  list(): RuleView[] {
    return this.repo.list().map((r) => this.#view(r));
  }

  get(id: string): RuleView {
    return this.#view(this.#require(id));
  }

  traces(id: string, limit = 50): Trace[] {
    this.#require(id);
    // Runs that ended within the last window are held in memory: write them, then read.
    this.traceWriter.flush();
    return this.repo.traces(id, limit).map((t) => t.data as unknown as Trace);
  }

  versions(id: string): VersionView[] {
    this.#require(id);
    return this.repo.versions(id).map(toVersionView);
  }

  version(id: string, version: number): VersionView {
    this.#require(id);
    const row = this.repo.version(id, version);
    if (!row)
      throw new HubError('rule_version_not_found', `rule ${id} has no version ${version}`, { ruleId: id, version });
    return toVersionView(row);
  }

  diff(id: string, from: number, to: number): { from: number; to: number; changes: Change[] } {
    return { from, to, changes: diff(this.version(id, from).definition, this.version(id, to).definition) };
  }

  // ---- changing ---------------------------------------------------------------------------

  create(body: unknown, actor: Actor): RuleView {
    const { definition, enabled } = validateRule(body, this.#refs(actor));
    const now = this.#deps.clock.now();
    const rule: Rule = {
      id: newId('rule'),
      enabled: enabled ?? true,
      version: 1,
      definition,
      createdAt: now,
      updatedAt: now,
    };
    this.repo.saveVersion(rule, actor, null);
    this.#audit(actor, 'rule.create', rule.id, { name: definition.name, version: 1 });
    this.engine.upsert(rule);
    return this.#view(rule);
  }

  update(id: string, body: unknown, actor: Actor, note: string | null = null): RuleView {
    const current = this.#require(id);
    const { definition, enabled } = validateRule(body, this.#refs(actor));
    const rule: Rule = {
      ...current,
      enabled: enabled ?? current.enabled,
      version: current.version + 1,
      definition,
      updatedAt: this.#deps.clock.now(),
    };
    this.repo.saveVersion(rule, actor, note);
    this.#audit(actor, 'rule.update', id, { name: definition.name, version: rule.version, ...(note ? { note } : {}) });
    this.engine.upsert(rule);
    return this.#view(rule);
  }

  /** Makes an old version current again, as a new version (history is never rewritten). */
  revert(id: string, version: number, actor: Actor): RuleView {
    const old = this.version(id, version);
    return this.update(id, old.definition, actor, `revert to version ${version}`);
  }

  remove(id: string, actor: Actor): void {
    const rule = this.#require(id);
    this.engine.remove(id);
    this.traceWriter.dropRule(id);
    this.repo.delete(id);
    this.#audit(actor, 'rule.delete', id, { name: rule.definition.name });
  }

  setEnabled(id: string, enabled: boolean, actor: Actor): RuleView {
    const rule = this.#require(id);
    if (rule.enabled !== enabled) {
      const now = this.#deps.clock.now();
      this.repo.setEnabled(id, enabled, now);
      this.#audit(actor, enabled ? 'rule.enable' : 'rule.disable', id, {});
      this.engine.upsert({ ...rule, enabled, updatedAt: now });
    }
    return this.get(id);
  }

  /** Runs the actions now; answers the run id (the trace shows how it went). */
  run(id: string, actor: Actor, checkConditions = false): { runId: string | null } {
    const rule = this.#require(id);
    if (!rule.enabled) throw new HubError('conflict', `rule ${id} is disabled`, { ruleId: id });
    this.#audit(actor, 'rule.run', id, {});
    return { runId: this.engine.runNow(id, actor, checkConditions) ?? null };
  }

  /** Checks a definition without saving it (the dry run's unsaved rules). */
  check(body: unknown, actor: Actor): RuleDefinition {
    return validateRule(body, this.#refs(actor)).definition;
  }

  /**
   * Replays a saved rule (`ruleId`) or an unsaved one (`rule`) against the recorded history of
   * [from, to) and reports when it would have fired and what it would have done.
   */
  async dryRun(
    input: { ruleId?: string | undefined; rule?: unknown },
    from: number,
    to: number,
    actor: Actor,
    history: Pick<HistoryService, 'events'> | undefined,
  ): Promise<DryRunResult> {
    const definition =
      input.ruleId !== undefined ? this.#require(input.ruleId).definition : this.check(input.rule, actor);
    if (to - from > DRY_RUN_MAX_SPAN_MS)
      throw new HubError('history_range_too_large', 'a dry run covers at most 31 days', { from, to });
    if (!history) throw new HubError('not_ready', 'history is not running: there is nothing to replay');
    // Each dry run holds its events, traces and commands until it answers: a few at a time.
    const most = this.#limits.dryRunConcurrent;
    if (this.#dryRuns >= most)
      throw new HubError('rule_dry_run_busy', `at most ${most} dry runs at a time; try again when one has answered`, {
        max: most,
      });
    this.#dryRuns++;
    try {
      // Newest first from the event log; the oldest beyond the cap are left out (and reported).
      const rows = history.events({ from, to, limit: DRY_RUN_MAX_EVENTS + 1 });
      const truncated = rows.length > DRY_RUN_MAX_EVENTS;
      const events = rows.slice(0, DRY_RUN_MAX_EVENTS).reverse();
      const scenes = new Map(this.scenes.list().map((sc) => [sc.id, sc.states]));
      return await dryRun({
        definition,
        from,
        to,
        events,
        truncated,
        location: this.location(),
        scenes,
        log: this.#deps.log,
        ruleId: input.ruleId,
        limits: this.#limits,
      });
    } finally {
      this.#dryRuns--;
    }
  }

  // ---- scenes -----------------------------------------------------------------------------

  listScenes(): SceneView[] {
    return this.scenes.list().map(toSceneView);
  }

  getScene(id: string): SceneView {
    return toSceneView(this.#requireScene(id));
  }

  saveScene(id: string | undefined, body: unknown, actor: Actor): SceneView {
    const { name, states } = validateScene(body, this.#refs(actor));
    const now = this.#deps.clock.now();
    const existing = id === undefined ? undefined : this.#requireScene(id);
    const row: SceneRow = {
      id: existing?.id ?? newId('scene'),
      name,
      states,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    this.scenes.save(row);
    this.#audit(actor, existing ? 'scene.update' : 'scene.create', row.id, { name });
    return toSceneView(row);
  }

  removeScene(id: string, actor: Actor): void {
    const scene = this.#requireScene(id);
    this.scenes.delete(id);
    this.#audit(actor, 'scene.delete', id, { name: scene.name });
  }

  /** Sets every state of a scene at once, as `actor`; answers each outcome. */
  /**
   * Sets every state of the scene, as `actor` unless `commandAs` says otherwise: a guest activating
   * a scene shared with them to control commands its devices as the scene (the route decides).
   */
  async activateScene(
    id: string,
    actor: Actor,
    commandAs: Actor = actor,
  ): Promise<{ results: (SceneState & { result: string })[] }> {
    const scene = this.#requireScene(id);
    this.#audit(actor, 'scene.activate', id, { name: scene.name });
    const outcomes = await Promise.allSettled(
      scene.states.map((st) => this.#deps.registry.command(st.device, st.capability, st.value, commandAs)),
    );
    return {
      results: outcomes.map((o, i) => ({
        ...scene.states[i]!,
        result: o.status === 'fulfilled' ? 'ok' : isHubError(o.reason) ? o.reason.code : 'internal_error',
      })),
    };
  }

  #requireScene(id: string): SceneRow {
    const scene = this.scenes.byId(id);
    if (!scene) throw new HubError('scene_not_found', `no scene ${id}`, { sceneId: id });
    return scene;
  }

  /** The home's location (devices/home.ts); undefined when never set or cleared. */
  location(): Location | undefined {
    return homeLocation(this.#deps.store.settings);
  }

  // ---- helpers ----------------------------------------------------------------------------

  #require(id: string): Rule {
    const rule = this.repo.byId(id);
    if (!rule) throw new HubError('rule_not_found', `no rule ${id}`, { ruleId: id });
    return rule;
  }

  #view(rule: Rule): RuleView {
    return {
      id: rule.id,
      enabled: rule.enabled,
      version: rule.version,
      ...rule.definition,
      running: this.engine.running(rule.id),
      createdAt: new Date(rule.createdAt).toISOString(),
      updatedAt: new Date(rule.updatedAt).toISOString(),
    };
  }

  /** Devices are looked up as the author sees them: a rule cannot reference a hidden device. */
  #refs(actor: Actor): RefChecker {
    return {
      capabilities: (deviceId) => {
        try {
          return this.#deps.registry.get(deviceId, actor).capabilities;
        } catch {
          return undefined;
        }
      },
      hasLocation: () => this.location() !== undefined,
      hasScene: (sceneId) => this.scenes.byId(sceneId) !== undefined,
      ...(this.#cameras ? { hasCamera: (cameraId: string) => this.#cameras!.has(cameraId) } : {}),
    };
  }

  #audit(actor: Actor, action: string, target: string, details: Record<string, unknown>): void {
    recordAudit(this.#deps.store, this.#deps.bus, { actor, action, target, details, at: this.#deps.clock.now() });
  }

  #host(): EngineHost {
    const { store, bus, clock, log, registry } = this.#deps;
    const device = (id: string) => {
      try {
        return registry.get(id, SYSTEM);
      } catch {
        return undefined;
      }
    };
    return {
      bus,
      clock,
      log,
      storage: {
        saveTrace: (t, keep) => this.traceWriter.saveTrace(t, keep),
        savePending: (p) => this.repo.savePending(p),
        dropPending: (id) => this.repo.dropPending(id),
        pending: (ruleId, kind) => this.repo.pending(ruleId, kind),
        dropPendingOf: (ruleId) => this.repo.dropPendingOf(ruleId),
      },
      command: async (deviceId, capability, value, actor) => {
        await registry.command(deviceId, capability, value, actor);
      },
      state: (deviceId, capability) => device(deviceId)?.state[capability],
      available: (deviceId) => device(deviceId)?.available,
      location: () => this.location(),
      presence: () => ({ home: registry.presence.home(), of: (userId) => registry.presence.stateOf(userId) }),
      notify: (ruleId, runId, message, level) => {
        this.#audit({ kind: 'rule', ruleId }, 'rule.notify', ruleId, { message, level, runId });
        bus.emit('rule.notify', { ruleId, runId, message, level, at: clock.now() });
      },
      setRuleEnabled: (ruleId, enabled, actor) => {
        try {
          this.setEnabled(ruleId, enabled, actor);
        } catch (err) {
          if (!isHubError(err, 'rule_not_found')) throw err;
          throw new HubError('rule_not_found', `no rule ${ruleId} to ${enabled ? 'enable' : 'disable'}`, { ruleId });
        }
      },
      scene: (sceneId) => this.scenes.byId(sceneId)?.states,
      cameraClip: (ruleId, cameraId, seconds) => {
        if (!this.#cameras) throw new HubError('not_ready', 'the recorder is not running', { cameraId });
        this.#cameras.clip(cameraId, seconds, ruleId);
      },
      lastAlive: {
        get: () => store.settings.get<number>(LAST_ALIVE_SETTING),
        set: (t) => store.settings.set(LAST_ALIVE_SETTING, t),
      },
      newId,
      limits: this.#limits,
    };
  }

  get #limits(): RulesLimits {
    return this.#deps.limits ?? DEFAULT_LIMITS;
  }
}

function toSceneView(s: SceneRow): SceneView {
  return {
    id: s.id,
    name: s.name,
    states: s.states,
    createdAt: new Date(s.createdAt).toISOString(),
    updatedAt: new Date(s.updatedAt).toISOString(),
  };
}

function toVersionView(v: RuleVersionRow<RuleDefinition>): VersionView {
  return {
    version: v.version,
    author: v.author,
    at: new Date(v.at).toISOString(),
    note: v.note,
    definition: v.definition,
  };
}
