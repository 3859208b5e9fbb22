import Type from 'typebox';
import type { Tagged } from '../model.ts';
import { durationMs, DurationSchema, type Duration } from '../duration.ts';
import type { ActionSpec } from '../spec.ts';
import { closed } from '../triggers/common.ts';

/**
 * Waits for one of `triggers` (e.g. "until the door closes"), at most `timeout`. On timeout the
 * run stops unless `continueOnTimeout` (default true, so "wait up to 5 minutes" reads naturally).
 */
export interface WaitAction {
  type: 'wait';
  triggers: Tagged[];
  timeout?: Duration;
  continueOnTimeout?: boolean;
  [field: string]: unknown;
}

export const waitAction: ActionSpec<WaitAction> = {
  type: 'wait',
  schema: Type.Object(
    {
      type: Type.Literal('wait'),
      triggers: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 16 }),
      timeout: Type.Optional(DurationSchema),
      continueOnTimeout: Type.Optional(Type.Boolean()),
    },
    closed,
  ),
  children: (def) => [{ key: 'triggers', kind: 'trigger', list: def.triggers }],
  async run(def, x) {
    const event = await x.waitFor(def.triggers, def.timeout === undefined ? undefined : durationMs(def.timeout));
    if (event) {
      const { cause: _cause, ...seen } = event;
      x.note({ waited: 'triggered', event: seen });
      return;
    }
    x.note({ waited: 'timeout' });
    if (def.continueOnTimeout === false) throw new StopRun('wait timed out');
  },
};

/** Ends a run early and cleanly (not a failure). */
export class StopRun extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'StopRun';
  }
}
