import Type from 'typebox';
import { weekdayOf, type Weekday } from '../schedule/local.ts';
import type { ConditionSpec } from '../spec.ts';
import { closed } from '../triggers/common.ts';
import { WeekdayList } from '../triggers/time.ts';

/** Today (local time) is one of `days`. */
export interface WeekdayCondition {
  type: 'weekday';
  days: Weekday[];
  [field: string]: unknown;
}

export const weekdayCondition: ConditionSpec<WeekdayCondition> = {
  type: 'weekday',
  schema: Type.Object({ type: Type.Literal('weekday'), days: WeekdayList }, closed),
  compile(def, path, env) {
    return (trace) => {
      const today = weekdayOf(env.clock.now());
      const result = def.days.includes(today);
      trace?.push({ path, type: 'weekday', result, seen: { weekday: today } });
      return result;
    };
  },
};
