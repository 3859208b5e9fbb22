import Type from 'typebox';
import type { Tagged } from '../model.ts';
import type { ActionSpec, Child } from '../spec.ts';
import { closed } from '../triggers/common.ts';

/** The first choice whose conditions hold runs; else `default`. */
export interface ChooseAction {
  type: 'choose';
  choices: { conditions: Tagged[]; actions: Tagged[] }[];
  default?: Tagged[];
  [field: string]: unknown;
}

const Choice = Type.Object(
  {
    conditions: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 64 }),
    actions: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 256 }),
  },
  closed,
);

export const chooseAction: ActionSpec<ChooseAction> = {
  type: 'choose',
  schema: Type.Object(
    {
      type: Type.Literal('choose'),
      choices: Type.Array(Choice, { minItems: 1, maxItems: 32 }),
      default: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 256 })),
    },
    closed,
  ),
  children: (def) => [
    ...def.choices.flatMap((c, i): Child[] => [
      { key: `choices.${i}.conditions`, kind: 'condition', list: c.conditions },
      { key: `choices.${i}.actions`, kind: 'action', list: c.actions },
    ]),
    { key: 'default', kind: 'action', list: def.default ?? [] },
  ],
  async run(def, x) {
    let pick: number | 'default';
    if (x.resume?.length) pick = x.resume[0] as number | 'default';
    else {
      const i = def.choices.findIndex((c, k) => x.test(c.conditions, `${x.path}.choices.${k}.conditions`));
      pick = i >= 0 ? i : 'default';
    }
    x.note({ chose: pick });
    const actions = pick === 'default' ? (def.default ?? []) : def.choices[pick]!.actions;
    const trace = pick === 'default' ? `${x.path}.default` : `${x.path}.choices.${pick}.actions`;
    await x.list(actions, trace, [pick], x.resume?.slice(1));
  },
};
