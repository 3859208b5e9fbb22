import Type from 'typebox';
import { durationMs, DurationSchema, type Duration } from '../duration.ts';
import type { TriggerSpec } from '../spec.ts';
import { closed, DeviceRef } from './common.ts';
import { Hold } from './hold.ts';

/** A device went online or offline (optionally: and stayed so for a while). */
export interface AvailabilityTrigger {
  type: 'availability';
  device: string;
  to: 'online' | 'offline';
  for?: Duration;
  [field: string]: unknown;
}

export const availabilityTrigger: TriggerSpec<AvailabilityTrigger> = {
  type: 'availability',
  schema: Type.Object(
    {
      type: Type.Literal('availability'),
      device: DeviceRef,
      to: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
      for: Type.Optional(DurationSchema),
    },
    closed,
  ),
  attach(def, env, fire, key) {
    const want = def.to === 'online';
    const hold = new Hold(env, key, durationMs(def.for), fire);
    const off = env.onAvailability(def.device, (e) => {
      if (e.available !== want) return hold.cancel();
      hold.start({ type: 'availability', at: e.at, device: e.deviceId, available: e.available });
    });
    hold.restore(env.available(def.device) === want);
    return () => {
      off();
      hold.detach();
    };
  },
};
