import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concrete, harness, type Harness } from './harness.ts';

describe('access control', () => {
  let h: Harness;
  let owner: string;
  beforeAll(async () => {
    h = await harness();
    owner = await h.setupOwner();
  });
  afterAll(async () => {
    await h.close();
  });

  it('refuses every route not declared public to a request without a token', async () => {
    const guarded = h.app.routeTable.filter((r) => r.access !== 'public');
    expect(guarded.length).toBeGreaterThan(15);
    for (const route of guarded) {
      const res = await h.call(route.method as 'GET', concrete(route.url), {
        body: ['GET', 'HEAD'].includes(route.method) ? undefined : {},
      });
      expect({ route: `${route.method} ${route.url}`, status: res.statusCode }).toEqual({
        route: `${route.method} ${route.url}`,
        status: 401,
      });
      if (route.method !== 'HEAD') expect(res.json().error.code).toBe('unauthorized');
    }
  });

  it('declares access on every route, and only the intended ones are public', () => {
    expect(h.app.routeTable.filter((r) => r.access === undefined)).toEqual([]);
    const publicRoutes = [
      ...new Set(
        h.app.routeTable.filter((r) => r.access === 'public' && r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`),
      ),
    ].sort();
    expect(publicRoutes).toEqual([
      'GET /',
      // HLS players cannot send headers: the URL's per-session camera ticket is checked instead.
      'GET /api/v1/cameras/:id/hls/:ticket/:file',
      'GET /api/v1/health',
      'GET /mqtt',
      'POST /api/v1/auth/login',
      'POST /api/v1/auth/logout',
      'POST /api/v1/auth/refresh',
      // No token: only the holder of the installer's one-time owner invite, on the LAN (handover.ts).
      'POST /api/v1/handover/accept',
      // No token: only the holder of an invite link's key, through the relay (invite_only otherwise).
      'POST /api/v1/remote/invites/redeem',
      'POST /api/v1/setup',
      // No token: first-run restore, only before setup, on the LAN and with the one-time setup code.
      'POST /api/v1/setup/restore',
    ]);
  });

  it('refuses a forged, malformed or expired token', async () => {
    for (const authorization of ['Bearer nope', 'Bearer a.b', `Basic ${owner}`, `Bearer ${owner}x`]) {
      const res = await h.call('GET', '/api/v1/me', { headers: { authorization } });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('unauthorized');
    }
    // A token in the query string counts only for WebSocket upgrades.
    expect((await h.call('GET', `/api/v1/me?token=${owner}`)).statusCode).toBe(401);
    const token = await h.userToken('member');
    h.clock.advance(h.config.auth.accessTokenTtlS * 1000);
    const res = await h.call('GET', '/api/v1/me', { token });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('token_expired');
  });

  it('enforces roles: members cannot manage rooms or devices, guests see no devices', async () => {
    const owner2 = (
      await h.call('POST', '/api/v1/auth/login', { body: { username: 'owner', password: 'correct horse battery' } })
    ).json().accessToken;
    const deviceId = await h.addDevice('Kettle');
    const member = await h.userToken('member');
    const guest = await h.userToken('guest');
    const admin = await h.userToken('admin');

    const forbidden = async (
      token: string,
      method: 'POST' | 'PATCH' | 'DELETE' | 'GET',
      url: string,
      body?: unknown,
    ) => {
      const res = await h.call(method, url, { token, body });
      expect({ url, status: res.statusCode, code: res.json().error?.code }).toEqual({
        url,
        status: 403,
        code: 'forbidden',
      });
    };
    await forbidden(member, 'POST', '/api/v1/rooms', { name: 'Hall' });
    await forbidden(member, 'POST', '/api/v1/devices', { name: 'X', driver: 'echo', capabilities: ['switch'] });
    await forbidden(member, 'DELETE', `/api/v1/devices/${deviceId}`);
    await forbidden(member, 'GET', '/api/v1/audit');
    await forbidden(member, 'GET', '/metrics');
    await forbidden(member, 'POST', '/api/v1/integrations/mqtt-users', {
      username: 'ha',
      scope: 'read',
      topics: ['#'],
    });
    // A guest lists only rooms shared with them: none here.
    expect((await h.call('GET', '/api/v1/rooms', { token: guest })).json()).toEqual([]);
    // A device not shared with a guest does not exist for them: a command is 404 like an unknown id.
    const guestCommand = await h.call('POST', `/api/v1/devices/${deviceId}/commands`, {
      token: guest,
      body: { capability: 'switch', value: true },
    });
    expect({ status: guestCommand.statusCode, code: guestCommand.json().error?.code }).toEqual({
      status: 404,
      code: 'device_not_found',
    });

    expect((await h.call('GET', '/api/v1/devices', { token: member })).json().map((d: { id: string }) => d.id)).toEqual(
      [deviceId],
    );
    const guestList = await h.call('GET', '/api/v1/devices', { token: guest });
    expect(guestList.statusCode).toBe(200);
    expect(guestList.json()).toEqual([]);
    const guestGet = await h.call('GET', `/api/v1/devices/${deviceId}`, { token: guest });
    expect(guestGet.statusCode).toBe(404);
    expect(guestGet.json().error.code).toBe('device_not_found');

    const memberCommand = await h.call('POST', `/api/v1/devices/${deviceId}/commands`, {
      token: member,
      body: { capability: 'switch', value: true },
    });
    expect(memberCommand.statusCode).toBe(200);
    expect((await h.call('POST', '/api/v1/rooms', { token: admin, body: { name: 'Hall' } })).statusCode).toBe(201);
    expect((await h.call('GET', '/metrics', { token: owner2 })).statusCode).toBe(200);
    expect((await h.call('GET', '/metrics', { token: admin })).statusCode).toBe(200);
  });
});
