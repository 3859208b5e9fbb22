import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/core/data-dir.ts';
import { waitHealthy } from '../../src/update/helper/checks.ts';
import { generateReleaseKey } from '../../src/update/release.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { pollUntil } from '../helpers/poll.ts';
import { tempDir } from '../helpers/temp.ts';
import { buildHubDeb, freePort, HELPER, readStatus, release, spoolRequest, type HelperRun } from './fixtures.ts';

/**
 * The helper's real `dpkg` installer (docs/update.md): `dpkg -i`, `dpkg-query`, the kept package
 * of the previous version and `dpkg -i --force-downgrade` for the rollback, on real packages of
 * this hub. dpkg must not touch the shared build machine, so everything runs in a throwaway root:
 * a mount namespace (`unshare --mount`) holding an overlay of `/` (writes land in the test's temp
 * dir, the machine's own dpkg database and /usr are never changed) entered with `nsenter` +
 * `chroot`; the test's dir is bound into it at the same path, so the data dir is shared. The hub
 * runs as a plain process (`--service process`): there is no systemd to run `hearth.service` here
 * (PID 1 is not systemd, no systemd-nspawn), so `SystemdControl` stays untested (docs/update.md).
 * Needs root (mount, chroot); skipped otherwise.
 */

function canIsolate(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  const probe = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']);
  return probe.status === 0 ? null : 'unshare --mount is not available';
}
const SKIP = canIsolate();

