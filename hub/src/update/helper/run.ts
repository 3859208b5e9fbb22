import {
  closeSync,
  constants,
  createReadStream,
  createWriteStream,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { HubError, isHubError } from '../../core/errors.ts';
import {
  checkPackage,
  checkVersionStep,
  parseReleaseFile,
  RELEASE_FILE_MAX_BYTES,
  verifyRelease,
  type ReleaseManifest,
} from '../release.ts';
import { spoolPaths, type UpdateRequest, type UpdateStatus, type UpdateStep } from '../spool.ts';
import { crashPoint } from './crash-points.ts';
import { giveBackToOwner, takeOnlineDevices, waitDevicesBack, waitHealthy } from './checks.ts';
import type { Installer } from './installers.ts';
import type { ServiceControl } from './service-control.ts';
import { copyFileNoFollow, writeFileNoFollow } from './safe-fs.ts';
import { fsyncDir, readJson, writeJsonDurable } from './state-file.ts';

export interface HelperOptions {
  dataDir: string;
  /** The helper's own dir (root only): state file, copies of the package, the database snapshot. */
  stateDir: string;
  trustedKeys: string[];
  installer: Installer;
  service: ServiceControl;
  /** Largest package accepted (the hub bounds its upload the same way). */
  maxPackageBytes: number;
  healthTimeoutMs: number;
  devicesTimeoutMs: number;
  log?: (entry: Record<string, unknown>) => void;
}

/** What the state file holds: the status the hub shows, plus what resuming needs. */
interface HelperState extends UpdateStatus {
  request: UpdateRequest;
  manifest: ReleaseManifest | null;
  onlineBefore: string[] | null;
}

const NEXT: Partial<Record<UpdateStep, UpdateStep>> = {
  accept: 'verify',
  verify: 'stop',
  stop: 'snapshot',
  snapshot: 'install',
  install: 'start',
  start: 'health',
  rollback_stop: 'rollback_restore',
  rollback_restore: 'rollback_install',
  rollback_install: 'rollback_start',
  rollback_start: 'rollback_health',
};

/**
 * The privileged update helper (docs/update.md "The helper"), one run: picks up the hub's
 * request from the spool, or resumes the update its state file says was under way (a kill -9 or a
 * power cut at any step), and carries it to an end:
 *
 *   accept → verify → stop → snapshot → install → start → health      → done
 *                                          ↘ (install, start or health failed)
 *              rollback_stop → rollback_restore → rollback_install → rollback_start → rollback_health → rolled_back
 *
 * Before `stop` nothing has changed: a refusal there (`refused`) leaves the hub running as it
 * was. Each step is written to the state file (fsynced) before it runs and is safe to run again,
 * so a resumed helper runs the recorded step again. Returns the final status, or undefined when
 * there was nothing to do.
 */
export async function runHelper(o: HelperOptions): Promise<UpdateStatus | undefined> {
  const spool = spoolPaths(o.dataDir);
  const statePath = join(o.stateDir, 'state.json');
  mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
  let s = readJson<HelperState>(statePath);
  if (s?.state !== 'running') {
    const request = readRequest(spool.request);
    if (!request) return undefined;
    const now = Date.now();
    s = {
      id: request.id,
      from: request.from,
      to: request.version,
      state: 'running',
      step: 'accept',
      steps: [],
      error: null,
      missingDevices: [],
      backupId: request.backupId,
      startedAt: now,
      updatedAt: now,
      request,
      manifest: null,
      onlineBefore: null,
    };
  }
  const log = o.log ?? ((e) => process.stdout.write(`${JSON.stringify({ time: Date.now(), ...e })}\n`));
  const work = join(o.stateDir, 'work');
  const snapshot = join(o.stateDir, 'snapshot');

  const save = (): void => {
    s!.updatedAt = Date.now();
    writeJsonDurable(statePath, s);
    publishStatus(o.dataDir, s!);
  };
  const fail = (state: 'refused' | 'failed', err: unknown): void => {
    s!.state = state;
    s!.error = errorOf(err);
    save();
    log({ msg: `update ${state}`, id: s!.id, step: s!.step, error: s!.error });
  };

  while (s.state === 'running') {
    const step = s.step;
    s.steps.push({ step, at: Date.now() });
    save();
    log({ msg: 'update step', id: s.id, step, from: s.from, to: s.to });
    crashPoint(step);
    try {
      switch (step) {
        case 'accept':
          mkdirSync(work, { recursive: true, mode: 0o700 });
          await copyNoFollow(spool.release, join(work, 'release.json'), RELEASE_FILE_MAX_BYTES * 2);
          await copyNoFollow(spool.package, join(work, 'package.deb'), o.maxPackageBytes);
          break;
        case 'verify': {
          // Taken: the copies in the helper's dir are what counts from here on.
          rmSync(spool.request, { force: true });
          rmSync(spool.package, { force: true });
          const manifest = verifyRelease(parseReleaseFile(readFileSync(join(work, 'release.json'))), o.trustedKeys);
          if (manifest.version !== s.request.version)
            throw new HubError(
              'update_release_invalid',
              `the hub asked for ${s.request.version}; the release is ${manifest.version}`,
              { reason: 'version' },
            );
          await checkPackage(join(work, 'package.deb'), manifest);
          const installed = await o.installer.installedVersion();
          if (installed) s.from = installed;
          checkVersionStep(s.from, manifest, s.request.confirmDowngrade);
          await o.installer.prepareRollback(s.from);
          s.manifest = manifest;
          break;
        }
        case 'stop':
        case 'rollback_stop':
          await o.service.stop();
          break;
        case 'snapshot':
          if (s.onlineBefore === null) {
            s.onlineBefore = takeOnlineDevices(o.dataDir);
            save();
          }
          takeSnapshot(o.dataDir, snapshot);
          break;
        case 'install':
          await o.installer.install(join(work, 'package.deb'), s.to, s.manifest!.package.sha256);
          break;
        case 'start':
        case 'rollback_start':
          await o.service.start();
          break;
        case 'health':
        case 'rollback_health': {
          const version = step === 'health' ? s.to : s.from;
          const unhealthy = await waitHealthy(o.dataDir, version, o.healthTimeoutMs);
          if (unhealthy)
            throw new HubError(
              'update_unhealthy',
              `version ${version} did not come up healthy within ${Math.round(o.healthTimeoutMs / 1000)} s: ${unhealthy}`,
              { version },
            );
          const missing = await waitDevicesBack(o.dataDir, s.onlineBefore ?? [], o.devicesTimeoutMs);
          s.missingDevices = missing;
          // Devices missing after a rollback are reported, not a reason to fail it: the old
          // version is the one to be on either way.
          if (missing.length > 0 && step === 'health')
            throw new HubError(
              'update_devices_missing',
              `${missing.length} of ${s.onlineBefore?.length} devices did not come back within ${Math.round(o.devicesTimeoutMs / 1000)} s`,
              { missing },
            );
          break;
        }
        case 'rollback_restore':
          restoreSnapshot(o.dataDir, snapshot);
          break;
        case 'rollback_install':
          await o.installer.rollback(s.from);
          break;
      }
    } catch (err) {
      if (step === 'accept' || step === 'verify') {
        rmSync(spool.request, { force: true });
        fail('refused', err);
        rmSync(work, { recursive: true, force: true });
      } else if (step === 'install' || step === 'start' || step === 'health') {
        s.error = errorOf(err);
        log({ msg: 'update failed; rolling back', id: s.id, step, error: s.error });
        s.step = 'rollback_stop';
      } else if (step === 'rollback_health') {
        fail('failed', err);
      } else if (step === 'stop' || step === 'snapshot') {
        // Nothing installed yet: the old version starts again as it was.
        s.error = errorOf(err);
        await o.service.start().catch(() => undefined);
        fail('failed', err);
      } else {
        // A rollback step that cannot be done: say so and stop; the next run tries it again.
        fail('failed', err);
      }
      continue;
    }
    if (step === 'health') {
      await o.installer.committed(join(work, 'package.deb'), s.to, s.from);
      s.state = 'done';
    } else if (step === 'rollback_health') {
      s.state = 'rolled_back';
    } else {
      s.step = NEXT[step]!;
      continue;
    }
    save();
    rmSync(work, { recursive: true, force: true });
    rmSync(snapshot, { recursive: true, force: true });
    log({ msg: `update ${s.state}`, id: s.id, from: s.from, to: s.to, error: s.error });
  }
  return publicStatus(s);
}

function errorOf(err: unknown): { code: string; message: string } {
  return isHubError(err)
    ? { code: err.code, message: err.message }
    : { code: 'update_step_failed', message: (err as Error)?.message ?? String(err) };
}

function publicStatus(s: HelperState): UpdateStatus {
  const { request: _r, manifest: _m, onlineBefore: _o, ...status } = s;
  return status;
}

/** The status for the hub to read: in its spool, owned by the data dir's owner. */
function publishStatus(dataDir: string, s: HelperState): void {
  const spool = spoolPaths(dataDir);
  mkdirSync(spool.dir, { recursive: true, mode: 0o700 });
  // In the hub's own dir: never through a link it may have put there (safe-fs.ts).
  const { uid, gid } = statSync(dataDir);
  writeFileNoFollow(spool.status, `${JSON.stringify(publicStatus(s), null, 1)}\n`, { uid, gid });
}

function readRequest(path: string): UpdateRequest | undefined {
  try {
    if (!lstatSync(path).isFile()) return undefined;
  } catch {
    return undefined;
  }
  const r = readJson<Partial<UpdateRequest>>(path);
  if (!r || typeof r.id !== 'string' || typeof r.version !== 'string' || typeof r.from !== 'string') {
    rmSync(path, { force: true });
    return undefined;
  }
  return {
    id: r.id.slice(0, 64),
    version: r.version,
    from: r.from,
    confirmDowngrade: r.confirmDowngrade === true,
    backupId: typeof r.backupId === 'string' ? r.backupId : null,
    requestedAt: Number(r.requestedAt) || Date.now(),
  };
}

/**
 * Copies a file the hub (another user) wrote, into the helper's own dir: never through a
 * symbolic link (O_NOFOLLOW: the hub must not get root to read /etc/shadow for it), only a
 * regular file, at most `max` bytes. What is verified afterwards is this copy, which the hub
 * cannot change any more.
 */
async function copyNoFollow(from: string, to: string, max: number): Promise<void> {
  let fd: number;
  try {
    fd = openSync(from, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw new HubError('update_package_missing', `${from} is missing or not a plain file`, undefined, { cause: err });
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new HubError('update_package_missing', `${from} is not a plain file`);
  }
  if (st.size > max) {
    closeSync(fd);
    throw new HubError('update_package_too_large', `${from} is larger than ${max} bytes`);
  }
  await pipeline(createReadStream('', { fd, end: max - 1 }), createWriteStream(`${to}.tmp`, { mode: 0o600 }));
  renameSync(`${to}.tmp`, to);
}

const DB_FILES = ['hearth.db', 'hearth.db-wal'];

function lstatExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The stopped hub's database, copied whole (with its WAL, if the stop left one) into `dir`. */
function takeSnapshot(dataDir: string, dir: string): void {
  if (existsSync(join(dir, 'complete'))) return;
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true, mode: 0o700 });
  // Only the database's own files: a link the hub put in their place is refused, not followed
  // (its target would come back into the hub's dir at a rollback).
  for (const name of DB_FILES)
    if (existsSync(join(dataDir, name)) || lstatExists(join(dataDir, name)))
      copyFileNoFollow(join(dataDir, name), join(partial, name));
  writeFileNoFollow(join(partial, 'complete'), '');
  fsyncDir(partial);
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  fsyncDir(join(dir, '..'));
}

/**
 * Puts the snapshot back: each file copied beside its target and renamed over it; the new
 * version's -wal/-shm go (they belong to its database, not this one). Running it twice is the
 * same as once.
 */
function restoreSnapshot(dataDir: string, dir: string): void {
  if (!existsSync(join(dir, 'complete'))) throw new HubError('update_step_failed', 'the database snapshot is missing');
  for (const name of ['hearth.db-wal', 'hearth.db-shm']) rmSync(join(dataDir, name), { force: true });
  const { uid, gid } = statSync(dataDir);
  for (const name of DB_FILES) {
    if (!existsSync(join(dir, name))) continue;
    // A fresh file (O_EXCL), given to the hub's user: a link planted at the temp name is not followed.
    copyFileNoFollow(join(dir, name), join(dataDir, `${name}.rollback.tmp`), { uid, gid });
    renameSync(join(dataDir, `${name}.rollback.tmp`), join(dataDir, name));
  }
  fsyncDir(dataDir);
  giveBackToOwner(dataDir);
}
