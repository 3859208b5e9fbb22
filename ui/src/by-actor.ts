import type { Actor } from '@hearth/model/values';

/** " by ann", " by a rule", " by the hub (rules)": who did something, for a log line (empty if unknown). */
export function byActor(actor: Actor | null): string {
  if (!actor) return '';
  if (actor.kind === 'user') return ` by ${actor.username}`;
  if (actor.kind === 'rule') return ' by a rule';
  return ` by the hub (${actor.part})`;
}
