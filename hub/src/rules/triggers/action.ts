import { BUTTON_PRESSES, pressOf } from '@hearth/model/capabilities';
import Type from 'typebox';
import type { TriggerSpec } from '../spec.ts';
import { closed, DeviceRef } from './common.ts';

/**
 * A remote's press (the `button` capability, an event: every press fires, the same press twice
 * included), optionally only of one button and one kind of press: `{button: '2', press: 'double'}`
 * for a remote that says `2_double`. Without either, any press of the remote fires.
 */
export interface ActionTrigger {
  type: 'action';
  device: string;
  button?: string;
  press?: string;
  [field: string]: unknown;
}

export const actionTrigger: TriggerSpec<ActionTrigger> = {
  type: 'action',
  schema: Type.Object(
    {
      type: Type.Literal('action'),
      device: DeviceRef,
      button: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      press: Type.Optional(Type.Union(BUTTON_PRESSES.map((p) => Type.Literal(p)))),
    },
    closed,
  ),
  attach(def, env, fire) {
    return env.onState(def.device, 'button', (e, cause) => {
      if (typeof e.value !== 'string') return;
      const { button, press } = pressOf(e.value);
      if (def.press !== undefined && press !== def.press) return;
      if (def.button !== undefined && button !== def.button) return;
      fire({
        type: 'action',
        at: e.at,
        device: e.deviceId,
        action: e.value,
        press,
        ...(button !== undefined ? { button } : {}),
        ...(cause ? { cause } : {}),
      });
    });
  },
};