describe.skipIf(SKIP !== null)('update helper: the dpkg installer on real packages (isolated root)', () => {
  let tmp: { dir: string; cleanup: () => void };
  let shared: string, merged: string, data: string, state: string, keysFile: string;
  let holder: ChildProcess | undefined;
  let hubArgs: string[];
  let httpPort: number;
  const key = generateReleaseKey();
  const debs: Record<string, string> = {};
  const baseUrl = () => `http://127.0.0.1:${httpPort}`;

  /** A command inside the throwaway root. */
  const inRoot = (cmd: string[]) => ['nsenter', '-t', String(holder!.pid), '-m', '--', 'chroot', merged, ...cmd];
  const sh = (cmd: string[]) => {
    const [bin, ...args] = inRoot(cmd);
    const r = spawnSync(bin!, args, { encoding: 'utf8', timeout: 300_000 });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  };
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not a template.
  const installed = () => sh(['dpkg-query', '-W', '-f', '${Version}', 'hearth']).out.trim();
  const helper = (): Promise<HelperRun> => {
    const [bin, ...args] = inRoot([
      process.execPath,
      HELPER,
      '--data',
      data,
      '--state',
      state,
      '--keys-file',
      keysFile,
      '--installer',
      'dpkg',
      '--service',
      'process',
      '--launcher',
      '/usr/lib/hearth/bin/hearth-hub',
      ...hubArgs.map((a) => `--hub-arg=${a}`),
      '--health-timeout-s',
      '60',
      '--devices-timeout-s',
      '30',
    ]);
    const child = spawn(bin!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, output })));
  };
  const hubPid = () => Number(readFileSync(join(data, 'hub.pid'), 'utf8').trim());
  const usernames = () => {
    const db = new Database(join(data, 'hearth.db'), { readonly: true });
    try {
      return db.prepare('SELECT username FROM users ORDER BY username').pluck().all();
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    tmp = tempDir('hearth-update-dpkg-');
    shared = join(tmp.dir, 'shared');
    merged = join(tmp.dir, 'ovl', 'merged');
    for (const d of [shared, merged, join(tmp.dir, 'ovl', 'upper'), join(tmp.dir, 'ovl', 'work')])
      mkdirSync(d, { recursive: true });
    for (const v of ['1.0.0', '1.1.0']) debs[v] = await buildHubDeb(shared, v);
    debs['1.2.0'] = await buildHubDeb(shared, '1.2.0', true);
    data = join(shared, 'data');
    state = join(shared, 'state');
    keysFile = join(shared, 'release-keys');
    writeFileSync(keysFile, `${key.publicB64}\n`);

    // The throwaway root: an overlay of / in a mount namespace kept alive by `sleep`.
    const ovl = join(tmp.dir, 'ovl');
    holder = spawn(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        [
          `mount -t overlay overlay -o lowerdir=/,upperdir=${ovl}/upper,workdir=${ovl}/work ${merged}`,
          `mount -t proc proc ${merged}/proc`,
          `mount --rbind /dev ${merged}/dev`,
          `mount --rbind /sys ${merged}/sys`,
          `mount --bind ${shared} ${merged}${shared}`,
          'echo ready',
          'exec sleep 3600',
        ].join(' && '),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      holder!.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      holder!.once('exit', (code) => reject(new Error(`the isolated root did not come up (${code})`)));
    });

    // Version A installed by hand with dpkg, and running.
    const a = sh(['dpkg', '-i', debs['1.0.0']!]);
    expect(a.code, a.out).toBe(0);
    expect(installed()).toBe('1.0.0');
    // The machine's own dpkg never saw it.
    expect(spawnSync('dpkg-query', ['-W', 'hearth']).status).not.toBe(0);
    httpPort = await freePort();
    hubArgs = [
      '--data',
      data,
      '--http-port',
      String(httpPort),
      '--mqtt-port',
      String(await freePort()),
      '--mqtts-port',
      '0',
      '--https-port',
      '0',
      '--host',
      '127.0.0.1',
      '--mdns',
      'off',
    ];
    const log = openSync(join(shared, 'a.log'), 'a');
    const [bin, ...args] = inRoot(['/usr/lib/hearth/bin/hearth-hub', ...hubArgs]);
    spawn(bin!, args, { stdio: ['ignore', log, log], detached: true }).unref();
    closeSync(log);
    const healthy = await waitHealthy(data, '1.0.0', 90_000);
    expect(healthy, readFileSync(join(shared, 'a.log'), 'utf8').slice(-2000)).toBeNull();
    await setupOwner({ baseUrl: baseUrl(), dataDir: data });
  }, 300_000);

  afterAll(async () => {
    try {
      const pid = hubPid();
      if (isAlive(pid)) process.kill(pid, 'SIGTERM');
      await pollUntil('hub gone', async () => !isAlive(pid) || undefined, 20_000);
    } catch {
      // no hub running
    }
    holder?.kill('SIGKILL');
    tmp?.cleanup();
  });

  it('the first update after a hand install has no package to roll back to (no dpkg-repack): refused, nothing changed', async () => {
    const pid = hubPid();
    spoolRequest(data, debs['1.1.0']!, await release(debs['1.1.0']!, '1.1.0', key.privatePem), {
      id: 'u-norepack',
      version: '1.1.0',
      from: '1.0.0',
    });
    const run = await helper();
    expect(run.code, run.output).toBe(1);
    expect([readStatus(data).state, readStatus(data).error?.code]).toEqual(['refused', 'update_no_rollback']);
    expect(installed()).toBe('1.0.0');
    expect(hubPid()).toBe(pid);
    expect(isAlive(pid)).toBe(true);
  }, 120_000);

  it('A → B through dpkg -i: the new version runs, dpkg says B, B is kept as the way back', async () => {
    // The way back from A, as an earlier update through the helper would have kept it.
    mkdirSync(join(state, 'packages'), { recursive: true });
    writeFileSync(join(state, 'packages', 'hearth_1.0.0.deb'), readFileSync(debs['1.0.0']!));
    spoolRequest(data, debs['1.1.0']!, await release(debs['1.1.0']!, '1.1.0', key.privatePem), {
      id: 'u-b',
      version: '1.1.0',
      from: '1.0.0',
    });
    const run = await helper();
    expect(run.code, run.output).toBe(0);
    expect(readStatus(data)).toMatchObject({ id: 'u-b', state: 'done', from: '1.0.0', to: '1.1.0' });
    expect(installed()).toBe('1.1.0');
    const health = await api(baseUrl(), 'GET', '/api/v1/health');
    expect([health.status, health.body.version]).toEqual([200, '1.1.0']);
    expect(existsSync(join(state, 'packages', 'hearth_1.1.0.deb'))).toBe(true);
  }, 240_000);

  it('a B that never comes up: dpkg puts the previous package back (--force-downgrade), data as before', async () => {
    const before = usernames();
    spoolRequest(data, debs['1.2.0']!, await release(debs['1.2.0']!, '1.2.0', key.privatePem), {
      id: 'u-broken',
      version: '1.2.0',
      from: '1.1.0',
    });
    const run = await helper();
    expect(run.code, run.output).not.toBe(0);
    expect(readStatus(data)).toMatchObject({ id: 'u-broken', state: 'rolled_back', from: '1.1.0', to: '1.2.0' });
    expect(installed()).toBe('1.1.0');
    const health = await api(baseUrl(), 'GET', '/api/v1/health');
    expect([health.status, health.body.version]).toEqual([200, '1.1.0']);
    // The broken version renamed every user before failing; the snapshot put them back.
    expect(usernames()).toEqual(before);
  }, 300_000);
});
