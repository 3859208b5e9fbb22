import Type from 'typebox';
import type { TriggerSpec } from '../spec.ts';
import { closed } from './common.ts';

/** The hub (re)started: the engine fires these once all rules are attached. */
export const hubStartTrigger: TriggerSpec = {
  type: 'hub_start',
  schema: Type.Object({ type: Type.Literal('hub_start') }, closed),
  attach(_def, env, fire) {
    return env.onHubStart(() => fire({ type: 'hub_start', at: env.clock.now() }));
  },
};
