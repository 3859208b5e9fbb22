import type { TriggerSpec } from '../spec.ts';
import { actionTrigger } from './action.ts';
import { availabilityTrigger } from './availability.ts';
import { cameraTrigger } from './camera.ts';
import { cronTrigger } from './cron.ts';
import { cycleFinishedTrigger, cycleStartedTrigger } from './cycle.ts';
import { hubStartTrigger } from './hub-start.ts';
import { numericTrigger } from './numeric.ts';
import { presenceTrigger } from './presence.ts';
import { stateTrigger } from './state.ts';
import { sunTrigger } from './sun.ts';
import { timeTrigger } from './time.ts';

/** Every trigger type by name. */
export const TRIGGERS = new Map<string, TriggerSpec>(
  (
    [
      stateTrigger,
      actionTrigger,
      numericTrigger,
      timeTrigger,
      cronTrigger,
      sunTrigger,
      availabilityTrigger,
      hubStartTrigger,
      cameraTrigger,
      presenceTrigger,
      cycleStartedTrigger,
      cycleFinishedTrigger,
    ] as TriggerSpec[]
  ).map((t) => [t.type, t]),
);
