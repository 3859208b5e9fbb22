import Type from 'typebox';
import type { Tagged } from '../model.ts';
import type { ActionSpec } from '../spec.ts';
import { closed } from '../triggers/common.ts';

/**
 * Repeats `actions` `count` times, or while/until conditions hold (checked before/after each
 * pass). `MAX_PASSES` stops a while-loop that never ends from running forever.
 */
export interface RepeatAction {
  type: 'repeat';
  count?: number;
  while?: Tagged[];
  until?: Tagged[];
  actions: Tagged[];
  [field: string]: unknown;
}

export const MAX_PASSES = 10_000;

export const repeatAction: ActionSpec<RepeatAction> = {
  type: 'repeat',
  schema: Type.Object(
    {
      type: Type.Literal('repeat'),
      count: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PASSES })),
      while: Type.Optional(Type.Array(Type.Unknown(), { minItems: 1, maxItems: 64 })),
      until: Type.Optional(Type.Array(Type.Unknown(), { minItems: 1, maxItems: 64 })),
      actions: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 256 }),
    },
    { ...closed, oneOf: [{ required: ['count'] }, { required: ['while'] }, { required: ['until'] }] },
  ),
  children: (def) => [
    { key: 'while', kind: 'condition', list: def.while ?? [] },
    { key: 'until', kind: 'condition', list: def.until ?? [] },
    { key: 'actions', kind: 'action', list: def.actions },
  ],
  async run(def, x) {
    // The pass number is part of the restart position, so a resumed loop counts on from there.
    let pass = x.resume?.length ? (x.resume[0] as number) : 0;
    let inside = x.resume?.slice(1);
    const limit = def.count ?? MAX_PASSES;
    for (; pass < limit; pass++) {
      if (!inside && def.while && !x.test(def.while, `${x.path}.while`)) break;
      await x.list(def.actions, `${x.path}.actions`, [pass], inside);
      inside = undefined;
      if (def.until && x.test(def.until, `${x.path}.until`)) {
        pass++;
        break;
      }
    }
    x.note({ passes: pass });
  },
};
