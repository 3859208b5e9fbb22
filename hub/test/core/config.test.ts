import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/core/config.ts';
import { tempDir } from '../helpers/temp.ts';

describe('loadConfig', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  it('has embedded defaults matching the design contract', () => {
    const c = loadConfig([], {}, '/srv/hearth');
    expect(c.dataDir).toBe('/srv/hearth/data');
    expect(c.http.port).toBe(8080);
    expect(c.mqtt.port).toBe(1883);
    expect(c.mdns).toBe('on');
  });

  it('accepts mDNS on, off and named interfaces that exist', () => {
    expect(loadConfig(['--mdns', 'off'], {}).mdns).toBe('off');
    expect(loadConfig(['--mdns', 'lo'], {}).mdns).toBe('lo');
  });

  it('layers file < env < flags', () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const file = join(t.dir, 'c.json');
    writeFileSync(file, JSON.stringify({ http: { port: 1000 }, mqtt: { port: 1001 }, dataDir: '/from-file' }));
    const c = loadConfig(['--config', file, '--mqtt-port', '3001'], {
      HEARTH_HTTP_PORT: '2000',
      HEARTH_MQTT_PORT: '2001',
    });
    expect([c.http.port, c.mqtt.port, c.dataDir]).toEqual([2000, 3001, '/from-file']);
    const env = loadConfig([], { HEARTH_CONFIG: file, HEARTH_DATA: '/from-env', HEARTH_HOST: '127.0.0.1' });
    expect([env.dataDir, env.http.host, env.mqtt.host]).toEqual(['/from-env', '127.0.0.1', '127.0.0.1']);
  });

  it.each([
    [['--http-port', '-1'], '--http-port'],
    [['--http-port', '8080x'], '--http-port'],
    [['--mqtt-port', '65536'], 'mqtt.port'],
    [['--log-level', 'chatty'], 'log.level'],
    [['--nope'], 'nope'],
    [['--mdns', 'no-such-iface0'], 'no-such-iface0'],
    [['--mdns', 'lo,'], 'mdns'],
    [['extra-positional'], 'extra-positional'],
  ])('rejects %j naming %s', (args, key) => {
    expect(() => loadConfig(args, {})).toThrowError(ConfigError);
    try {
      loadConfig(args, {});
    } catch (err) {
      expect((err as Error).message).toContain(key);
    }
  });

  it('reads the recorder section: segment length, budget and free-space floor', () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const file = join(t.dir, 'c.json');
    expect(loadConfig([], {}).recorder).toEqual({
      segmentS: 4,
      backoffMaxMs: 30_000,
      budgetMb: 0,
      minFreeMb: 1024,
      exportsPerUser: 2,
      exportsTotal: 4,
      exportMb: 4096,
    });
    writeFileSync(file, JSON.stringify({ recorder: { segmentS: 6, budgetMb: 200_000, minFreeMb: 2048 } }));
    expect(loadConfig(['--config', file], {}).recorder).toMatchObject({
      segmentS: 6,
      budgetMb: 200_000,
      minFreeMb: 2048,
    });
    // Recordings on their own volume (docs/writes.md).
    writeFileSync(file, JSON.stringify({ recorder: { dir: '/mnt/hearth-recordings' } }));
    expect(loadConfig(['--config', file], {}).recorder.dir).toBe('/mnt/hearth-recordings');
    writeFileSync(file, JSON.stringify({ recorder: { dir: '' } }));
    expect(() => loadConfig(['--config', file], {})).toThrowError(/recorder\.dir/);
    writeFileSync(file, JSON.stringify({ recorder: { minFreeMb: -1 } }));
    expect(() => loadConfig(['--config', file], {})).toThrowError(/recorder\.minFreeMb/);
    writeFileSync(file, JSON.stringify({ recorder: { retentionDays: 3 } }));
    expect(() => loadConfig(['--config', file], {})).toThrowError(/unknown key 'recorder\.retentionDays'/);
  });

  it('reads the recorder and remote-access variables over the file (HEARTH_RECORDER_*, HEARTH_RELAY_*_BYTES)', () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const file = join(t.dir, 'c.json');
    expect(loadConfig([], {}).remote).toEqual({
      liveQueueBytes: 1024 * 1024,
      sessionAnswerBytes: 8 * 1024 * 1024,
      answerBytes: 64 * 1024 * 1024,
    });
    writeFileSync(
      file,
      JSON.stringify({
        recorder: { segmentS: 6, exportsTotal: 8, minFreeMb: 2048 },
        remote: { liveQueueBytes: 500_000, answerBytes: 9_000_000 },
      }),
    );
    const env = {
      HEARTH_RECORDER_SEGMENT_S: '2',
      HEARTH_RECORDER_BACKOFF_MAX_MS: '1000',
      HEARTH_RECORDER_BUDGET_MB: '0.5',
      HEARTH_RECORDER_MIN_FREE_MB: '0',
      HEARTH_RECORDER_EXPORTS_PER_USER: '1',
      HEARTH_RECORDER_EXPORT_MB: '1.5',
      HEARTH_RELAY_LIVE_QUEUE_BYTES: '98304',
      HEARTH_RELAY_SESSION_BYTES: '1048576',
    };
    const c = loadConfig(['--config', file], env);
    expect(c.recorder).toEqual({
      segmentS: 2,
      backoffMaxMs: 1000,
      budgetMb: 0.5,
      minFreeMb: 0,
      exportsPerUser: 1,
      exportsTotal: 8,
      exportMb: 1.5,
    });
    expect(c.remote).toEqual({ liveQueueBytes: 98_304, sessionAnswerBytes: 1_048_576, answerBytes: 9_000_000 });
    expect(loadConfig([], { HEARTH_RELAY_ANSWER_BYTES: '2097152', HEARTH_RECORDER_EXPORTS_TOTAL: '3' })).toMatchObject({
      remote: { answerBytes: 2_097_152 },
      recorder: { exportsTotal: 3 },
    });
    // A bad value is refused naming the variable or the key, not silently replaced by the default.
    expect(() => loadConfig([], { HEARTH_RELAY_LIVE_QUEUE_BYTES: '1MB' })).toThrowError(
      /HEARTH_RELAY_LIVE_QUEUE_BYTES/,
    );
    expect(() => loadConfig([], { HEARTH_RECORDER_SEGMENT_S: '1.5' })).toThrowError(/HEARTH_RECORDER_SEGMENT_S/);
    expect(() => loadConfig([], { HEARTH_RECORDER_EXPORT_MB: '-2' })).toThrowError(/HEARTH_RECORDER_EXPORT_MB/);
    expect(() => loadConfig([], { HEARTH_RECORDER_SEGMENT_S: '0' })).toThrowError(/recorder\.segmentS/);
    expect(() => loadConfig([], { HEARTH_RELAY_SESSION_BYTES: '10' })).toThrowError(/remote\.sessionAnswerBytes/);
  });

  it('rejects unknown keys and wrong types in the file, naming the key', () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const file = join(t.dir, 'c.json');
    writeFileSync(file, JSON.stringify({ auth: { accessTokenTtlS: 'long' } }));
    expect(() => loadConfig(['--config', file], {})).toThrowError(/auth\.accessTokenTtlS/);
    writeFileSync(file, JSON.stringify({ broker: {} }));
    expect(() => loadConfig(['--config', file], {})).toThrowError(/unknown key 'broker'/);
    writeFileSync(file, '{not json');
    expect(() => loadConfig(['--config', file], {})).toThrowError(ConfigError);
    expect(() => loadConfig(['--config', join(t.dir, 'missing.json')], {})).toThrowError(ConfigError);
  });
});
