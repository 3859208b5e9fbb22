import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSetupCode } from '../helpers/http.ts';
import { concrete, harness, OWNER, type Harness } from './harness.ts';

describe('first run', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('answers health without a token, and says setup is needed', async () => {
    const res = await h.call('GET', '/api/v1/health');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'ok',
      version: '9.9.9-test',
      uptimeS: 0,
      parts: { store: 'ok', broker: 'ok', devices: 'ok' },
      setupRequired: true,
      https: null,
    });
    h.clock.advance(61_500);
    expect(res.json().uptimeS).toBe(0);
    expect((await h.call('GET', '/api/v1/health')).json().uptimeS).toBe(61);
  });

  it('answers 409 setup_required on every other route until the owner exists', async () => {
    const gated = h.app.routeTable.filter((r) => !r.beforeSetup);
    expect(gated.length).toBeGreaterThan(15);
    for (const route of gated) {
      const res = await h.call(route.method as 'GET', concrete(route.url), {
        body: route.method === 'GET' || route.method === 'HEAD' ? undefined : {},
      });
      expect({ route: `${route.method} ${route.url}`, status: res.statusCode }).toEqual({
        route: `${route.method} ${route.url}`,
        status: 409,
      });
      if (route.method !== 'HEAD') expect(res.json().error.code).toBe('setup_required');
    }
    // /metrics is among them.
    expect(gated.map((r) => r.url)).toContain('/metrics');
  });

  it('creates the owner, returns a session, then refuses a second setup', async () => {
    const res = await h.call('POST', '/api/v1/setup', {
      body: { ...OWNER, setupCode: readSetupCode(h.config.dataDir) },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.user).toMatchObject({ username: 'owner', role: 'owner' });
    expect(body).toHaveProperty('accessToken');
    expect(body).toHaveProperty('refreshToken');
    expect(body.expiresIn).toBe(h.config.auth.accessTokenTtlS);
    expect(body.user).not.toHaveProperty('passwordHash');

    const me = await h.call('GET', '/api/v1/me', { token: body.accessToken });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ username: 'owner', role: 'owner' });

    const again = await h.call('POST', '/api/v1/setup', { body: { username: 'eve', password: 'another password' } });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('already_set_up');
    expect((await h.call('GET', '/api/v1/health')).json().setupRequired).toBe(false);
    expect(h.store.audit.list(10).map((e) => e.action)).toContain('user.add');
  });

  it('applies the password policy with validation_failed naming the field', async () => {
    const setupCode = readSetupCode(h.config.dataDir);
    const res = await h.call('POST', '/api/v1/setup', { body: { username: 'owner', password: 'short', setupCode } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'validation_failed', details: { field: 'password' } });
    const bad = await h.call('POST', '/api/v1/setup', {
      body: { username: 'two words', password: 'long enough', setupCode },
    });
    expect(bad.json().error).toMatchObject({ code: 'validation_failed', details: { field: 'username' } });
  });
});
