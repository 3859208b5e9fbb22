import type { StateValue } from '@hearth/model/values';
import { EventBus } from '../core/bus.ts';
import { ManualClock } from '../core/clock.ts';
import type { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { EventRow } from '../store/history-repo.ts';
import type { PendingRow, TraceRow } from '../store/rules-repo.ts';
import { DEFAULT_LIMITS, STEP_BUDGET_CODE, stepBudgetExceeded, type RulesLimits } from './budget.ts';
import { RulesEngine, type RulesStorage } from './engine.ts';
import type { RuleDefinition } from './model.ts';
import type { Location } from './spec.ts';
import type { Trace } from './trace.ts';

/** Most recorded events one dry run replays; a longer window is cut and says so. */
export const DRY_RUN_MAX_EVENTS = 50_000;
const MAX_FIRINGS = 500;

export interface DryRunInput {
  definition: RuleDefinition;
  from: number;
  to: number;
  /** Recorded device events in [from, to), oldest first (the history event log). */
  events: EventRow[];
  truncated: boolean;
  location: Location | undefined;
  /** Saved scenes as they are now. */
  scenes: Map<string, { device: string; capability: string; value: StateValue }[]>;
  log: Logger;
  /** The saved rule being replayed: the state changes it really caused are left out. */
  ruleId?: string | undefined;
  /** Step budgets (defaults: DEFAULT_LIMITS). */
  limits?: RulesLimits | undefined;
}

/** A command's audit row is written when the device confirmed, at most this long after it left. */
const CONFIRMATION_WINDOW_MS = 60_000;

/**
 * Indexes (into `events`) of the state changes that confirmed a command of rule `ruleId`. The
 * replay makes those changes itself when the rule's command runs (commands are assumed
 * confirmed); keeping the recorded ones too would apply each twice and could fire the rule on
 * its own past effects. Each confirmed command (its audit row comes after the state change)
 * claims the latest matching change of the same device, capability and value before it.
 */
export function causedByRule(events: EventRow[], ruleId: string): Set<number> {
  const skip = new Set<number>();
  events.forEach((e, i) => {
    if (e.kind !== 'command' || e.outcome !== 'confirmed' || !e.capability) return;
    const actor = e.actor as { kind?: unknown; ruleId?: unknown } | null;
    if (actor?.kind !== 'rule' || actor.ruleId !== ruleId) return;
    for (let j = i - 1; j >= 0 && e.at - events[j]!.at <= CONFIRMATION_WINDOW_MS; j--) {
      const s = events[j]!;
      if (
        s.kind === 'state' &&
        !skip.has(j) &&
        s.deviceId === e.deviceId &&
        s.capability === e.capability &&
        s.value === e.value
      ) {
        skip.add(j);
        return;
      }
    }
  });
  return skip;
}

export interface DryRunResult {
  from: string;
  to: string;
  replayedEvents: number;
  truncated: boolean;
  /** Recorded state changes left out because the replayed (saved) rule itself caused them. */
  skippedOwnEffects: number;
  /** Each time the rule would have fired: the trigger, conditions seen, what it would have done. */
  firings: Trace[];
  commands: { at: string; device: string; capability: string; value: StateValue }[];
  /** Actions executed over all firings. */
  steps: number;
  /**
   * Set when the dry run hit its own budget (`limit`: `dry_run_steps` or `dry_run_commands`) and
   * stopped replaying there: what came before is reported, the rest of the window is not.
   */
  stopped?: { code: typeof STEP_BUDGET_CODE; limit: string; max: number; at: string };
}

/**
 * Replays recorded history through a private copy of the engine: its own bus, a manual clock
 * walked from `from` to `to`, device state rebuilt from the events, and commands recorded (and
 * assumed confirmed) instead of sent. Nothing reaches a device, the database or the real bus.
 * State before the window is taken from the first event's `previous` value. Replaying a saved
 * rule leaves out the state changes its own commands caused (`causedByRule`).
 */
export async function dryRun(input: DryRunInput): Promise<DryRunResult> {
  const clock = new ManualClock(input.from);
  const bus = new EventBus(input.log);
  const state = new Map<string, StateValue>();
  const available = new Map<string, boolean>();
  const key = (d: string, c: string) => `${d}\u0000${c}`;
  const seen = new Set<string>();
  for (const e of input.events) {
    if (e.kind !== 'state' || !e.capability || seen.has(key(e.deviceId, e.capability))) continue;
    seen.add(key(e.deviceId, e.capability));
    if (e.previous !== null) state.set(key(e.deviceId, e.capability), e.previous as StateValue);
  }
  const limits = input.limits ?? DEFAULT_LIMITS;
  const commands: DryRunResult['commands'] = [];
  let steps = 0;
  let stopped: DryRunResult['stopped'];
  /** Records why the dry run ends (the first reason wins) and fails the run that hit it. */
  const overBudget = (err: HubError): never => {
    const { limit, max } = err.details as { limit: string; max: number };
    stopped ??= { code: STEP_BUDGET_CODE, limit, max, at: new Date(clock.now()).toISOString() };
    throw err;
  };
  const traces = new Map<string, Trace>();
  const storage: RulesStorage = {
    saveTrace: (t: TraceRow) => {
      if (traces.size < MAX_FIRINGS || traces.has(t.runId))
        traces.set(t.runId, structuredClone(t.data) as unknown as Trace);
    },
    savePending: (_p: PendingRow) => {},
    dropPending: () => {},
    pending: () => [],
    dropPendingOf: () => {},
  };
  const engine = new RulesEngine({
    bus,
    clock,
    log: input.log,
    storage,
    limits,
    step: () => {
      if (++steps > limits.dryRunMaxSteps) overBudget(stepBudgetExceeded('dry_run_steps', limits.dryRunMaxSteps));
    },
    command: async (deviceId, capability, value) => {
      if (commands.length >= limits.dryRunMaxCommands)
        overBudget(stepBudgetExceeded('dry_run_commands', limits.dryRunMaxCommands));
      commands.push({ at: new Date(clock.now()).toISOString(), device: deviceId, capability, value });
      const previous = state.get(key(deviceId, capability));
      if (previous === value) return;
      state.set(key(deviceId, capability), value);
      bus.emit('device.state', { deviceId, capability, value, previous, at: clock.now() });
    },
    state: (d, c) => state.get(key(d, c)),
    available: (d) => available.get(d) ?? true,
    location: () => input.location,
    notify: () => {},
    setRuleEnabled: () => {},
    scene: (id) => input.scenes.get(id),
    cameraClip: () => {}, // the trace notes the clip; nothing is recorded in a replay
    lastAlive: { get: () => undefined, set: () => {} },
    newId: (() => {
      let n = 0;
      return (prefix: string) => `${prefix}_dry${++n}`;
    })(),
  });
  engine.start(
    [
      {
        id: 'rule_dry_run',
        enabled: true,
        version: 1,
        definition: input.definition,
        createdAt: input.from,
        updatedAt: input.from,
      },
    ],
    { hubStart: false, catchUp: false, heartbeat: false },
  );

  // Runs yield to the event loop every few actions (budget.ts): the replay moves the clock on
  // only once every run has finished or waits for the clock.
  const settle = async () => {
    do await new Promise<void>((resolve) => setImmediate(resolve));
    while (engine.busy() && !stopped);
  };
  const stepTo = async (t: number) => {
    for (let due = clock.nextDue(); due !== undefined && due <= t && !stopped; due = clock.nextDue()) {
      clock.advance(Math.max(0, due - clock.now()));
      await settle();
    }
    if (t > clock.now() && !stopped) clock.advance(t - clock.now());
  };
  const ownEffects = input.ruleId !== undefined ? causedByRule(input.events, input.ruleId) : new Set<number>();
  for (const [index, e] of input.events.entries()) {
    await stepTo(e.at);
    if (stopped) break;
    if (ownEffects.has(index)) continue;
    if (e.kind === 'state' && e.capability) {
      const value = e.value as StateValue;
      const previous = state.get(key(e.deviceId, e.capability));
      state.set(key(e.deviceId, e.capability), value);
      if (previous !== value)
        bus.emit('device.state', { deviceId: e.deviceId, capability: e.capability, value, previous, at: e.at });
    } else if (e.kind === 'availability') {
      const now = e.value === true || e.value === 'online';
      available.set(e.deviceId, now);
      bus.emit('device.availability', { deviceId: e.deviceId, available: now, at: e.at });
    }
    await settle();
  }
  await stepTo(input.to);
  await settle();
  engine.stop();
  await settle(); // runs cut short by the budget or the stop record how they ended
  return {
    from: new Date(input.from).toISOString(),
    to: new Date(input.to).toISOString(),
    replayedEvents: input.events.length - ownEffects.size,
    skippedOwnEffects: ownEffects.size,
    truncated: input.truncated,
    firings: [...traces.values()].sort((a, b) => a.startedAt - b.startedAt),
    commands,
    steps,
    ...(stopped ? { stopped } : {}),
  };
}
