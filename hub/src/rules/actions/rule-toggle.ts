import Type from 'typebox';
import type { ActionSpec } from '../spec.ts';
import { closed } from '../triggers/common.ts';

/** Turns another rule (or this one) on or off, e.g. a "vacation" rule set. */
interface RuleToggleAction {
  type: 'enable_rule' | 'disable_rule';
  rule: string;
  [field: string]: unknown;
}

const toggle = (type: 'enable_rule' | 'disable_rule'): ActionSpec<RuleToggleAction> => ({
  type,
  schema: Type.Object({ type: Type.Literal(type), rule: Type.String({ minLength: 1, maxLength: 64 }) }, closed),
  async run(def, x) {
    x.setRuleEnabled(def.rule, type === 'enable_rule');
  },
});

export const enableRuleAction = toggle('enable_rule');
export const disableRuleAction = toggle('disable_rule');
