import Type from 'typebox';
import { durationMs, DurationSchema, type Duration } from '../duration.ts';
import type { TriggerSpec } from '../spec.ts';
import { CapabilityRef, closed, DeviceRef } from './common.ts';
import { Hold } from './hold.ts';

/**
 * A numeric reading crossed into a range (above and/or below), optionally staying there for a
 * while. Fires on the crossing only: 31, 32, 33 above 30 is one firing, not three.
 */
export interface NumericTrigger {
  type: 'numeric';
  device: string;
  capability: string;
  above?: number;
  below?: number;
  for?: Duration;
  [field: string]: unknown;
}

export function inRange(v: unknown, above: number | undefined, below: number | undefined): boolean {
  if (typeof v !== 'number') return false;
  return (above === undefined || v > above) && (below === undefined || v < below);
}

export const numericTrigger: TriggerSpec<NumericTrigger> = {
  type: 'numeric',
  schema: Type.Object(
    {
      type: Type.Literal('numeric'),
      device: DeviceRef,
      capability: CapabilityRef,
      above: Type.Optional(Type.Number()),
      below: Type.Optional(Type.Number()),
      for: Type.Optional(DurationSchema),
    },
    { ...closed, anyOf: [{ required: ['above'] }, { required: ['below'] }] },
  ),
  attach(def, env, fire, key) {
    const hold = new Hold(env, key, durationMs(def.for), fire);
    const off = env.onState(def.device, def.capability, (e, cause) => {
      const now = inRange(e.value, def.above, def.below);
      if (!now) return hold.cancel();
      if (inRange(e.previous, def.above, def.below)) return; // already inside: not a crossing
      hold.start({
        type: 'numeric',
        at: e.at,
        device: e.deviceId,
        capability: e.capability,
        value: e.value,
        previous: e.previous ?? null,
        ...(cause ? { cause } : {}),
      });
    });
    hold.restore(inRange(env.state(def.device, def.capability), def.above, def.below));
    return () => {
      off();
      hold.detach();
    };
  },
};
