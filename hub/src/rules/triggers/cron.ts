import Type from 'typebox';
import { runEvery } from '../schedule/at.ts';
import { nextCron, parseCron } from '../schedule/cron.ts';
import type { TriggerSpec } from '../spec.ts';
import { closed } from './common.ts';

/** A cron-like schedule (`*\/15 7-22 * * 1-5`) in local time; checked further on save. */
export interface CronTrigger {
  type: 'cron';
  cron: string;
  [field: string]: unknown;
}

export const cronTrigger: TriggerSpec<CronTrigger> = {
  type: 'cron',
  schema: Type.Object({ type: Type.Literal('cron'), cron: Type.String({ minLength: 9, maxLength: 200 }) }, closed),
  next(def, after) {
    const cron = parseCron(def.cron);
    return typeof cron === 'string' ? undefined : nextCron(cron, after);
  },
  attach(def, env, fire) {
    const cron = parseCron(def.cron);
    if (typeof cron === 'string') return () => {};
    const handle = runEvery(
      env.clock,
      (after) => nextCron(cron, after),
      (scheduledAt) => fire({ type: 'cron', at: env.clock.now(), scheduledAt }),
    );
    return () => handle.cancel();
  },
};
