import type { StateValue } from '@hearth/model/values';
import type { TSchema } from 'typebox';
import type { DeviceAvailabilityEvent, DeviceStateEvent, EnergyCycleEvent } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Tagged } from './model.ts';

/**
 * The contracts between the engine and the trigger, condition and action modules. Each module
 * exports one spec: its schema (checked when a rule is saved) and its behaviour.
 */

/** Where a rule-made change came from: the run whose command caused it, and the rules before it. */
export interface Cause {
  runId: string;
  ruleId: string;
  /** Rule ids from the first rule in the chain to this one (loop detection). */
  chain: string[];
}

/** What a trigger hands the engine when it fires; becomes the run's context. */
export interface TriggerEvent {
  /** Index of the trigger in the rule (set by the engine). */
  trigger?: number;
  type: string;
  at: number;
  cause?: Cause;
  [field: string]: unknown;
}

export interface Location {
  latitude: number;
  longitude: number;
}

/** Persisted "for" timers: a trigger waiting for a state to hold survives a hub restart. */
export interface HoldStore {
  save(key: string, dueAt: number, event: TriggerEvent): void;
  drop(key: string): void;
  load(key: string): { dueAt: number; event: TriggerEvent } | undefined;
}

/** Who is home, as rules see it (devices/presence.ts): the home's state and each person's. */
export interface PresenceView {
  home: 'someone_home' | 'everyone_away' | 'unknown';
  of(userId: string): 'home' | 'away' | undefined;
}

/** A person's presence changed (the bus's `presence.changed`). */
export interface PresenceChange {
  userId: string;
  state: 'home' | 'away' | null;
  home: PresenceView['home'];
  at: number;
}

export interface TriggerEnv {
  clock: Clock;
  onPresence(fn: (e: PresenceChange) => void): () => void;
  /** Absent where presence is not known (a dry run): presence conditions are then false. */
  presence?(): PresenceView;
  onState(
    deviceId: string,
    capability: string,
    fn: (e: DeviceStateEvent, cause: Cause | undefined) => void,
  ): () => void;
  onAvailability(deviceId: string, fn: (e: DeviceAvailabilityEvent) => void): () => void;
  onCamera(fn: (e: { cameraId: string; kind: string; at: number }) => void): () => void;
  onHubStart(fn: () => void): () => void;
  /** An appliance cycle of a device began or ended (energy/live-cycles.ts). */
  onCycle(deviceId: string, fn: (e: EnergyCycleEvent) => void): () => void;
  state(deviceId: string, capability: string): StateValue | undefined;
  available(deviceId: string): boolean | undefined;
  /** Runs `fn` at a wall-clock time (robust to long waits and clock corrections). */
  at(time: number, fn: () => void): TimerHandle;
  location(): Location | undefined;
  holds: HoldStore;
}

export interface TriggerSpec<T extends Tagged = Tagged> {
  type: string;
  schema: TSchema;
  /** Starts watching; `key` is unique per rule and trigger (for persisted timers). Returns detach. */
  attach(def: T, env: TriggerEnv, fire: (event: TriggerEvent) => void, key: string): () => void;
  /** Time-based triggers: the first occurrence after `after` (for catching up missed ones). */
  next?(def: T, after: number, env: Pick<TriggerEnv, 'location'>): number | undefined;
}

/** One condition as a run saw it: the trace shows why a rule did or did not run. */
export interface ConditionTrace {
  path: string;
  type: string;
  result: boolean;
  seen?: Record<string, unknown>;
}

export type Predicate = (trace?: ConditionTrace[]) => boolean;

export interface CompileEnv {
  clock: Clock;
  presence?(): PresenceView;
  state(deviceId: string, capability: string): StateValue | undefined;
  location(): Location | undefined;
  compile(list: Tagged[], path: string, combine: 'and' | 'or'): Predicate;
}

export interface ConditionSpec<T extends Tagged = Tagged> {
  type: string;
  schema: TSchema;
  /** Nested condition lists (and/or/not), validated and compiled recursively. */
  children?(def: T): Child[];
  compile(def: T, path: string, env: CompileEnv): Predicate;
}

export type Segment = string | number;

/** What an action may do while it runs; the runner implements it. */
export interface ActionExec {
  ruleId: string;
  event: TriggerEvent;
  /** Trace path of this action, e.g. `actions.2.then.0`. */
  path: string;
  /** Set when the run resumes after a restart: where inside this action it stopped. */
  resume: Segment[] | undefined;
  command(deviceId: string, capability: string, value: StateValue): Promise<void>;
  /** Waits on the clock; persisted so it survives a restart. */
  sleep(ms: number): Promise<void>;
  /** Waits for one of `triggers` to fire, at most `timeoutMs`; persisted like `sleep`. */
  waitFor(triggers: Tagged[], timeoutMs: number | undefined): Promise<TriggerEvent | undefined>;
  test(conditions: Tagged[], path: string): boolean;
  /** Runs a nested list: `trace` extends the trace path, `resume` the restart position. */
  list(actions: Tagged[], trace: string, resume: Segment[], resumeInside: Segment[] | undefined): Promise<void>;
  notify(message: string, level: string): void;
  setRuleEnabled(ruleId: string, enabled: boolean): void;
  /** The states of a saved scene; throws `scene_not_found`. */
  scene(sceneId: string): { device: string; capability: string; value: StateValue }[];
  /** Asks the recorder for an event clip; throws `camera_not_found`, `camera_off`. */
  cameraClip(cameraId: string, seconds: number): void;
  /** Adds details to this action's trace entry. */
  note(detail: Record<string, unknown>): void;
}

export interface Child {
  key: string;
  kind: 'trigger' | 'condition' | 'action';
  list: unknown;
}

export interface ActionSpec<T extends Tagged = Tagged> {
  type: string;
  schema: TSchema;
  children?(def: T): Child[];
  run(def: T, x: ActionExec): Promise<void>;
}
