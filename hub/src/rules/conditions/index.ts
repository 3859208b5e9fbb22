import type { Tagged } from '../model.ts';
import type { CompileEnv, ConditionSpec, ConditionTrace, Predicate } from '../spec.ts';
import { andCondition, notCondition, orCondition } from './logic.ts';
import { numericCondition } from './numeric.ts';
import { presenceCondition } from './presence.ts';
import { stateCondition } from './state.ts';
import { sunCondition } from './sun.ts';
import { timeCondition } from './time.ts';
import { weekdayCondition } from './weekday.ts';

/** Every condition type by name. */
export const CONDITIONS = new Map<string, ConditionSpec>(
  (
    [
      stateCondition,
      numericCondition,
      timeCondition,
      weekdayCondition,
      sunCondition,
      presenceCondition,
      andCondition,
      orCondition,
      notCondition,
    ] as ConditionSpec[]
  ).map((c) => [c.type, c]),
);

/**
 * Compiles a validated condition list once into one predicate. Evaluation stops at the first
 * deciding condition, as people read "and"/"or"; the trace lists the ones that were evaluated.
 */
export function compileConditions(
  list: Tagged[],
  path: string,
  env: Omit<CompileEnv, 'compile'>,
  combine: 'and' | 'or' = 'and',
): Predicate {
  const full: CompileEnv = { ...env, compile: (l, p, c) => compileConditions(l, p, env, c) };
  const parts = list.map((def, i) => CONDITIONS.get(def.type)!.compile(def, `${path}.${i}`, full));
  if (parts.length === 0) return () => true;
  if (combine === 'and') return (trace?: ConditionTrace[]) => parts.every((p) => p(trace));
  return (trace?: ConditionTrace[]) => parts.some((p) => p(trace));
}
