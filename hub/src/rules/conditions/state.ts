import type { StateValue } from '@hearth/model/values';
import Type from 'typebox';
import type { ConditionSpec } from '../spec.ts';
import { CapabilityRef, closed, DeviceRef, Value } from '../triggers/common.ts';

/** A capability currently has one of the given values. */
export interface StateCondition {
  type: 'state';
  device: string;
  capability: string;
  value: StateValue | StateValue[];
  [field: string]: unknown;
}

export const stateCondition: ConditionSpec<StateCondition> = {
  type: 'state',
  schema: Type.Object(
    {
      type: Type.Literal('state'),
      device: DeviceRef,
      capability: CapabilityRef,
      value: Type.Union([Value, Type.Array(Value, { minItems: 1, maxItems: 32 })]),
    },
    closed,
  ),
  compile(def, path, env) {
    const wanted = Array.isArray(def.value) ? def.value : [def.value];
    return (trace) => {
      const value = env.state(def.device, def.capability);
      const result = value !== undefined && wanted.includes(value);
      trace?.push({ path, type: 'state', result, seen: { value: value ?? null } });
      return result;
    };
  },
};
