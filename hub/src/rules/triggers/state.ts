import type { StateValue } from '@hearth/model/values';
import Type from 'typebox';
import { durationMs, DurationSchema, type Duration } from '../duration.ts';
import type { TriggerSpec } from '../spec.ts';
import { CapabilityRef, closed, DeviceRef, Value } from './common.ts';
import { Hold } from './hold.ts';

/**
 * A device capability changed (`from` → `to`, either optional), optionally staying at `to` for a
 * while. Buttons, motion and contact sensors are state triggers on those capabilities.
 */
export interface StateTrigger {
  type: 'state';
  device: string;
  capability: string;
  from?: StateValue;
  to?: StateValue;
  for?: Duration;
  [field: string]: unknown;
}

export const stateTrigger: TriggerSpec<StateTrigger> = {
  type: 'state',
  schema: Type.Object(
    {
      type: Type.Literal('state'),
      device: DeviceRef,
      capability: CapabilityRef,
      from: Type.Optional(Value),
      to: Type.Optional(Value),
      for: Type.Optional(DurationSchema),
    },
    closed,
  ),
  attach(def, env, fire, key) {
    const hold = new Hold(env, key, durationMs(def.for), fire);
    const off = env.onState(def.device, def.capability, (e, cause) => {
      // The registry emits only real changes, so any event ends the previous hold.
      hold.cancel();
      if (def.to !== undefined && e.value !== def.to) return;
      if (def.from !== undefined && e.previous !== def.from) return;
      hold.start({
        type: 'state',
        at: e.at,
        device: e.deviceId,
        capability: e.capability,
        value: e.value,
        previous: e.previous ?? null,
        ...(cause ? { cause } : {}),
      });
    });
    hold.restore(def.to === undefined || env.state(def.device, def.capability) === def.to);
    return () => {
      off();
      hold.detach();
    };
  },
};
