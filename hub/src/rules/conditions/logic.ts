import Type from 'typebox';
import type { Tagged } from '../model.ts';
import type { ConditionSpec } from '../spec.ts';
import { closed } from '../triggers/common.ts';

/** and / or / not over nested conditions; `not` is true when none of its conditions hold. */
interface LogicCondition {
  type: 'and' | 'or' | 'not';
  conditions: Tagged[];
  [field: string]: unknown;
}

const logic = (type: 'and' | 'or' | 'not'): ConditionSpec<LogicCondition> => ({
  type,
  schema: Type.Object(
    { type: Type.Literal(type), conditions: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 64 }) },
    closed,
  ),
  children: (def) => [{ key: 'conditions', kind: 'condition', list: def.conditions }],
  compile(def, path, env) {
    const inner = env.compile(def.conditions, `${path}.conditions`, type === 'and' ? 'and' : 'or');
    return (trace) => {
      const value = inner(trace);
      const result = type === 'not' ? !value : value;
      trace?.push({ path, type, result });
      return result;
    };
  },
});

export const andCondition = logic('and');
export const orCondition = logic('or');
export const notCondition = logic('not');
