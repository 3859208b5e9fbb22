import Type from 'typebox';
import type { TriggerSpec } from '../spec.ts';
import { closed, DeviceRef } from './common.ts';

/**
 * An appliance cycle of a device began or ended, as the energy part finds it from the device's
 * power (hub/src/energy/cycles.ts): "the washing machine is done" is `cycle_finished`. A cycle
 * ends after 5 quiet minutes, so `cycle_finished` fires 5 minutes after the power dropped; the
 * event carries its start, end, energy and peak.
 */
export interface CycleTrigger {
  type: 'cycle_started' | 'cycle_finished';
  device: string;
  [field: string]: unknown;
}

function cycleTrigger(type: CycleTrigger['type']): TriggerSpec<CycleTrigger> {
  const phase = type === 'cycle_started' ? 'started' : 'finished';
  return {
    type,
    schema: Type.Object({ type: Type.Literal(type), device: DeviceRef }, closed),
    attach(def, env, fire) {
      return env.onCycle(def.device, (e) => {
        if (e.phase !== phase) return;
        fire({
          type,
          at: e.at,
          device: e.deviceId,
          start: e.start,
          ...(e.end === undefined ? {} : { end: e.end, energyWh: e.energyWh, peakW: e.peakW }),
        });
      });
    },
  };
}

export const cycleStartedTrigger = cycleTrigger('cycle_started');
export const cycleFinishedTrigger = cycleTrigger('cycle_finished');
