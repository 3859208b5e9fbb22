import type { StoredRule } from '../store/rules-repo.ts';
import type { Duration } from './duration.ts';

/**
 * The shape of a rule as people write it (and as `POST /api/v1/rules` takes it). Triggers,
 * conditions and actions are tagged by `type`; each type lives in its own module under
 * `triggers/`, `conditions/` and `actions/`, with its schema next to its behaviour.
 */
export type Mode = 'single' | 'restart' | 'queued' | 'parallel';
export const MODES: Mode[] = ['single', 'restart', 'queued', 'parallel'];

/** A trigger, condition or action: its `type` picks the module; the rest is that module's. */
export interface Tagged {
  type: string;
  [field: string]: unknown;
}

export interface RuleDefinition {
  name: string;
  description?: string;
  mode: Mode;
  /** Most runs at once (parallel) or waiting (queued). */
  max?: number;
  triggers: Tagged[];
  conditions: Tagged[];
  actions: Tagged[];
  /** Time triggers that fell while the hub was down: run once at start, or let them go. */
  missed?: 'skip' | 'catch_up';
  /** How many runs of this rule keep their trace. */
  traceLimit?: number;
}

export const DEFAULT_MAX = 10;
export const DEFAULT_TRACE_LIMIT = 50;

/** A stored rule (store/rules-repo.ts keeps the rows; this part owns the definition's shape). */
export type Rule = StoredRule<RuleDefinition>;

export type { Duration };
