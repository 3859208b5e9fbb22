import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { settle } from '../helpers/settle.ts';
import { harness, type Harness } from './harness.ts';

describe('rooms and devices', () => {
  let h: Harness;
  let token: string;
  beforeEach(async () => {
    h = await harness();
    token = await h.setupOwner();
  });
  afterEach(async () => {
    await h.close();
  });

  it('creates, lists, renames and deletes rooms', async () => {
    const created = await h.call('POST', '/api/v1/rooms', { token, body: { name: 'Kitchen' } });
    expect(created.statusCode).toBe(201);
    const room = created.json();
    expect(room).toMatchObject({
      name: 'Kitchen',
      id: expect.any(String),
      homeId: expect.any(String),
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    expect((await h.call('GET', '/api/v1/rooms', { token })).json()).toEqual([room]);
    const renamed = await h.call('PATCH', `/api/v1/rooms/${room.id}`, { token, body: { name: 'Cuisine' } });
    expect(renamed.json().name).toBe('Cuisine');
    expect((await h.call('DELETE', `/api/v1/rooms/${room.id}`, { token })).statusCode).toBe(204);
    expect((await h.call('GET', '/api/v1/rooms', { token })).json()).toEqual([]);
    const gone = await h.call('DELETE', `/api/v1/rooms/${room.id}`, { token });
    expect(gone.statusCode).toBe(404);
    expect(gone.json().error.code).toBe('room_not_found');
    expect(h.store.audit.list(10).map((e) => e.action)).toEqual(
      expect.arrayContaining(['room.add', 'room.rename', 'room.remove']),
    );
  });

  it('adds a device with 201, reads, moves and removes it', async () => {
    const room = (await h.call('POST', '/api/v1/rooms', { token, body: { name: 'Hall' } })).json();
    const created = await h.call('POST', '/api/v1/devices', {
      token,
      body: { name: 'Lamp', driver: 'echo', capabilities: ['switch'], roomId: room.id },
    });
    expect(created.statusCode).toBe(201);
    const { device } = created.json();
    expect(device).toMatchObject({
      name: 'Lamp',
      roomId: room.id,
      driver: 'echo',
      model: 'generic',
      available: false,
      state: {},
      capabilities: ['switch'],
    });
    expect(created.json()).not.toHaveProperty('mqtt');

    expect((await h.call('GET', `/api/v1/devices/${device.id}`, { token })).json()).toEqual(device);
    const moved = await h.call('PATCH', `/api/v1/devices/${device.id}`, {
      token,
      body: { roomId: null, name: 'Desk lamp' },
    });
    expect(moved.json()).toMatchObject({ roomId: null, name: 'Desk lamp' });
    expect((await h.call('DELETE', `/api/v1/devices/${device.id}`, { token })).statusCode).toBe(204);
    const missing = await h.call('GET', `/api/v1/devices/${device.id}`, { token });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('device_not_found');
  });

  it('refuses an unknown driver or capability with validation_failed', async () => {
    const res = await h.call('POST', '/api/v1/devices', {
      token,
      body: { name: 'X', driver: 'nope', capabilities: ['switch'] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'validation_failed', details: { field: 'driver' } });
    const cap = await h.call('POST', '/api/v1/devices', {
      token,
      body: { name: 'X', driver: 'echo', capabilities: ['teleport'] },
    });
    expect(cap.json().error).toMatchObject({ code: 'validation_failed', details: { field: 'capabilities' } });
  });

  it('answers a command with the confirmed device', async () => {
    const id = await h.addDevice();
    const res = await h.call('POST', `/api/v1/devices/${id}/commands`, {
      token,
      body: { capability: 'switch', value: true },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, available: true, state: { switch: true } });
  });

  it('answers 504 device_timeout when the device does not confirm', async () => {
    const id = await h.addDevice();
    h.driver.confirm = false;
    const res = await settle(
      h.call('POST', `/api/v1/devices/${id}/commands`, { token, body: { capability: 'switch', value: true } }),
      h.clock,
    );
    expect(res.statusCode).toBe(504);
    expect(res.json().error.code).toBe('device_timeout');
  });

  it('answers 503 device_unavailable for an offline device and 400 for a read-only capability', async () => {
    const id = await h.addDevice();
    const readOnly = await h.call('POST', `/api/v1/devices/${id}/commands`, {
      token,
      body: { capability: 'power', value: 5 },
    });
    expect(readOnly.json().error).toMatchObject({ code: 'validation_failed', details: { field: 'capability' } });
    h.driver.ctx.reportAvailability(id, false);
    const offline = await h.call('POST', `/api/v1/devices/${id}/commands`, {
      token,
      body: { capability: 'switch', value: true },
    });
    expect(offline.statusCode).toBe(503);
    expect(offline.json().error.code).toBe('device_unavailable');
  });
});
