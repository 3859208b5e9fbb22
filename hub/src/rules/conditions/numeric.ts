import Type from 'typebox';
import type { ConditionSpec } from '../spec.ts';
import { CapabilityRef, closed, DeviceRef } from '../triggers/common.ts';
import { inRange } from '../triggers/numeric.ts';

/** A numeric reading is currently above and/or below a limit. */
export interface NumericCondition {
  type: 'numeric';
  device: string;
  capability: string;
  above?: number;
  below?: number;
  [field: string]: unknown;
}

export const numericCondition: ConditionSpec<NumericCondition> = {
  type: 'numeric',
  schema: Type.Object(
    {
      type: Type.Literal('numeric'),
      device: DeviceRef,
      capability: CapabilityRef,
      above: Type.Optional(Type.Number()),
      below: Type.Optional(Type.Number()),
    },
    { ...closed, anyOf: [{ required: ['above'] }, { required: ['below'] }] },
  ),
  compile(def, path, env) {
    return (trace) => {
      const value = env.state(def.device, def.capability);
      const result = inRange(value, def.above, def.below);
      trace?.push({ path, type: 'numeric', result, seen: { value: value ?? null } });
      return result;
    };
  },
};
