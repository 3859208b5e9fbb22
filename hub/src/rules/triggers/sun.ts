import Type from 'typebox';
import { durationMs, OffsetSchema, type Duration } from '../duration.ts';
import { runEvery } from '../schedule/at.ts';
import { nextSun } from '../schedule/solar.ts';
import type { TriggerSpec } from '../spec.ts';
import { closed } from './common.ts';

/**
 * Sunrise or sunset at the home's location (settings `home.location`), shifted by `offset`
 * (`-30m` is half an hour before). Without a location the trigger never fires; saving such a
 * rule is refused with `location_required`.
 */
export interface SunTrigger {
  type: 'sun';
  event: 'sunrise' | 'sunset';
  offset?: Duration;
  [field: string]: unknown;
}

export const sunTrigger: TriggerSpec<SunTrigger> = {
  type: 'sun',
  schema: Type.Object(
    {
      type: Type.Literal('sun'),
      event: Type.Union([Type.Literal('sunrise'), Type.Literal('sunset')]),
      offset: Type.Optional(OffsetSchema),
    },
    closed,
  ),
  next(def, after, env) {
    const loc = env.location();
    return loc ? nextSun(def.event, durationMs(def.offset), after, loc) : undefined;
  },
  attach(def, env, fire) {
    const handle = runEvery(
      env.clock,
      (after) => sunTrigger.next!(def, after, env),
      (scheduledAt) => fire({ type: 'sun', at: env.clock.now(), event: def.event, scheduledAt }),
    );
    return () => handle.cancel();
  },
};
