import type { ConditionTrace, TriggerEvent } from './spec.ts';

/**
 * What one run of a rule did, kept (last N per rule) so a person can see why a rule did or did
 * not do something: the event that fired it (with the chain of rules that led to it), each
 * condition with the values it saw, each action with its result and duration.
 */
export type RunStatus =
  | 'running'
  | 'waiting'
  | 'done'
  | 'failed'
  | 'stopped'
  | 'cancelled'
  | 'interrupted'
  | 'conditions_failed'
  | 'skipped'
  | 'loop_cut';

export interface ActionTrace {
  path: string;
  type: string;
  startedAt: number;
  ms?: number;
  result: 'running' | 'ok' | 'error' | 'stopped' | 'cancelled';
  error?: { code: string; message: string };
  [detail: string]: unknown;
}

export interface Trace {
  runId: string;
  ruleId: string;
  version: number;
  startedAt: number;
  endedAt?: number;
  status: RunStatus;
  /** Why a run did not happen or ended early (skipped, loop_cut, failed, cancelled). */
  reason?: string;
  trigger: TriggerEvent;
  conditions: ConditionTrace[];
  actions: ActionTrace[];
  /** Actions that ran after the trace was full (see MAX_TRACED_ACTIONS). */
  untracedActions?: number;
  /** Condition results left out after the trace was full (see MAX_TRACED_CONDITIONS). */
  untracedConditions?: number;
  /** Actions the run executed so far, counted against its step budget (hub/src/rules/budget.ts). */
  steps?: number;
}
