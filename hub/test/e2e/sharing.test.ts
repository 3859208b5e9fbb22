import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { connectMqtt } from '../helpers/mqtt.ts';
import { tempDir } from '../helpers/temp.ts';

const PASSWORD = 'a long enough password';

/**
 * Sharing through the real hub process and its real broker: a guest with one shared plug sees that
 * plug only, and their command reaches the plug's MQTT `cmd` topic only when the share allows
 * control. What leaves is read on the wire by the plug's own MQTT connection: after each refused
 * command the owner sends a different value, and that must be the first command the plug gets.
 */
describe('sharing through the real hub: what leaves on MQTT', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: HubProcess;
  let owner: string;
  let guest: string;
  let guestId: string;
  const devices: { id: string; client: MqttClient; commands: { capability: string; value: unknown }[] }[] = [];

  const addDevice = async (name: string) => {
    const res = await api(hub.baseUrl, 'POST', '/api/v1/devices', {
      token: owner,
      body: { name, driver: 'mqtt', capabilities: ['switch', 'power'] },
    });
    expect(res.status).toBe(201);
    const { device, mqtt } = res.body as { device: { id: string }; mqtt: { password: string } };
    const client = await connectMqtt(hub.mqtt, { clientId: device.id, username: device.id, password: mqtt.password });
    const entry = { id: device.id, client, commands: [] as { capability: string; value: unknown }[] };
    await client.subscribeAsync(`hearth/${device.id}/cmd`, { qos: 1 });
    client.on('message', (topic, payload) => {
      if (topic !== `hearth/${device.id}/cmd`) return;
      const cmd = JSON.parse(payload.toString());
      entry.commands.push({ capability: cmd.capability, value: cmd.value });
      client.publish(`hearth/${device.id}/state`, JSON.stringify({ [cmd.capability]: cmd.value }), { qos: 1 });
    });
    await client.publishAsync(`hearth/${device.id}/status`, 'online', { qos: 1, retain: true });
    devices.push(entry);
    for (let i = 0; i < 200; i++) {
      if ((await api(hub.baseUrl, 'GET', `/api/v1/devices/${device.id}`, { token: owner })).body.available) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return entry;
  };
  const command = (token: string, id: string, value: boolean) =>
    api(hub.baseUrl, 'POST', `/api/v1/devices/${id}/commands`, { token, body: { capability: 'switch', value } });
  const outcome = (res: { status: number; body: { error?: { code: string } } }) => [
    res.status,
    res.body.error?.code ?? 'ok',
  ];

  beforeAll(async () => {
    tmp = tempDir();
    hub = await startHub(`${tmp.dir}/data`);
    owner = await setupOwner(hub);
    const made = await api(hub.baseUrl, 'POST', '/api/v1/users', {
      token: owner,
      body: { username: 'cleaner', password: PASSWORD, role: 'guest' },
    });
    guestId = made.body.id;
    guest = (
      await api(hub.baseUrl, 'POST', '/api/v1/auth/login', { body: { username: 'cleaner', password: PASSWORD } })
    ).body.accessToken;
  });

  afterAll(async () => {
    for (const d of devices) d.client.end(true);
    await hub?.kill9();
    tmp?.cleanup();
  });

  it('view only: 403 share_view_only and no command on the wire; control: the command leaves and is confirmed', async () => {
    const plug = await addDevice('Kitchen plug');
    const heater = await addDevice('Bedroom heater');
    const view = await api(hub.baseUrl, 'POST', '/api/v1/shares', {
      token: owner,
      body: { userId: guestId, device: plug.id, access: 'view' },
    });
    expect(view.status).toBe(201);
    const listed = await api(hub.baseUrl, 'GET', '/api/v1/devices', { token: guest });
    expect((listed.body as { id: string }[]).map((d) => d.id)).toEqual([plug.id]);

    expect(outcome(await command(guest, plug.id, true))).toEqual([403, 'share_view_only']);
    expect(outcome(await command(guest, heater.id, true))).toEqual([404, 'device_not_found']);
    // The owner's false is the first command either device receives: the guest's never left.
    expect(outcome(await command(owner, plug.id, false))).toEqual([200, 'ok']);
    expect(outcome(await command(owner, heater.id, false))).toEqual([200, 'ok']);
    expect(plug.commands).toEqual([{ capability: 'switch', value: false }]);
    expect(heater.commands).toEqual([{ capability: 'switch', value: false }]);

    await api(hub.baseUrl, 'DELETE', `/api/v1/shares/${view.body.id}`, { token: owner });
    await api(hub.baseUrl, 'POST', '/api/v1/shares', {
      token: owner,
      body: { userId: guestId, device: plug.id, access: 'control' },
    });
    const on = await command(guest, plug.id, true);
    expect(outcome(on)).toEqual([200, 'ok']);
    expect(on.body).toMatchObject({ id: plug.id, state: { switch: true } });
    expect(plug.commands).toEqual([
      { capability: 'switch', value: false },
      { capability: 'switch', value: true },
    ]);
    expect(outcome(await command(guest, heater.id, true))).toEqual([404, 'device_not_found']);
    expect(heater.commands).toHaveLength(1);
  });
});
