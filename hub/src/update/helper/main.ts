#!/usr/bin/env node
/**
 * `hearth-update-helper`: the privileged half of a hub update (docs/update.md), started by
 * `hearth-update.path` when the hub leaves a request in DATA/update, and at boot (to finish an
 * update a power cut interrupted). Runs one update to its end and exits 0; exit 1 when the
 * update was refused, rolled back or failed (status.json says why), 2 on a bad command line.
 *
 *   hearth-update-helper --data DIR --state DIR --keys-file F [--keys-file F...] [--config FILE]
 *       [--installer dpkg | --installer tree --root DIR]
 *       [--service systemd | --service process --launcher FILE --hub-arg A...]
 *       [--health-timeout-s N] [--devices-timeout-s N] [--max-package-mb N]
 *
 * Release keys it trusts: the key files (the package's `hub/release-keys`) and `update.releaseKeys`
 * in the hub's config file (root-owned /etc/hearth/hearth.json), never anything the hub sends.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readKeysFile } from '../release.ts';
import { DpkgInstaller, TreeInstaller, type Installer } from './installers.ts';
import { runHelper } from './run.ts';
import { ProcessControl, SystemdControl, type ServiceControl } from './service-control.ts';

function usage(message: string): never {
  process.stderr.write(`hearth-update-helper: ${message}\n`);
  process.exit(2);
}

let v: Record<string, string | string[] | undefined>;
try {
  v = parseArgs({
    options: {
      data: { type: 'string' },
      state: { type: 'string' },
      'keys-file': { type: 'string', multiple: true },
      config: { type: 'string' },
      installer: { type: 'string', default: 'dpkg' },
      root: { type: 'string' },
      service: { type: 'string', default: 'systemd' },
      launcher: { type: 'string' },
      'hub-arg': { type: 'string', multiple: true },
      'health-timeout-s': { type: 'string', default: '180' },
      'devices-timeout-s': { type: 'string', default: '120' },
      'max-package-mb': { type: 'string', default: '512' },
    },
    strict: true,
  }).values as Record<string, string | string[] | undefined>;
} catch (err) {
  usage((err as Error).message);
}
const str = (k: string): string | undefined => v[k] as string | undefined;
const num = (k: string): number => {
  const n = Number(str(k));
  if (!Number.isFinite(n) || n <= 0) usage(`--${k} must be a positive number`);
  return n;
};
if (!str('data') || !str('state')) usage('--data and --state are needed');
const keys = ((v['keys-file'] as string[] | undefined) ?? []).flatMap((f) => readKeysFile(resolve(f)));
if (str('config')) {
  try {
    const c = JSON.parse(readFileSync(resolve(str('config')!), 'utf8')) as { update?: { releaseKeys?: unknown } };
    if (Array.isArray(c.update?.releaseKeys))
      keys.push(...c.update.releaseKeys.filter((k): k is string => typeof k === 'string'));
  } catch {
    // no config file, or not JSON: the hub refuses to start on it anyway; the key files count
  }
}
let installer: Installer;
if (str('installer') === 'tree') {
  if (!str('root')) usage('--installer tree needs --root DIR');
  installer = new TreeInstaller(resolve(str('root')!));
} else if (str('installer') === 'dpkg') installer = new DpkgInstaller(resolve(str('state')!));
else usage('--installer is dpkg or tree');
let service: ServiceControl;
if (str('service') === 'process') {
  if (!str('launcher')) usage('--service process needs --launcher FILE');
  service = new ProcessControl({
    launcher: resolve(str('launcher')!),
    args: (v['hub-arg'] as string[] | undefined) ?? [],
    dataDir: resolve(str('data')!),
    logFile: resolve(str('state')!, 'hub.log'),
  });
} else if (str('service') === 'systemd') service = new SystemdControl();
else usage('--service is systemd or process');

const status = await runHelper({
  dataDir: resolve(str('data')!),
  stateDir: resolve(str('state')!),
  trustedKeys: keys,
  installer,
  service,
  maxPackageBytes: num('max-package-mb') * 1024 * 1024,
  healthTimeoutMs: num('health-timeout-s') * 1000,
  devicesTimeoutMs: num('devices-timeout-s') * 1000,
});
process.exit(!status || status.state === 'done' ? 0 : 1);
