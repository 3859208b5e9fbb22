import { HubError } from '../core/errors.ts';
import { ACTIONS } from './actions/index.ts';
import { MAX_PASSES } from './actions/repeat.ts';
import type { Tagged } from './model.ts';

/**
 * What one rule run may cost. Nested `repeat`s multiply: 16 levels of 10,000 passes would never
 * end, and a run that never awaits anything would hold the event loop (HTTP, MQTT) while it
 * runs. So a run counts the actions it executes (`steps`) and fails with
 * `rule_step_budget_exceeded` past `maxSteps`, and gives the event loop a turn every `yieldEvery`
 * steps. A dry run, which replays many firings and keeps every command, has its own totals.
 */
export interface RunLimits {
  /** Actions one run may execute (a resumed run counts on). */
  maxSteps: number;
  /** A run yields to the event loop after this many actions in a row. */
  yieldEvery: number;
}

export interface RulesLimits extends RunLimits {
  /** Actions one dry run may execute over all its firings. */
  dryRunMaxSteps: number;
  /** Commands one dry run keeps in its answer; reaching it ends the dry run. */
  dryRunMaxCommands: number;
  /** Dry runs in progress at once (over all users); more are refused with `rule_dry_run_busy`. */
  dryRunConcurrent: number;
}

/**
 * Defaults: a `repeat while` at its 10,000-pass limit with a few actions a pass fits in a run;
 * at a few microseconds per action a dry run at its limit is well under a second of CPU, spent
 * in slices of `yieldEvery` actions.
 */
export const DEFAULT_LIMITS: RulesLimits = {
  maxSteps: 100_000,
  yieldEvery: 100,
  dryRunMaxSteps: 100_000,
  dryRunMaxCommands: 5_000,
  dryRunConcurrent: 2,
};

export const STEP_BUDGET_CODE = 'rule_step_budget_exceeded';

export function stepBudgetExceeded(
  limit: 'steps_per_run' | 'dry_run_steps' | 'dry_run_commands',
  max: number,
): HubError {
  return new HubError(
    STEP_BUDGET_CODE,
    `a rule may execute at most ${max} ${limit === 'dry_run_commands' ? 'commands in a dry run' : 'actions'} (${limit})`,
    { limit, max },
  );
}

/** Gives the event loop a turn (I/O, timers, other requests) before the run goes on. */
export const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Repeats inside repeats, at most (the outermost counts as 1). */
export const MAX_REPEAT_NESTING = 3;

/**
 * Checked on save: loops may not nest deeper than `MAX_REPEAT_NESTING`, and the `count`s of
 * nested repeats may not multiply past `MAX_PASSES` (what a single repeat may do). `while` and
 * `until` loops end on their conditions (or at `MAX_PASSES`); the step budget bounds what they
 * do at run time. Refused with `rule_too_complex` (400), naming the repeat at fault.
 */
export function checkRepeatBounds(actions: Tagged[], path: string, nesting = 0, passes = 1): void {
  actions.forEach((action, i) => {
    const at = `${path}.${i}`;
    const repeat = action.type === 'repeat';
    const inner = repeat ? nesting + 1 : nesting;
    const total = repeat && typeof action.count === 'number' ? passes * action.count : passes;
    if (inner > MAX_REPEAT_NESTING) {
      throw new HubError('rule_too_complex', `${at}: repeats may nest ${MAX_REPEAT_NESTING} deep at most`, {
        location: 'body',
        path: at,
        field: at,
        rule: 'maxRepeatNesting',
        max: MAX_REPEAT_NESTING,
      });
    }
    if (total > MAX_PASSES) {
      throw new HubError(
        'rule_too_complex',
        `${at}: nested repeats would run ${total} passes (at most ${MAX_PASSES} in all)`,
        { location: 'body', path: at, field: at, rule: 'maxPasses', max: MAX_PASSES },
      );
    }
    const spec = ACTIONS.get(action.type);
    for (const child of spec?.children?.(action) ?? []) {
      if (child.kind === 'action') checkRepeatBounds(child.list as Tagged[], `${at}.${child.key}`, inner, total);
    }
  });
}
