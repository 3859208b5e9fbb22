import Type from 'typebox';
import { durationMs, DurationSchema, type Duration } from '../duration.ts';
import type { ActionSpec } from '../spec.ts';
import { closed } from '../triggers/common.ts';

/** Waits; the wait is stored, so a restart in the middle continues where it was. */
export interface DelayAction {
  type: 'delay';
  for: Duration;
  [field: string]: unknown;
}

export const delayAction: ActionSpec<DelayAction> = {
  type: 'delay',
  schema: Type.Object({ type: Type.Literal('delay'), for: DurationSchema }, closed),
  async run(def, x) {
    await x.sleep(durationMs(def.for));
  },
};
