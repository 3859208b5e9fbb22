import type { Actor } from '../values.ts';

/**
 * GET /rules, /rules/:id: a rule. The rest of its definition (triggers, conditions, actions) comes
 * along in the same object; the editor reads it as JSON (hub/src/rules/model.ts owns its shape).
 */
export interface RuleSummary {
  id: string;
  name: string;
  enabled: boolean;
  version: number;
  running: number;
  mode?: string;
  createdAt: string;
  updatedAt: string;
}

/** What one action of a run did. */
export interface ActionTrace {
  path: string;
  type: string;
  startedAt: number;
  ms?: number;
  result: string;
  error?: { code: string; message: string };
  [detail: string]: unknown;
}

/** GET /rules/:id/traces: one run of a rule, step by step. */
export interface RuleTrace {
  runId: string;
  version: number;
  startedAt: number;
  endedAt?: number;
  status: string;
  reason?: string;
  trigger: { type: string; at: number; [field: string]: unknown };
  conditions: { path: string; type: string; result: boolean; seen?: Record<string, unknown> }[];
  actions: ActionTrace[];
}

/** POST /rules/dry-run: what a rule would have done over past events. */
export interface DryRunResult {
  replayedEvents: number;
  truncated: boolean;
  firings: RuleTrace[];
  commands: { at: string; device: string; capability: string; value: unknown }[];
  /** Set when the dry run hit its step or kept-command budget and stopped replaying there. */
  stopped?: { code: string; at: string };
}

/** GET /rules/:id/versions. */
export interface RuleVersion {
  version: number;
  /** Who saved it (a person, or the hub for a version it made itself). */
  author: Actor;
  at: string;
  note: string | null;
}

/** One changed field between two versions of a rule. */
export interface RuleChange {
  path: string;
  op: 'added' | 'removed' | 'changed';
  from?: unknown;
  to?: unknown;
}

/** GET /rules/:id/diff?from=&to=. */
export interface RuleDiff {
  changes: RuleChange[];
}

/**
 * POST /rules, PUT /rules/:id: a rule definition (docs/rules.md). The route takes any JSON object;
 * the rules part checks it field by field so an error names the exact path.
 */
export type RuleBody = Record<string, unknown>;

/** POST /rules/dry-run: a saved rule by id, or an unsaved definition, over a past time range. */
export interface RuleDryRun {
  ruleId?: string;
  rule?: RuleBody;
  from: string;
  to?: string;
}

/** POST /rules/:id/revert: the version whose definition becomes the newest. */
export interface RuleRevert {
  version: number;
}
