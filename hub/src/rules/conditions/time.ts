import Type from 'typebox';
import { parseTimeOfDay, secondsOfDay, TIME_OF_DAY_PATTERN } from '../schedule/local.ts';
import type { ConditionSpec } from '../spec.ts';
import { closed } from '../triggers/common.ts';

/** Local time is within [after, before); a window such as 22:00-06:00 wraps midnight. */
export interface TimeCondition {
  type: 'time';
  after?: string;
  before?: string;
  [field: string]: unknown;
}

export const timeCondition: ConditionSpec<TimeCondition> = {
  type: 'time',
  schema: Type.Object(
    {
      type: Type.Literal('time'),
      after: Type.Optional(Type.String({ pattern: TIME_OF_DAY_PATTERN })),
      before: Type.Optional(Type.String({ pattern: TIME_OF_DAY_PATTERN })),
    },
    { ...closed, anyOf: [{ required: ['after'] }, { required: ['before'] }] },
  ),
  compile(def, path, env) {
    const after = def.after === undefined ? 0 : parseTimeOfDay(def.after);
    const before = def.before === undefined ? 86_400 : parseTimeOfDay(def.before);
    return (trace) => {
      const now = secondsOfDay(env.clock.now());
      const result = after <= before ? now >= after && now < before : now >= after || now < before;
      trace?.push({ path, type: 'time', result, seen: { time: new Date(env.clock.now()).toTimeString().slice(0, 8) } });
      return result;
    };
  },
};
