import Type from 'typebox';
import type { ActionSpec } from '../spec.ts';
import { closed } from '../triggers/common.ts';

/** A message to the event log (the audit log and the events WebSocket); push comes with the relay. */
export interface NotifyAction {
  type: 'notify';
  message: string;
  level?: 'info' | 'warning' | 'alert';
  [field: string]: unknown;
}

export const notifyAction: ActionSpec<NotifyAction> = {
  type: 'notify',
  schema: Type.Object(
    {
      type: Type.Literal('notify'),
      message: Type.String({ minLength: 1, maxLength: 1000 }),
      level: Type.Optional(Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('alert')])),
    },
    closed,
  ),
  async run(def, x) {
    // In the trace too, so a dry run shows what would have been said.
    x.note({ message: def.message, level: def.level ?? 'info' });
    x.notify(def.message, def.level ?? 'info');
  },
};
