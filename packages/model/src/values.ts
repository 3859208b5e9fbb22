/** A capability's value as devices report it, commands carry it and the API answers it. */
export type StateValue = boolean | number | string | null;

/**
 * What a person may do on the hub, highest first. `installer`: sets the home up before its owner
 * exists, then hands it over (hub/src/auth/handover.ts). Ranked with admin for what it may do;
 * only valid until the owner accepts, or while a support grant lasts.
 */
export type Role = 'owner' | 'admin' | 'member' | 'guest' | 'installer';

/** The roles a person can be given in the app (an installer comes only with the handover). */
export type GrantableRole = Exclude<Role, 'installer'>;

/** Who did something: a person, a rule, a driver or the hub itself. Carried into the audit log. */
export type Actor =
  | { kind: 'user'; userId: string; username: string; role: Role; token?: ApiTokenActor }
  | { kind: 'rule'; ruleId: string }
  | { kind: 'system'; part: string };

/**
 * What a key for scripts (hub/src/auth/api-tokens.ts) may do: `read` looks, `control` also
 * commands devices and runs scenes as a member may, `admin` also changes the home as an admin may.
 * Never more than its person's role.
 */
export type ApiTokenScope = 'read' | 'control' | 'admin';

/**
 * A request made with a key for scripts: the person's actor carries the key's id and name (the
 * audit log shows both), its scope and, when it has one, the only devices it reaches.
 */
export interface ApiTokenActor {
  id: string;
  name: string;
  scope: ApiTokenScope;
  devices?: readonly string[];
}
