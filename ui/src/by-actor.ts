import type { Actor } from '@hearth/model/values';

/**
 * " by ann", " by a rule", " by the hub (rules)": who did something, for a log line (empty if
 * unknown). A guest's log names only the guest: anyone else comes with their kind alone (" by someone").
 */
export function byActor(actor: Actor | null): string {
  if (!actor) return '';
  if (actor.kind === 'user') return actor.username ? ` by ${actor.username}` : ' by someone';
  if (actor.kind === 'rule') return ' by a rule';
  return actor.part ? ` by the hub (${actor.part})` : ' by the hub';
}
