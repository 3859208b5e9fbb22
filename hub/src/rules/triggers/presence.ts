import Type from 'typebox';
import type { TriggerSpec } from '../spec.ts';
import { closed } from './common.ts';

/**
 * Presence (devices/presence.ts): the home becomes `someone_home` or `everyone_away`, or one person
 * (`user`) becomes `home` or `away`. Fires on the change only, not while it stays so.
 */
export interface PresenceTrigger {
  type: 'presence';
  to?: 'someone_home' | 'everyone_away';
  user?: string;
  state?: 'home' | 'away';
  [field: string]: unknown;
}

export const PresenceSchema = Type.Union([
  Type.Object(
    { type: Type.Literal('presence'), to: Type.Union([Type.Literal('someone_home'), Type.Literal('everyone_away')]) },
    closed,
  ),
  Type.Object(
    {
      type: Type.Literal('presence'),
      user: Type.String({ minLength: 1, maxLength: 64 }),
      state: Type.Union([Type.Literal('home'), Type.Literal('away')]),
    },
    closed,
  ),
]);

export const presenceTrigger: TriggerSpec<PresenceTrigger> = {
  type: 'presence',
  schema: PresenceSchema,
  attach(def, env, fire) {
    let home = env.presence?.().home;
    return env.onPresence((e) => {
      const before = home;
      home = e.home;
      if (def.user !== undefined) {
        if (e.userId === def.user && e.state === def.state)
          fire({ type: 'presence', at: e.at, user: e.userId, state: e.state, home: e.home });
        return;
      }
      if (e.home === def.to && before !== def.to) fire({ type: 'presence', at: e.at, home: e.home, user: e.userId });
    });
  },
};
