import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { connectMqtt, nextMessage } from '../helpers/mqtt.ts';
import { tempDir } from '../helpers/temp.ts';

/** The real hub process: a rule made through the API commands a real MQTT device, and persists. */
describe('rules end to end', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const boot = async (dir: string) => {
    const hub = await startHub(dir);
    cleanups.push(async () => {
      await hub.kill9();
    });
    return hub;
  };

  /** An MQTT device that answers each command by reporting the commanded value. */
  const device = async (hub: HubProcess, id: string, password: string): Promise<MqttClient> => {
    const client = await connectMqtt(hub.mqtt, {
      clientId: id,
      username: id,
      password,
      will: { topic: `hearth/${id}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    cleanups.push(() => {
      client.end(true);
    });
    await client.subscribeAsync(`hearth/${id}/cmd`, { qos: 1 });
    client.on('message', (_topic, payload) => {
      const cmd = JSON.parse(payload.toString());
      client.publish(`hearth/${id}/state`, JSON.stringify({ [cmd.capability]: cmd.value }), { qos: 1 });
    });
    await client.publishAsync(`hearth/${id}/status`, 'online', { qos: 1, retain: true });
    return client;
  };

  /** Polls until `fn` returns something (the hub works asynchronously; no fixed sleeps). */
  const eventually = async <T>(fn: () => Promise<T | undefined>): Promise<T> => {
    for (let i = 0; i < 200; i++) {
      const v = await fn();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('condition not reached');
  };

  it('POST /api/v1/rules (contract shape) → the lamp gets the command on MQTT; traces survive a restart', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    let hub = await boot(tmp.dir);
    let token = await setupOwner(hub);
    const add = async (name: string) =>
      (
        await api(hub.baseUrl, 'POST', '/api/v1/devices', {
          token,
          body: { name, driver: 'mqtt', capabilities: ['switch'] },
        })
      ).body;
    const button = await add('Button');
    const lamp = await add('Lamp');
    const rule = await api(hub.baseUrl, 'POST', '/api/v1/rules', {
      token,
      body: {
        name: 'Follow',
        mode: 'single',
        triggers: [{ type: 'state', device: button.device.id, capability: 'switch', to: true }],
        conditions: [],
        actions: [{ type: 'command', device: lamp.device.id, capability: 'switch', value: true }],
      },
    });
    expect(rule.status).toBe(201);
    const buttonClient = await device(hub, button.device.id, button.mqtt.password);
    const lampClient = await device(hub, lamp.device.id, lamp.mqtt.password);
    await eventually(async () =>
      (await api(hub.baseUrl, 'GET', `/api/v1/devices/${lamp.device.id}`, { token })).body.available ? true : undefined,
    );
    const cmd = nextMessage(lampClient, (topic) => topic === `hearth/${lamp.device.id}/cmd`);
    await buttonClient.publishAsync(`hearth/${button.device.id}/state`, JSON.stringify({ switch: true }), { qos: 1 });
    expect(JSON.parse((await cmd).payload.toString())).toMatchObject({ capability: 'switch', value: true });
    const traces = await eventually(async () => {
      const res = await api(hub.baseUrl, 'GET', `/api/v1/rules/${rule.body.id}/traces`, { token });
      return res.body[0]?.status === 'done' ? res.body : undefined;
    });
    expect(traces[0]).toMatchObject({
      trigger: { device: button.device.id, value: true },
      actions: [{ result: 'ok' }],
    });

    await hub.stop();
    hub = await boot(tmp.dir);
    token = (
      await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
        body: { username: 'owner', password: 'correct horse battery' },
      })
    ).body.accessToken;
    const after = await api(hub.baseUrl, 'GET', `/api/v1/rules/${rule.body.id}/traces`, { token });
    expect(after.body.map((t: { runId: string }) => t.runId)).toEqual(traces.map((t: { runId: string }) => t.runId));
    expect((await api(hub.baseUrl, 'GET', `/api/v1/rules/${rule.body.id}/versions`, { token })).body).toMatchObject([
      { version: 1, author: { username: 'owner' } },
    ]);
  });
});
