import Type from 'typebox';
import type { ActionSpec } from '../spec.ts';
import { closed } from '../triggers/common.ts';
import { StopRun } from './wait.ts';

/** Ends the run here (inside an if/choose: "otherwise do nothing more"). */
export const stopAction: ActionSpec = {
  type: 'stop',
  schema: Type.Object({ type: Type.Literal('stop'), reason: Type.Optional(Type.String({ maxLength: 200 })) }, closed),
  async run(def) {
    throw new StopRun(typeof def.reason === 'string' ? def.reason : 'stopped');
  },
};
