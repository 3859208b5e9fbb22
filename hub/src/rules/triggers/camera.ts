import Type from 'typebox';
import type { TriggerSpec } from '../spec.ts';
import { closed } from './common.ts';

/** A camera event from the recorder (`recording.event`): motion, person, …; filters optional. */
export interface CameraTrigger {
  type: 'camera';
  camera?: string;
  kind?: string;
  [field: string]: unknown;
}

export const cameraTrigger: TriggerSpec<CameraTrigger> = {
  type: 'camera',
  schema: Type.Object(
    {
      type: Type.Literal('camera'),
      camera: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      kind: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    },
    closed,
  ),
  attach(def, env, fire) {
    return env.onCamera((e) => {
      if (def.camera !== undefined && e.cameraId !== def.camera) return;
      if (def.kind !== undefined && e.kind !== def.kind) return;
      fire({ type: 'camera', at: e.at, camera: e.cameraId, kind: e.kind });
    });
  },
};
