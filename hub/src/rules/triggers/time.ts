import Type from 'typebox';
import { runEvery } from '../schedule/at.ts';
import { atLocal, parseTimeOfDay, TIME_OF_DAY_PATTERN, WEEKDAYS, weekdayOf, type Weekday } from '../schedule/local.ts';
import type { TriggerSpec } from '../spec.ts';
import { closed } from './common.ts';

/** A time of day (`07:30`, local time), optionally on some weekdays only. */
export interface TimeTrigger {
  type: 'time';
  at: string;
  weekdays?: Weekday[];
  [field: string]: unknown;
}

export const WeekdayList = Type.Array(Type.Union(WEEKDAYS.map((d) => Type.Literal(d))), {
  minItems: 1,
  maxItems: 7,
  uniqueItems: true,
});

export const timeTrigger: TriggerSpec<TimeTrigger> = {
  type: 'time',
  schema: Type.Object(
    {
      type: Type.Literal('time'),
      at: Type.String({ pattern: TIME_OF_DAY_PATTERN }),
      weekdays: Type.Optional(WeekdayList),
    },
    closed,
  ),
  next(def, after) {
    const seconds = parseTimeOfDay(def.at);
    for (let day = 0; day <= 8; day++) {
      const t = atLocal(after, day, seconds);
      if (t > after && (!def.weekdays || def.weekdays.includes(weekdayOf(t)))) return t;
    }
    return undefined;
  },
  attach(def, env, fire) {
    const handle = runEvery(
      env.clock,
      (after) => timeTrigger.next!(def, after, env),
      (scheduledAt) => fire({ type: 'time', at: env.clock.now(), scheduledAt }),
    );
    return () => handle.cancel();
  },
};
