import Type from 'typebox';
import type { Tagged } from '../model.ts';
import type { ActionSpec } from '../spec.ts';
import { closed } from '../triggers/common.ts';

/** if conditions then … else …; on a restart inside a branch, the branch is not re-decided. */
export interface IfAction {
  type: 'if';
  conditions: Tagged[];
  then: Tagged[];
  else?: Tagged[];
  [field: string]: unknown;
}

export const ifAction: ActionSpec<IfAction> = {
  type: 'if',
  schema: Type.Object(
    {
      type: Type.Literal('if'),
      conditions: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 64 }),
      then: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 256 }),
      else: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 256 })),
    },
    closed,
  ),
  children: (def) => [
    { key: 'conditions', kind: 'condition', list: def.conditions },
    { key: 'then', kind: 'action', list: def.then },
    { key: 'else', kind: 'action', list: def.else ?? [] },
  ],
  async run(def, x) {
    let branch: 'then' | 'else';
    if (x.resume?.length) branch = x.resume[0] as 'then' | 'else';
    else branch = x.test(def.conditions, `${x.path}.conditions`) ? 'then' : 'else';
    x.note({ branch });
    await x.list(def[branch] ?? [], `${x.path}.${branch}`, [branch], x.resume?.slice(1));
  },
};
