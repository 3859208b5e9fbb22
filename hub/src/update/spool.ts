import { join } from 'node:path';

/**
 * The hand-over between the hub (user hearth, NoNewPrivileges) and the privileged update helper
 * (root, `hearth-update.service`), in `DATA/update/` (docs/update.md):
 * the hub writes `package.deb` and `release.json`, then `request.json` last (the path unit starts
 * the helper when it appears); the helper answers in `status.json`. The helper trusts none of
 * it: it copies the files into its own root-only dir and checks the signature again there.
 */
export const SPOOL_DIR = 'update';
export const spoolPaths = (dataDir: string) => {
  const dir = join(dataDir, SPOOL_DIR);
  return {
    dir,
    package: join(dir, 'package.deb'),
    release: join(dir, 'release.json'),
    request: join(dir, 'request.json'),
    status: join(dir, 'status.json'),
  };
};

export interface UpdateRequest {
  id: string;
  /** The version the hub verified the release as; the helper checks it again. */
  version: string;
  from: string;
  confirmDowngrade: boolean;
  /** The backup the hub took first (DATA/backups/<id>.hbk). */
  backupId: string | null;
  requestedAt: number;
}

/** The helper's steps, in order; a rollback's steps follow a failed `start` or `health`. */
export const FORWARD_STEPS = ['accept', 'verify', 'stop', 'snapshot', 'install', 'start', 'health'] as const;
export const ROLLBACK_STEPS = [
  'rollback_stop',
  'rollback_restore',
  'rollback_install',
  'rollback_start',
  'rollback_health',
] as const;
export type UpdateStep = (typeof FORWARD_STEPS)[number] | (typeof ROLLBACK_STEPS)[number];

/**
 * `running` while a step is under way; then `done` (B healthy), `rolled_back` (B was not; A
 * runs again on the snapshot), `refused` (nothing changed: bad signature, package, version
 * step) or `failed` (the rollback itself did not come up healthy: see `error`).
 */
export type UpdateOutcome = 'running' | 'done' | 'rolled_back' | 'refused' | 'failed';

export interface UpdateStatus {
  id: string;
  from: string;
  to: string;
  state: UpdateOutcome;
  step: UpdateStep;
  /** Each step as it started, for the UI's progress. */
  steps: { step: UpdateStep; at: number }[];
  /** Why it was refused, rolled back or failed: a stable code, and a sentence. */
  error: { code: string; message: string } | null;
  /** Devices online before the update that had not come back when the check ended. */
  missingDevices: string[];
  backupId: string | null;
  startedAt: number;
  updatedAt: number;
}
