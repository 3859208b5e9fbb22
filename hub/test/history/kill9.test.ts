import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { connectMqtt } from '../helpers/mqtt.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * The loss window, for real: the hub process is killed with SIGKILL (as by a power cut or the
 * OOM killer). Everything of a flushed batch is on disk afterwards; only the open batch (at most
 * flushIntervalMs of samples) may be missing.
 */
describe('history survives kill -9 of the real hub', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: HubProcess;
  let client: MqttClient | undefined;
  const dataDir = () => join(tmp.dir, 'data');

  beforeAll(() => {
    tmp = tempDir();
  });

  afterAll(async () => {
    client?.end(true);
    await hub?.kill9();
    tmp?.cleanup();
  });

  const rowsOnDisk = (deviceId: string): { t: number; v: number }[] => {
    const db = new Database(join(dataDir(), 'hearth.db'), { readonly: true });
    try {
      return db
        .prepare('SELECT o.t, o.v FROM history_open o JOIN history_series s ON s.id = o.series_id WHERE s.device_id = ? AND s.capability = ? ORDER BY o.t')
        .all(deviceId, 'power') as { t: number; v: number }[];
    } finally {
      db.close();
    }
  };

  const waitFor = async (check: () => Promise<boolean>, what: string) => {
    const until = Date.now() + 10_000;
    while (!(await check())) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('keeps every flushed sample; loses at most the open batch', async () => {
    hub = await startHub(dataDir());
    const token = await setupOwner(hub);
    const created = await api(hub.baseUrl, 'POST', '/api/v1/devices', { token, body: { name: 'Heater', driver: 'mqtt', capabilities: ['switch', 'power'] } });
    expect(created.status).toBe(201);
    const { device, mqtt } = created.body as { device: { id: string }; mqtt: { password: string } };
    client = await connectMqtt(hub.mqtt, { clientId: device.id, username: device.id, password: mqtt.password });

    // 20 readings; each publish is acknowledged by the broker (QoS 1) before the next.
    for (let i = 0; i < 20; i++) await client.publishAsync(`hearth/${device.id}/telemetry`, JSON.stringify({ power: 100 + i }), { qos: 1 });
    // The default batch is flushed within a second: wait until all 20 are visible through the API.
    await waitFor(async () => rowsOnDisk(device.id).length === 20, "20 rows on disk");
    // A second burst, then the kill right away: some of it may still be in the open batch.
    for (let i = 20; i < 30; i++) await client.publishAsync(`hearth/${device.id}/telemetry`, JSON.stringify({ power: 100 + i }), { qos: 1 });
    await hub.kill9();
    client.end(true);
    client = undefined;

    const rows = rowsOnDisk(device.id);
    // The first 20 were committed before the kill and are all there, in order, with their values.
    expect(rows.slice(0, 20).map((r) => r.v)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
    // Of the second burst, what is there is a prefix (whole batches), never a gap or a change.
    expect(rows.length).toBeLessThanOrEqual(30);
    expect(rows.map((r) => r.v)).toEqual(Array.from({ length: rows.length }, (_, i) => 100 + i));

    // After a restart the API answers with what is on disk.
    hub = await startHub(dataDir());
    const login = await api(hub.baseUrl, 'POST', '/api/v1/auth/login', { body: { username: 'owner', password: 'correct horse battery' } });
    const res = await api(hub.baseUrl, 'GET', `/api/v1/history?device=${device.id}&capability=power&tier=raw&points=10000&from=${rows[0]!.t}&to=${rows[rows.length - 1]!.t + 1}`, { token: login.body.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.tier).toBe('raw');
    expect(res.body.points.map((p: { mean: number }) => p.mean)).toEqual(rows.map((r) => r.v));
  });
});
