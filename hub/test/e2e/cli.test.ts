import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runHubCli, startHub, type HubProcess } from '../helpers/hub-process.ts';
import { api } from '../helpers/http.ts';
import { tempDir } from '../helpers/temp.ts';

describe('hub command line', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const temp = () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  };
  const hub = async (dir: string): Promise<HubProcess> => {
    const h = await startHub(dir);
    cleanups.push(async () => {
      await h.kill9();
    });
    return h;
  };

  it('exits 2 with one line naming the problem for unknown flags and bad values', { timeout: 90_000 }, async () => {
    const dir = temp();
    for (const args of [['--bogus'], ['--http-port', 'abc'], ['--mqtt-port', '70000'], ['--log-level', 'loud']]) {
      const { code, stderr } = await runHubCli(['--data', dir, ...args]);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr.trim().split('\n')).toHaveLength(1);
    }
    const { stderr } = await runHubCli(['--data', dir, '--mqtt-port', '70000']);
    expect(stderr).toContain('mqtt.port');
  });

  it('exits 2 naming an unknown key in the config file', async () => {
    const dir = temp();
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ http: { port: 0, colour: 'blue' } }));
    const { code, stderr } = await runHubCli(['--config', file, '--data', dir]);
    expect(code).toBe(2);
    expect(stderr).toContain("'http.colour'");
  });

  it('--help prints usage and exits 0', async () => {
    const { code, stdout } = await runHubCli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--http-port');
  });

  it('starts on free ports, writes ports.json, answers health and stops on SIGTERM with 0', async () => {
    const dir = temp();
    const h = await hub(dir);
    const ports = JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8'));
    expect(ports).toEqual({ http: h.http, mqtt: h.mqtt, mqtts: h.mqtts, https: h.https });
    expect(h.https).toBeGreaterThan(0);
    expect(h.http).toBeGreaterThan(0);
    expect(h.mqtt).toBeGreaterThan(0);
    const health = await api(h.baseUrl, 'GET', '/api/v1/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', parts: { store: 'ok', broker: 'ok', devices: 'ok' } });
    expect(await h.stop()).toBe(0);
  });

  it('refuses a second hub on the same data directory', async () => {
    const dir = temp();
    await hub(dir);
    const { code, stderr } = await runHubCli([
      '--data',
      dir,
      '--http-port',
      '0',
      '--mqtt-port',
      '0',
      '--mqtts-port',
      '0',
      '--https-port',
      '0',
      '--host',
      '127.0.0.1',
      '--mdns',
      'off',
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain('conflict');
  });

  it('refuses to start on a corrupt database instead of resetting it', async () => {
    const dir = temp();
    mkdirSync(dir, { recursive: true });
    const garbage = Buffer.alloc(8192, 0x5a);
    writeFileSync(join(dir, 'hearth.db'), garbage);
    const { code, stderr } = await runHubCli([
      '--data',
      dir,
      '--http-port',
      '0',
      '--mqtt-port',
      '0',
      '--mqtts-port',
      '0',
      '--https-port',
      '0',
      '--host',
      '127.0.0.1',
      '--mdns',
      'off',
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain('store_corrupt');
    // The file is left exactly as it was for the owner to inspect.
    expect(readFileSync(join(dir, 'hearth.db')).equals(garbage)).toBe(true);
  });
});

describe('hearth-admin create-owner', () => {
  it('creates the owner the hub then accepts, and refuses a second one', async () => {
    const { spawnSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const admin = fileURLToPath(new URL('../../src/admin.ts', import.meta.url));
    const t = tempDir();
    try {
      const run = (username: string, password: string) =>
        spawnSync(process.execPath, [admin, 'create-owner', '--data', t.dir, '--username', username], {
          input: `${password}\n`,
          encoding: 'utf8',
        });
      const short = run('ann', 'short');
      expect([short.status, short.stderr]).toEqual([1, expect.stringContaining('validation_failed')]);
      expect(run('ann', 'a long passphrase').status).toBe(0);
      const again = run('bob', 'another long one');
      expect([again.status, again.stderr]).toEqual([1, expect.stringContaining('already_set_up')]);
      expect(spawnSync(process.execPath, [admin, 'create-owner'], { input: '', encoding: 'utf8' }).status).toBe(2);

      const hub = await startHub(t.dir);
      try {
        const login = await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
          body: { username: 'ann', password: 'a long passphrase' },
        });
        expect(login.status).toBe(200);
      } finally {
        await hub.kill9();
      }
    } finally {
      t.cleanup();
    }
  });
});
