import Type from 'typebox';
import type { ActionSpec } from '../spec.ts';
import { closed } from '../triggers/common.ts';

/** Keeps an event clip of a camera: its pre-roll plus `seconds` from now. Does not wait for it. */
export interface CameraClipAction {
  type: 'camera_clip';
  camera: string;
  seconds: number;
  [field: string]: unknown;
}

export const cameraClipAction: ActionSpec<CameraClipAction> = {
  type: 'camera_clip',
  schema: Type.Object(
    {
      type: Type.Literal('camera_clip'),
      camera: Type.String({ minLength: 1, maxLength: 64 }),
      seconds: Type.Integer({ minimum: 1, maximum: 600 }),
    },
    closed,
  ),
  async run(def, x) {
    x.note({ camera: def.camera, seconds: def.seconds });
    x.cameraClip(def.camera, def.seconds);
  },
};
