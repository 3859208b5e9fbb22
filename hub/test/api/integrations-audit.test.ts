import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from './harness.ts';

describe('integration MQTT users and the audit log', () => {
  let h: Harness;
  let token: string;
  beforeEach(async () => {
    h = await harness();
    token = await h.setupOwner();
  });
  afterEach(async () => {
    await h.close();
  });

  it('creates a user showing the password once, lists without secrets, deletes', async () => {
    const created = await h.call('POST', '/api/v1/integrations/mqtt-users', {
      token,
      body: { username: 'homeassistant', scope: 'read', topics: ['#'] },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toEqual({ username: 'homeassistant', password: 'pw-homeassistant' });

    const list = await h.call('GET', '/api/v1/integrations/mqtt-users', { token });
    expect(list.json()).toEqual([
      { username: 'homeassistant', scope: 'read', topics: ['#'], createdAt: '2026-01-01T00:00:00.000Z' },
    ]);
    expect(list.body).not.toContain('hash');
    expect(list.body).not.toContain('pw-');

    const taken = await h.call('POST', '/api/v1/integrations/mqtt-users', {
      token,
      body: { username: 'homeassistant', scope: 'readwrite', topics: ['#'] },
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error.code).toBe('username_taken');

    expect((await h.call('DELETE', '/api/v1/integrations/mqtt-users/homeassistant', { token })).statusCode).toBe(204);
    const again = await h.call('DELETE', '/api/v1/integrations/mqtt-users/homeassistant', { token });
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('mqtt_user_not_found');
  });

  it('validates scope and topics', async () => {
    const scope = await h.call('POST', '/api/v1/integrations/mqtt-users', {
      token,
      body: { username: 'x', scope: 'admin', topics: ['#'] },
    });
    expect(scope.json().error).toMatchObject({ code: 'validation_failed', details: { field: 'scope' } });
    const topics = await h.call('POST', '/api/v1/integrations/mqtt-users', {
      token,
      body: { username: 'x', scope: 'read', topics: [] },
    });
    expect(topics.json().error).toMatchObject({ code: 'validation_failed', details: { field: 'topics' } });
  });

  it('records who did what, newest first, paged with before', async () => {
    await h.call('POST', '/api/v1/integrations/mqtt-users', {
      token,
      body: { username: 'nodered', scope: 'readwrite', topics: ['hearth/#'] },
    });
    await h.call('POST', '/api/v1/rooms', { token, body: { name: 'Hall' } });
    const first = await h.call('GET', '/api/v1/audit?limit=2', { token });
    expect(first.statusCode).toBe(200);
    const page = first.json();
    expect(page.entries.map((e: { action: string }) => e.action)).toEqual(['room.add', 'mqtt_user.add']);
    expect(page.entries[1]).toMatchObject({
      actor: { kind: 'user', username: 'owner', role: 'owner' },
      target: 'nodered',
      details: { scope: 'readwrite', topics: ['hearth/#'] },
    });
    const next = (await h.call('GET', `/api/v1/audit?limit=2&before=${page.nextBefore}`, { token })).json();
    expect(next.entries.map((e: { action: string }) => e.action)).toEqual(['user.add']);
    expect(next.nextBefore).toBeNull();
  });
});
