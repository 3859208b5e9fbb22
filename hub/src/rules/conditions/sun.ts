import Type from 'typebox';
import { durationMs, OffsetSchema, type Duration } from '../duration.ts';
import { sunOn, type SunEvent } from '../schedule/solar.ts';
import type { ConditionSpec } from '../spec.ts';
import { closed } from '../triggers/common.ts';

/**
 * Relative to today's sunrise/sunset: `{after: 'sunset'}` is "after sunset (until midnight)",
 * `{after: 'sunset', before: 'sunrise'}` is "dark" (either side of midnight). Offsets shift each.
 */
export interface SunCondition {
  type: 'sun';
  after?: SunEvent;
  before?: SunEvent;
  afterOffset?: Duration;
  beforeOffset?: Duration;
  [field: string]: unknown;
}

const SunEventSchema = Type.Union([Type.Literal('sunrise'), Type.Literal('sunset')]);

export const sunCondition: ConditionSpec<SunCondition> = {
  type: 'sun',
  schema: Type.Object(
    {
      type: Type.Literal('sun'),
      after: Type.Optional(SunEventSchema),
      before: Type.Optional(SunEventSchema),
      afterOffset: Type.Optional(OffsetSchema),
      beforeOffset: Type.Optional(OffsetSchema),
    },
    { ...closed, anyOf: [{ required: ['after'] }, { required: ['before'] }] },
  ),
  compile(def, path, env) {
    return (trace) => {
      const now = env.clock.now();
      const loc = env.location();
      const a = def.after && loc ? sunOn(now, def.after, loc) : undefined;
      const b = def.before && loc ? sunOn(now, def.before, loc) : undefined;
      const after = a === undefined ? undefined : a + durationMs(def.afterOffset);
      const before = b === undefined ? undefined : b + durationMs(def.beforeOffset);
      let result: boolean;
      if (!loc) result = false;
      else if (after !== undefined && before !== undefined)
        result = after <= before ? now >= after && now < before : now >= after || now < before;
      else if (after !== undefined) result = now >= after;
      else if (before !== undefined) result = now < before;
      else result = false; // polar day/night: the event does not happen today
      const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
      trace?.push({
        path,
        type: 'sun',
        result,
        seen: { now: iso(now), after: iso(after), before: iso(before), location: loc ? 'set' : 'missing' },
      });
      return result;
    };
  },
};
