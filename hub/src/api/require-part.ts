import { HubError } from '../core/errors.ts';
import type { ApiBackup, ApiDeps } from './deps.ts';

/** The parts a hub may run without (API tests, no coordinator, no relay), and what a 503 says then. */
const ABSENT = {
  plugs: 'plug support is not running',
  zigbee: 'no Zigbee coordinator is configured (--zigbee PORT)',
  history: 'history is not running',
  energy: 'energy insight is not running',
  rules: 'rules are not running',
  recorder: 'the recorder is not running',
  remote: 'remote access is not running',
  backup: 'backups are not available',
  update: 'self-update is not available',
  transport: 'transport settings are not available',
} as const;

export type OptionalPart = keyof typeof ABSENT;

/**
 * The one guard for an optional part: the part, or 503 `not_ready` when the hub runs without it.
 * Called per request, not at registration, so a part is looked up when it is used.
 */
export function requirePart<K extends OptionalPart>(deps: ApiDeps, part: K): NonNullable<ApiDeps[K]> {
  const value = deps[part];
  if (value === undefined || value === null) throw new HubError('not_ready', ABSENT[part]);
  return value as NonNullable<ApiDeps[K]>;
}

/** The backup part's own optional pieces, and what a 503 says without them. */
const ABSENT_IN_BACKUP = {
  schedule: 'scheduled backups are not available',
  firstRun: 'restore is not available',
} as const;

/** The same guard one level down: the backup part's schedule or first-run restore, or 503 `not_ready`. */
export function requireBackupPart<K extends keyof typeof ABSENT_IN_BACKUP>(
  deps: ApiDeps,
  part: K,
): NonNullable<ApiBackup[K]> {
  const value = requirePart(deps, 'backup')[part];
  if (value === undefined || value === null) throw new HubError('not_ready', ABSENT_IN_BACKUP[part]);
  return value as NonNullable<ApiBackup[K]>;
}
