import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { journalSamples } from '../helpers/history-journal.ts';
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
      // The open raw tail is on disk as journal rows (history/journal.ts), replayed at start.
      return journalSamples(db, deviceId, 'power');
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
    // A 1 s window, so the first burst is flushed well within the wait below.
    const config = join(tmp.dir, 'one-second.json');
    writeFileSync(config, JSON.stringify({ history: { flushIntervalMs: 1000 } }));
    hub = await startHub(dataDir(), ['--config', config]);
    const token = await setupOwner(hub);
    const created = await api(hub.baseUrl, 'POST', '/api/v1/devices', {
      token,
      body: { name: 'Heater', driver: 'mqtt', capabilities: ['switch', 'power'] },
    });
    expect(created.status).toBe(201);
    const { device, mqtt } = created.body as { device: { id: string }; mqtt: { password: string } };
    client = await connectMqtt(hub.mqtt, { clientId: device.id, username: device.id, password: mqtt.password });

    // 20 readings; each publish is acknowledged by the broker (QoS 1) before the next.
    for (let i = 0; i < 20; i++)
      await client.publishAsync(`hearth/${device.id}/telemetry`, JSON.stringify({ power: 100 + i }), { qos: 1 });
    // The batch is flushed within a second: wait until all 20 are on disk.
    await waitFor(async () => rowsOnDisk(device.id).length === 20, '20 rows on disk');
    // A second burst, then the kill right away: some of it may still be in the open batch.
    for (let i = 20; i < 30; i++)
      await client.publishAsync(`hearth/${device.id}/telemetry`, JSON.stringify({ power: 100 + i }), { qos: 1 });
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
    const login = await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
      body: { username: 'owner', password: 'correct horse battery' },
    });
    const res = await api(
      hub.baseUrl,
      'GET',
      `/api/v1/history?device=${device.id}&capability=power&tier=raw&points=10000&from=${rows[0]!.t}&to=${rows[rows.length - 1]!.t + 1}`,
      { token: login.body.accessToken },
    );
    expect(res.status).toBe(200);
    expect(res.body.tier).toBe('raw');
    expect(res.body.points.map((p: { mean: number }) => p.mean)).toEqual(rows.map((r) => r.v));
  });
  /**
   * The loss window itself (docs/writes.md), with a short one so the test stays short: telemetry
   * flows at 4 Hz while a state change happens now and then; SIGKILL; afterwards every sample
   * older than flushIntervalMs (3 s) before the kill is on disk, and every state change older
   * than eventFlushMs (1 s), and what is there is a gapless prefix.
   */
  it('holds the configured loss window: samples older than flushIntervalMs and events older than eventFlushMs survive', async () => {
    const dir = join(tmp.dir, 'window');
    const config = join(tmp.dir, 'window.json');
    writeFileSync(config, JSON.stringify({ history: { flushIntervalMs: 3000, eventFlushMs: 1000 } }));
    hub = await startHub(join(dir, 'data'), ['--config', config]);
    const token = await setupOwner({ baseUrl: hub.baseUrl, dataDir: join(dir, 'data') });
    const created = await api(hub.baseUrl, 'POST', '/api/v1/devices', {
      token,
      body: { name: 'Heater', driver: 'mqtt', capabilities: ['switch', 'power'] },
    });
    expect(created.status).toBe(201);
    const { device, mqtt } = created.body as { device: { id: string }; mqtt: { password: string } };
    client = await connectMqtt(hub.mqtt, { clientId: device.id, username: device.id, password: mqtt.password });

    // Wall-clock times of each acknowledged publish (the hub stamps readings on arrival).
    const sent: { at: number; power: number }[] = [];
    const switches: { at: number; on: boolean }[] = [];
    for (let i = 0; i < 40; i++) {
      await client.publishAsync(`hearth/${device.id}/telemetry`, JSON.stringify({ power: 1000 + i }), { qos: 1 });
      sent.push({ at: Date.now(), power: 1000 + i });
      if (i % 8 === 4) {
        const on = switches.length % 2 === 0;
        await client.publishAsync(`hearth/${device.id}/state`, JSON.stringify({ switch: on }), { qos: 1 });
        switches.push({ at: Date.now(), on });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const killedAt = Date.now();
    await hub.kill9();
    client.end(true);
    client = undefined;

    const db = new Database(join(dir, 'data', 'hearth.db'), { readonly: true });
    try {
      const powers = journalSamples(db, device.id, 'power').map((r) => r.v);
      const states = (
        db
          .prepare(
            "SELECT value FROM history_events WHERE device_id = ? AND kind = 'state' AND capability = 'switch' ORDER BY id",
          )
          .all(device.id) as { value: string }[]
      ).map((r) => JSON.parse(r.value));
      // A gapless prefix of what was sent...
      expect(powers).toEqual(sent.slice(0, powers.length).map((s) => s.power));
      expect(states).toEqual(switches.slice(0, states.length).map((s) => s.on));
      // ...that reaches at least to the loss window before the kill (500 ms of slack for the
      // hub's own clock reading and the kill's delivery).
      const mustHave = sent.filter((s) => s.at < killedAt - 3000 - 500).length;
      expect(powers.length).toBeGreaterThanOrEqual(mustHave);
      expect(mustHave).toBeGreaterThan(20);
      expect(states.length).toBeGreaterThanOrEqual(switches.filter((s) => s.at < killedAt - 1000 - 500).length);
    } finally {
      db.close();
    }
  }, 60_000);

  /**
   * The audit log's loss window (docs/writes.md): commands' audit rows are held up to
   * audit.flushMs (1 s) and written together; any other row is written at once, after them. After
   * SIGKILL: the command rows are a gapless prefix reaching to the window before the kill, and a
   * rename made between commands is there with every command before it.
   */
  it('holds the audit window: command rows older than audit.flushMs survive, in order, and another row takes the held ones along', async () => {
    const dir = join(tmp.dir, 'audit');
    hub = await startHub(join(dir, 'data'));
    const token = await setupOwner({ baseUrl: hub.baseUrl, dataDir: join(dir, 'data') });
    const created = await api(hub.baseUrl, 'POST', '/api/v1/devices', {
      token,
      body: { name: 'Lamp', driver: 'mqtt', capabilities: ['switch'] },
    });
    expect(created.status).toBe(201);
    const { device, mqtt } = created.body as { device: { id: string }; mqtt: { password: string } };
    const lamp = await connectMqtt(hub.mqtt, { clientId: device.id, username: device.id, password: mqtt.password });
    client = lamp;
    // The device obeys: every command comes back as its state.
    await lamp.subscribeAsync(`hearth/${device.id}/cmd`, { qos: 1 });
    lamp.on('message', (_topic, payload) => {
      const cmd = JSON.parse(payload.toString()) as { capability: string; value: boolean };
      void lamp.publishAsync(`hearth/${device.id}/state`, JSON.stringify({ [cmd.capability]: cmd.value }), { qos: 1 });
    });
    await lamp.publishAsync(`hearth/${device.id}/status`, 'online', { qos: 1, retain: true });
    await waitFor(
      async () => (await api(hub.baseUrl, 'GET', `/api/v1/devices/${device.id}`, { token })).body.available === true,
      'the lamp online',
    );

    const done: { at: number; value: boolean }[] = [];
    const command = async (i: number) => {
      const res = await api(hub.baseUrl, 'POST', `/api/v1/devices/${device.id}/commands`, {
        token,
        body: { capability: 'switch', value: i % 2 === 0 },
      });
      expect(res.status).toBe(200);
      done.push({ at: Date.now(), value: i % 2 === 0 });
    };
    for (let i = 0; i < 6; i++) await command(i);
    const renamed = await api(hub.baseUrl, 'PATCH', `/api/v1/devices/${device.id}`, {
      token,
      body: { name: 'Desk lamp' },
    });
    expect(renamed.status).toBe(200);
    for (let i = 6; i < 20; i++) {
      await command(i);
      await new Promise((r) => setTimeout(r, 200));
    }
    const killedAt = Date.now();
    await hub.kill9();
    lamp.end(true);
    client = undefined;

    const db = new Database(join(dir, 'data', 'hearth.db'), { readonly: true });
    try {
      const rows = db
        .prepare(
          "SELECT action, details FROM audit_log WHERE action IN ('device.command', 'device.update') ORDER BY id",
        )
        .all() as { action: string; details: string }[];
      // The rename is there, after the 6 commands made before it (written with it, in order).
      expect(rows.slice(0, 7).map((r) => r.action)).toEqual([...Array(6).fill('device.command'), 'device.update']);
      const values = rows.filter((r) => r.action === 'device.command').map((r) => JSON.parse(r.details).value);
      // A gapless prefix of the commands, reaching at least to the window before the kill (500 ms
      // of slack for the kill's delivery).
      expect(values).toEqual(done.slice(0, values.length).map((d) => d.value));
      const mustHave = done.filter((d) => d.at < killedAt - 1000 - 500).length;
      expect(values.length).toBeGreaterThanOrEqual(mustHave);
      expect(mustHave).toBeGreaterThan(6);
    } finally {
      db.close();
    }
  }, 60_000);
});
