import type { StateValue } from '@hearth/model/values';
import Type from 'typebox';
import { isHubError } from '../../core/errors.ts';
import type { ActionSpec } from '../spec.ts';
import { CapabilityRef, closed, DeviceRef, Value } from '../triggers/common.ts';

/**
 * A set of device states applied together ("movie": lamps dim, TV plug on): a saved scene by id
 * (`scene`) or the states inline (`states`). The commands go out
 * at once rather than one after another, so six lamps change together; each outcome is traced.
 * The run fails if any failed, after all were tried.
 */
export interface SceneAction {
  type: 'scene';
  scene?: string;
  states?: { device: string; capability: string; value: StateValue }[];
  [field: string]: unknown;
}

export const SceneState = Type.Object({ device: DeviceRef, capability: CapabilityRef, value: Value }, closed);

export const sceneAction: ActionSpec<SceneAction> = {
  type: 'scene',
  schema: Type.Object(
    {
      type: Type.Literal('scene'),
      scene: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      states: Type.Optional(Type.Array(SceneState, { minItems: 1, maxItems: 64 })),
    },
    { ...closed, oneOf: [{ required: ['scene'] }, { required: ['states'] }] },
  ),
  async run(def, x) {
    // A saved scene is read when the action runs: editing the scene changes what rules do.
    const states = def.states ?? x.scene(def.scene!);
    const outcomes = await Promise.allSettled(states.map((s) => x.command(s.device, s.capability, s.value)));
    const results = outcomes.map((o, i) => ({
      ...states[i]!,
      result: o.status === 'fulfilled' ? 'ok' : isHubError(o.reason) ? o.reason.code : 'internal_error',
    }));
    x.note({ states: results });
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
  },
};
