import type { ActionSpec } from '../spec.ts';
import { cameraClipAction } from './camera-clip.ts';
import { chooseAction } from './choose.ts';
import { commandAction } from './command.ts';
import { delayAction } from './delay.ts';
import { ifAction } from './if.ts';
import { notifyAction } from './notify.ts';
import { repeatAction } from './repeat.ts';
import { sceneAction } from './scene.ts';
import { disableRuleAction, enableRuleAction } from './rule-toggle.ts';
import { stopAction } from './stop.ts';
import { waitAction } from './wait.ts';

/** Every action type by name. */
export const ACTIONS = new Map<string, ActionSpec>(
  (
    [
      commandAction,
      delayAction,
      waitAction,
      ifAction,
      chooseAction,
      repeatAction,
      notifyAction,
      enableRuleAction,
      disableRuleAction,
      stopAction,
      sceneAction,
      cameraClipAction,
    ] as ActionSpec[]
  ).map((a) => [a.type, a]),
);
