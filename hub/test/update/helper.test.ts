import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/core/data-dir.ts';
import { waitHealthy } from '../../src/update/helper/checks.ts';
import { TreeInstaller } from '../../src/update/helper/installers.ts';
import { ProcessControl } from '../../src/update/helper/service-control.ts';
import { generateReleaseKey } from '../../src/update/release.ts';
import { spoolPaths } from '../../src/update/spool.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { pollUntil } from '../helpers/poll.ts';
import { tempDir } from '../helpers/temp.ts';
import { buildHubDeb, freePort, readStatus, release, runHelperProcess, spoolRequest } from './fixtures.ts';

/**
 * The privileged update helper on real packages and real hub processes (docs/update.md): the
 * tree installer (versions side by side, a `current` link) and a plain-process service control
 * stand in for dpkg and systemd at the lowest layer; everything above them is what runs on a hub.
 */
describe('update helper: A → B with real hubs', () => {
  let tmp: { dir: string; cleanup: () => void };
  const key = generateReleaseKey();
  let debs: Record<string, string>;
  let root: string, data: string, state: string, keysFile: string;
  let hubArgs: string[];
  let mqttPort: number, httpPort: number;
  let device: { id: string; password: string };
  let client: MqttClient | undefined;
  const hub = () => ({ baseUrl: `http://127.0.0.1:${httpPort}`, dataDir: data });
  const helper = (extra: { healthTimeoutS?: number; devicesTimeoutS?: number; crashAt?: string } = {}) =>
    runHelperProcess({
      dataDir: data,
      stateDir: state,
      root,
      keysFile,
      hubArgs,
      healthTimeoutS: extra.healthTimeoutS ?? 90,
      devicesTimeoutS: extra.devicesTimeoutS ?? 60,
      ...(extra.crashAt ? { crashAt: extra.crashAt } : {}),
    });
  const current = () => readlinkSync(join(root, 'current'));
  const hubPid = () => Number(readFileSync(join(data, 'hub.pid'), 'utf8').trim());
  const login = async () =>
    (
      await api(hub().baseUrl, 'POST', '/api/v1/auth/login', {
        body: { username: 'owner', password: 'correct horse battery' },
      })
    ).status;
  const deviceAvailable = async (token: string) =>
    (await api(hub().baseUrl, 'GET', `/api/v1/devices/${device.id}`, { token })).body.available as boolean;

  beforeAll(async () => {
    tmp = tempDir('hearth-update-helper-');
    debs = {
      '1.0.0': await buildHubDeb(tmp.dir, '1.0.0'),
      '1.1.0': await buildHubDeb(tmp.dir, '1.1.0'),
      '1.2.0': await buildHubDeb(tmp.dir, '1.2.0', true),
    };
    root = join(tmp.dir, 'root');
    data = join(tmp.dir, 'data');
    state = join(tmp.dir, 'state');
    keysFile = join(tmp.dir, 'release-keys');
    writeFileSync(keysFile, `# test release key\n${key.publicB64}\n`);
    [httpPort, mqttPort] = [await freePort(), await freePort()];
    hubArgs = [
      '--data',
      data,
      '--http-port',
      String(httpPort),
      '--mqtt-port',
      String(mqttPort),
      '--mqtts-port',
      '0',
      '--https-port',
      '0',
      '--host',
      '127.0.0.1',
      '--mdns',
      'off',
    ];
    // Version A installed and running, as after a first install.
    const tree = new TreeInstaller(root);
    await tree.install(debs['1.0.0']!, '1.0.0', 'a');
    await new ProcessControl({
      launcher: join(root, 'current', 'bin', 'hearth-hub'),
      args: hubArgs,
      dataDir: data,
      logFile: join(tmp.dir, 'a.log'),
    }).start();
    expect(await waitHealthy(data, '1.0.0', 60_000)).toBeNull();
    const token = await setupOwner(hub());
    const made = await api(hub().baseUrl, 'POST', '/api/v1/devices', {
      token,
      body: { name: 'Heater', driver: 'mqtt', capabilities: ['switch'] },
    });
    expect(made.status).toBe(201);
    device = { id: made.body.device.id, password: made.body.mqtt.password };
    // A device that reconnects on its own, like a plug: online (retained) on every connect.
    client = mqtt.connect({
      host: '127.0.0.1',
      port: mqttPort,
      protocolVersion: 4,
      clientId: device.id,
      username: device.id,
      password: device.password,
      reconnectPeriod: 300,
      will: { topic: `hearth/${device.id}/status`, payload: Buffer.from('offline'), retain: true, qos: 1 },
    });
    client.on('connect', () => client!.publish(`hearth/${device.id}/status`, 'online', { retain: true, qos: 1 }));
    client.on('error', () => undefined);
    await pollUntil('device online', async () => (await deviceAvailable(token)) || undefined, 20_000);
  }, 240_000);

  afterAll(async () => {
    client?.end(true);
    try {
      const pid = hubPid();
      if (isAlive(pid)) process.kill(pid, 'SIGTERM');
      await pollUntil('hub gone', async () => !isAlive(pid) || undefined, 20_000);
    } catch {
      // no hub running
    }
    tmp?.cleanup();
  });

  it('refuses a tampered package, a foreign signature and an unconfirmed downgrade before anything changes', async () => {
    const pid = hubPid();
    // One byte of the package changed after signing.
    const good = await release(debs['1.1.0']!, '1.1.0', key.privatePem);
    const tampered = join(tmp.dir, 'tampered.deb');
    const bytes = readFileSync(debs['1.1.0']!);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0x01;
    writeFileSync(tampered, bytes);
    spoolRequest(data, tampered, good, { id: 'u-tampered', version: '1.1.0', from: '1.0.0' });
    let run = await helper();
    expect(run.code, run.output).toBe(1);
    expect([readStatus(data).state, readStatus(data).error?.code]).toEqual(['refused', 'update_package_mismatch']);

    // A release signed by a key the hub does not trust.
    const other = generateReleaseKey();
    spoolRequest(data, debs['1.1.0']!, await release(debs['1.1.0']!, '1.1.0', other.privatePem), {
      id: 'u-foreign',
      version: '1.1.0',
      from: '1.0.0',
    });
    run = await helper();
    expect([run.code, readStatus(data).state, readStatus(data).error?.code]).toEqual([
      1,
      'refused',
      'update_release_invalid',
    ]);

    // The manifest changed after signing (its version bumped).
    const edited = { ...good, manifest: good.manifest.replace('"1.1.0"', '"1.1.1"') };
    spoolRequest(data, debs['1.1.0']!, edited, { id: 'u-edited', version: '1.1.1', from: '1.0.0' });
    run = await helper();
    expect([run.code, readStatus(data).error?.code]).toEqual([1, 'update_release_invalid']);

    // Going back needs confirming.
    const older = await buildHubDeb(tmp.dir, '0.9.0');
    spoolRequest(data, older, await release(older, '0.9.0', key.privatePem), {
      id: 'u-down',
      version: '0.9.0',
      from: '1.0.0',
    });
    run = await helper();
    expect([run.code, readStatus(data).error?.code]).toEqual([1, 'update_downgrade']);

    // Nothing changed: the same hub process runs version A, and no request is left to retrigger.
    expect(hubPid()).toBe(pid);
    expect(isAlive(pid)).toBe(true);
    expect(current()).toBe('versions/1.0.0');
    expect(await waitHealthy(data, '1.0.0', 5000)).toBeNull();
    expect(existsSync(spoolPaths(data).request)).toBe(false);
  }, 240_000);

  it('updates A → B: B runs, healthy, with the same data, and the device came back', async () => {
    spoolRequest(data, debs['1.1.0']!, await release(debs['1.1.0']!, '1.1.0', key.privatePem), {
      id: 'u-ab',
      version: '1.1.0',
      from: '1.0.0',
    });
    const run = await helper();
    expect(run.code, run.output).toBe(0);
    const status = readStatus(data);
    expect([status.state, status.from, status.to, status.error, status.missingDevices]).toEqual([
      'done',
      '1.0.0',
      '1.1.0',
      null,
      [],
    ]);
    expect(status.steps.map((s) => s.step)).toEqual([
      'accept',
      'verify',
      'stop',
      'snapshot',
      'install',
      'start',
      'health',
    ]);
    expect(current()).toBe('versions/1.1.0');
    expect((await api(hub().baseUrl, 'GET', '/api/v1/health')).body.version).toBe('1.1.0');
    expect(await login()).toBe(200);
    const token = (
      await api(hub().baseUrl, 'POST', '/api/v1/auth/login', {
        body: { username: 'owner', password: 'correct horse battery' },
      })
    ).body.accessToken as string;
    expect(await deviceAvailable(token)).toBe(true);
  }, 240_000);

  it('rolls a B that never comes up healthy back to A, with the database as it was', async () => {
    const before = await api(hub().baseUrl, 'GET', '/api/v1/health');
    expect(before.body.version).toBe('1.1.0');
    spoolRequest(data, debs['1.2.0']!, await release(debs['1.2.0']!, '1.2.0', key.privatePem), {
      id: 'u-broken',
      version: '1.2.0',
      from: '1.1.0',
    });
    const run = await helper({ healthTimeoutS: 20 });
    expect(run.code, run.output).toBe(1);
    const status = readStatus(data);
    expect([status.state, status.error?.code]).toEqual(['rolled_back', 'update_unhealthy']);
    expect(status.steps.map((s) => s.step)).toEqual([
      'accept',
      'verify',
      'stop',
      'snapshot',
      'install',
      'start',
      'health',
      'rollback_stop',
      'rollback_restore',
      'rollback_install',
      'rollback_start',
      'rollback_health',
    ]);
    expect(current()).toBe('versions/1.1.0');
    expect((await api(hub().baseUrl, 'GET', '/api/v1/health')).body.version).toBe('1.1.0');
    // B's "migration" ran (its log says so) and was undone by the snapshot: A could not have
    // opened a schema version 9999 database.
    expect(readFileSync(join(state, 'hub.log'), 'utf8')).toContain('broken build: migrated');
    const db = new Database(join(data, 'hearth.db'), { readonly: true });
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'b_was_here'").pluck().get()).toBe(0);
    expect(db.prepare('SELECT username FROM users').pluck().all()).toEqual(['owner']);
    db.close();
    expect(await login()).toBe(200);
  }, 240_000);

  it('a kill -9 at each step leaves a startable hub, and the next run finishes the update', async () => {
    // Back and forth between two versions (downgrades confirmed); the last one to a version
    // never unpacked before, killed halfway through unpacking it.
    debs['1.3.0'] = await buildHubDeb(tmp.dir, '1.3.0');
    const points = [
      'accept',
      'verify',
      'stop',
      'snapshot',
      'install',
      'install:mid',
      'start',
      'health',
      'install:unpacked',
    ];
    for (const [i, point] of points.entries()) {
      const from = (await api(hub().baseUrl, 'GET', '/api/v1/health')).body.version as string;
      const to = point === 'install:unpacked' ? '1.3.0' : from === '1.1.0' ? '1.0.0' : '1.1.0';
      spoolRequest(data, debs[to]!, await release(debs[to]!, to, key.privatePem), {
        id: `u-kill-${i}`,
        version: to,
        from,
        confirmDowngrade: true,
      });
      const killed = await helper({ crashAt: point });
      expect([point, killed.signal]).toEqual([point, 'SIGKILL']);
      // Whatever the step, `current` names a complete version.
      expect(existsSync(join(root, 'current', 'bin', 'hearth-hub')), point).toBe(true);
      expect(readStatus(data).state).toBe('running');
      const resumed = await helper();
      expect([point, resumed.code], resumed.output).toEqual([point, 0]);
      expect([point, readStatus(data).state, readStatus(data).to]).toEqual([point, 'done', to]);
      expect(current()).toBe(`versions/${to}`);
      expect((await api(hub().baseUrl, 'GET', '/api/v1/health')).body.version).toBe(to);
      expect(await login()).toBe(200);
    }
  }, 900_000);

  it('a kill -9 at each step of a rollback: the next run finishes the rollback to A, data intact', async () => {
    for (const [i, point] of [
      'rollback_stop',
      'rollback_restore',
      'rollback_install',
      'rollback_start',
      'rollback_health',
    ].entries()) {
      const from = (await api(hub().baseUrl, 'GET', '/api/v1/health')).body.version as string;
      spoolRequest(data, debs['1.2.0']!, await release(debs['1.2.0']!, '1.2.0', key.privatePem), {
        id: `u-rbkill-${i}`,
        version: '1.2.0',
        from,
        confirmDowngrade: true,
      });
      const killed = await helper({ healthTimeoutS: 20, crashAt: point });
      expect([point, killed.signal]).toEqual([point, 'SIGKILL']);
      expect(existsSync(join(root, 'current', 'bin', 'hearth-hub')), point).toBe(true);
      const resumed = await helper();
      expect([point, resumed.code, readStatus(data).state, readStatus(data).error?.code], resumed.output).toEqual([
        point,
        1,
        'rolled_back',
        'update_unhealthy',
      ]);
      expect(current()).toBe(`versions/${from}`);
      expect((await api(hub().baseUrl, 'GET', '/api/v1/health')).body.version).toBe(from);
      const db = new Database(join(data, 'hearth.db'), { readonly: true });
      expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'b_was_here'").pluck().get()).toBe(0);
      expect(db.prepare('SELECT username FROM users').pluck().all()).toEqual(['owner']);
      db.close();
    }
  }, 900_000);

  it('rolls back when a device that was online does not come back to B in time', async () => {
    const from = (await api(hub().baseUrl, 'GET', '/api/v1/health')).body.version as string;
    const to = from === '1.1.0' ? '1.3.0' : '1.1.0';
    // The device loses power as the hub stops: it does not reconnect.
    client!.options.reconnectPeriod = 0;
    spoolRequest(data, debs[to]!, await release(debs[to]!, to, key.privatePem), {
      id: 'u-devices',
      version: to,
      from,
      confirmDowngrade: true,
    });
    const run = await helper({ devicesTimeoutS: 8 });
    expect(run.code, run.output).toBe(1);
    const status = readStatus(data);
    expect([status.state, status.error?.code, status.missingDevices]).toEqual([
      'rolled_back',
      'update_devices_missing',
      [device.id],
    ]);
    expect(status.steps.map((s) => s.step)).toContain('rollback_health');
    expect(current()).toBe(`versions/${from}`);
    expect((await api(hub().baseUrl, 'GET', '/api/v1/health')).body.version).toBe(from);
  }, 300_000);
});
