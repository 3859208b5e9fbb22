import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { connectMqtt, mosquitto, nextMessage } from '../helpers/mqtt.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * The whole chain through the real hub process: API → registry → driver → broker → a device on a
 * real MQTT connection, and back. The "device" is the mqtt.js client speaking the wire protocol.
 */
describe('MQTT devices through the real hub', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: HubProcess;
  let token: string;
  const clients: MqttClient[] = [];

  const addDevice = async (name: string) => {
    const res = await api(hub.baseUrl, 'POST', '/api/v1/devices', {
      token,
      body: { name, driver: 'mqtt', capabilities: ['switch', 'power'] },
    });
    expect(res.status).toBe(201);
    return res.body as { device: { id: string }; mqtt: { username: string; password: string } };
  };

  /** Connects as the device with its retained offline will, announces online, answers commands. */
  const connectDevice = async (id: string, password: string, options: { answer?: boolean; clean?: boolean } = {}) => {
    const client = await connectMqtt(hub.mqtt, {
      clientId: id,
      username: id,
      password,
      clean: options.clean ?? true,
      will: { topic: `hearth/${id}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    clients.push(client);
    await client.subscribeAsync(`hearth/${id}/cmd`, { qos: 1 });
    if (options.answer !== false) {
      client.on('message', (topic, payload) => {
        if (topic !== `hearth/${id}/cmd`) return;
        const cmd = JSON.parse(payload.toString());
        client.publish(`hearth/${id}/state`, JSON.stringify({ [cmd.capability]: cmd.value }), { qos: 1 });
      });
    }
    await client.publishAsync(`hearth/${id}/status`, 'online', { qos: 1, retain: true });
    return client;
  };

  const waitFor = async <T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const value = await fn();
      if (value !== undefined) return value;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const deviceView = (id: string) => api(hub.baseUrl, 'GET', `/api/v1/devices/${id}`, { token }).then((r) => r.body);

  beforeAll(async () => {
    tmp = tempDir();
    const config = join(tmp.dir, 'config.json');
    // A short command timeout so the 504 case stays quick.
    writeFileSync(config, JSON.stringify({ devices: { commandTimeoutMs: 1500 }, mqtt: { plainIntegrations: true } }));
    hub = await startHub(join(tmp.dir, 'data'), ['--config', config]);
    token = await setupOwner(hub);
  });

  afterAll(async () => {
    for (const c of clients) c.end(true);
    await hub?.kill9();
    tmp?.cleanup();
  });

  it('a command goes to the device and answers 200 with the confirmed state; state and power show in the API', async () => {
    const { device, mqtt } = await addDevice('Lamp');
    expect(mqtt.username).toBe(device.id);
    const client = await connectDevice(device.id, mqtt.password);
    await waitFor(async () => ((await deviceView(device.id)).available ? true : undefined), 'device online');

    const res = await api(hub.baseUrl, 'POST', `/api/v1/devices/${device.id}/commands`, {
      token,
      body: { capability: 'switch', value: true },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: device.id, available: true, state: { switch: true } });

    client.publish(`hearth/${device.id}/telemetry`, JSON.stringify({ power: 42.5 }));
    await waitFor(async () => ((await deviceView(device.id)).state.power === 42.5 ? true : undefined), 'power reading');
  });

  it('a device that never confirms gives 504 device_timeout; an offline one 503 device_unavailable', async () => {
    const { device, mqtt } = await addDevice('Mute');
    const offline = await api(hub.baseUrl, 'POST', `/api/v1/devices/${device.id}/commands`, {
      token,
      body: { capability: 'switch', value: true },
    });
    expect([offline.status, offline.body.error.code]).toEqual([503, 'device_unavailable']);
    await connectDevice(device.id, mqtt.password, { answer: false });
    await waitFor(async () => ((await deviceView(device.id)).available ? true : undefined), 'device online');
    const res = await api(hub.baseUrl, 'POST', `/api/v1/devices/${device.id}/commands`, {
      token,
      body: { capability: 'switch', value: true },
    });
    expect([res.status, res.body.error.code]).toEqual([504, 'device_timeout']);
  });

  it('refuses anonymous and wrong-password connections (mosquitto_pub and mqtt.js)', async () => {
    const { device } = await addDevice('Victim');
    const anonymous = await mosquitto('mosquitto_pub', [
      '-p',
      String(hub.mqtt),
      '-t',
      `hearth/${device.id}/state`,
      '-m',
      '{}',
    ]);
    expect(anonymous.code).not.toBe(0);
    const wrong = await mosquitto('mosquitto_pub', [
      '-p',
      String(hub.mqtt),
      '-u',
      device.id,
      '-P',
      'not-the-password',
      '-t',
      `hearth/${device.id}/state`,
      '-m',
      '{}',
    ]);
    expect(wrong.code).not.toBe(0);
    await expect(connectMqtt(hub.mqtt, { username: device.id, password: 'nope' })).rejects.toMatchObject({ code: 4 });
    await expect(connectMqtt(hub.mqtt)).rejects.toMatchObject({ code: expect.any(Number) });
  });

  it('a device can neither publish as another device nor subscribe to its topics', async () => {
    const a = await addDevice('A');
    const b = await addDevice('B');
    const clientA = await connectDevice(a.device.id, a.mqtt.password);
    const bView = await deviceView(b.device.id);
    // A subscribing to B's commands is refused with SUBACK 0x80, and A stays connected.
    // mqtt.js rejects a subscribe whose SUBACK refuses it; the SUBACK itself is on the error.
    const grantedFor = (filter: string) =>
      clientA.subscribeAsync(filter, { qos: 1 }).then(
        (granted) => granted.map((g) => g.qos),
        (err: { packet?: { granted: number[] } }) => err.packet?.granted,
      );
    expect(await grantedFor(`hearth/${b.device.id}/cmd`)).toEqual([128]);
    expect(await grantedFor('hearth/#')).toEqual([128]);
    expect(await grantedFor('$SYS/#')).toEqual([128]);
    expect(await grantedFor(`hearth/${a.device.id}/cmd`)).toEqual([1]);
    expect(clientA.connected).toBe(true);
    // A publishing B's state does not reach B's state in the hub.
    await clientA
      .publishAsync(`hearth/${b.device.id}/state`, JSON.stringify({ switch: true }), { qos: 1 })
      .catch(() => {});
    // Its own state still goes through afterwards, proving the forged one was processed first and dropped.
    const c = clientA.connected ? clientA : await connectDevice(a.device.id, a.mqtt.password);
    await c.publishAsync(`hearth/${a.device.id}/state`, JSON.stringify({ switch: true }), { qos: 1 });
    await waitFor(async () => ((await deviceView(a.device.id)).state.switch === true ? true : undefined), 'A state');
    expect((await deviceView(b.device.id)).state).toEqual(bView.state);
  });

  it('a device whose connection drops gets a retained offline status and shows unavailable', async () => {
    const { device, mqtt } = await addDevice('Flaky');
    const client = await connectDevice(device.id, mqtt.password);
    await waitFor(async () => ((await deviceView(device.id)).available ? true : undefined), 'device online');
    // Pull the plug: destroy the socket without DISCONNECT, so the will fires.
    (client as unknown as { stream: { destroy(): void } }).stream.destroy();
    await waitFor(async () => ((await deviceView(device.id)).available === false ? true : undefined), 'device offline');
    const integration = await api(hub.baseUrl, 'POST', '/api/v1/integrations/mqtt-users', {
      token,
      body: { username: 'watcher', scope: 'read', topics: ['hearth/#'] },
    });
    expect(integration.status).toBe(201);
    // mosquitto_sub prints the retain flag, topic and payload of the first message it gets.
    const retained = await mosquitto('mosquitto_sub', [
      '-p',
      String(hub.mqtt),
      '-u',
      'watcher',
      '-P',
      integration.body.password,
      '-t',
      `hearth/${device.id}/status`,
      '-C',
      '1',
      '-F',
      '%r %t %p',
    ]);
    expect(retained.stdout.trim()).toBe(`1 hearth/${device.id}/status offline`);
  });

  it('integration users: read scope cannot publish, readwrite can; the password is shown once', async () => {
    const { device, mqtt } = await addDevice('Shared');
    const deviceClient = await connectDevice(device.id, mqtt.password, { answer: false });
    const reader = await api(hub.baseUrl, 'POST', '/api/v1/integrations/mqtt-users', {
      token,
      body: { username: 'reader', scope: 'read', topics: ['hearth/#'] },
    });
    const writer = await api(hub.baseUrl, 'POST', '/api/v1/integrations/mqtt-users', {
      token,
      body: { username: 'writer', scope: 'readwrite', topics: ['hearth/#'] },
    });
    expect([reader.status, writer.status]).toEqual([201, 201]);
    const list = await api(hub.baseUrl, 'GET', '/api/v1/integrations/mqtt-users', { token });
    expect(JSON.stringify(list.body)).not.toContain(reader.body.password);

    const received: string[] = [];
    deviceClient.on('message', (topic, payload) => {
      if (topic.endsWith('/cmd')) received.push(payload.toString());
    });
    // MQTT 3.1.1 has no negative PUBACK: the reader's publish is dropped, not delivered.
    await mosquitto('mosquitto_pub', [
      '-p',
      String(hub.mqtt),
      '-u',
      'reader',
      '-P',
      reader.body.password,
      '-q',
      '1',
      '-t',
      `hearth/${device.id}/cmd`,
      '-m',
      'from-reader',
    ]);
    const allowed = nextMessage(deviceClient, (t, p) => t.endsWith('/cmd') && p.toString() === 'from-writer');
    const ok = await mosquitto('mosquitto_pub', [
      '-p',
      String(hub.mqtt),
      '-u',
      'writer',
      '-P',
      writer.body.password,
      '-q',
      '1',
      '-t',
      `hearth/${device.id}/cmd`,
      '-m',
      'from-writer',
    ]);
    expect(ok.code).toBe(0);
    await allowed;
    expect(received).not.toContain('from-reader');
  });
});
