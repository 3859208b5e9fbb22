import type { ConditionSpec } from '../spec.ts';
import { PresenceSchema } from '../triggers/presence.ts';

/**
 * The home is `someone_home` / `everyone_away` now (`to`), or one person is `home` / `away`
 * (`user`, `state`). Where presence is not known (a dry run) it is false.
 */
export interface PresenceCondition {
  type: 'presence';
  to?: 'someone_home' | 'everyone_away';
  user?: string;
  state?: 'home' | 'away';
  [field: string]: unknown;
}

export const presenceCondition: ConditionSpec<PresenceCondition> = {
  type: 'presence',
  schema: PresenceSchema,
  compile(def, path, env) {
    return (trace) => {
      const view = env.presence?.();
      const seen = def.user !== undefined ? (view?.of(def.user) ?? null) : (view?.home ?? null);
      const result = seen !== null && seen === (def.user !== undefined ? def.state : def.to);
      trace?.push({ path, type: 'presence', result, seen: { presence: seen } });
      return result;
    };
  },
};
