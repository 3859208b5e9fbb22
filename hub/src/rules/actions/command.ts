import type { StateValue } from '@hearth/model/values';
import Type from 'typebox';
import { isHubError } from '../../core/errors.ts';
import type { ActionSpec } from '../spec.ts';
import { CapabilityRef, closed, DeviceRef, Value } from '../triggers/common.ts';

/**
 * Tells a device what to do, through `devices.command` with the rule as actor (so the audit log
 * shows which rule did it). Waits for the device to confirm; a failure fails the run unless
 * `continueOnError`.
 */
export interface CommandAction {
  type: 'command';
  device: string;
  capability: string;
  value: StateValue;
  continueOnError?: boolean;
  [field: string]: unknown;
}

export const commandAction: ActionSpec<CommandAction> = {
  type: 'command',
  schema: Type.Object(
    {
      type: Type.Literal('command'),
      device: DeviceRef,
      capability: CapabilityRef,
      value: Value,
      continueOnError: Type.Optional(Type.Boolean()),
    },
    closed,
  ),
  async run(def, x) {
    x.note({ device: def.device, capability: def.capability, value: def.value });
    try {
      await x.command(def.device, def.capability, def.value);
    } catch (err) {
      if (!def.continueOnError) throw err;
      x.note({ ignoredError: isHubError(err) ? err.code : 'internal_error' });
    }
  },
};
