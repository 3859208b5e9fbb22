/** A capability's value as devices report it, commands carry it and the API answers it. */
export type StateValue = boolean | number | string | null;

/**
 * What a person may do on the hub, highest first. `installer`: sets the home up before its owner
 * exists, then hands it over (hub/src/auth/handover.ts). Ranked with admin for what it may do;
 * only valid until the owner accepts, or while a support grant lasts.
 */
export type Role = 'owner' | 'admin' | 'member' | 'guest' | 'installer';

/** Who did something: a person, a rule, a driver or the hub itself. Carried into the audit log. */
export type Actor =
  | { kind: 'user'; userId: string; username: string; role: Role }
  | { kind: 'rule'; ruleId: string }
  | { kind: 'system'; part: string };
