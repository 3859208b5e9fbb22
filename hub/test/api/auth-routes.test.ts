import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { settle } from '../helpers/settle.ts';
import { harness, OWNER, type Harness } from './harness.ts';

describe('auth routes', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness({ config: { auth: { loginSlowAfter: 2, loginBanAfter: 4, loginBanS: 300 } } });
    await h.setupOwner();
  });
  afterEach(async () => {
    await h.close();
  });

  const login = (username: string, password: string, remoteAddress = '10.0.0.1') =>
    settle(
      h.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password }, remoteAddress }),
      h.clock,
    );

  it('logs in with the right password', async () => {
    const res = await login(OWNER.username, OWNER.password);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken']);
    expect((await h.call('GET', '/api/v1/me', { token: body.accessToken })).json().username).toBe('owner');
  });

  it('gives a wrong password and an unknown user the same 401 invalid_credentials', async () => {
    const wrong = await login(OWNER.username, 'not the password');
    const unknown = await login('mallory', OWNER.password, '10.0.0.2');
    for (const res of [wrong, unknown]) {
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('invalid_credentials');
    }
    expect(wrong.json().error).toEqual(unknown.json().error);
  });

  it('slows and then bans one address with 429 and Retry-After, while another address logs in', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await login(OWNER.username, 'guess', '10.0.0.66')).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401]);
    const banned = await login(OWNER.username, OWNER.password, '10.0.0.66');
    expect(banned.statusCode).toBe(429);
    expect(banned.json().error.code).toBe('too_many_requests');
    expect(banned.headers['retry-after']).toBe('300');
    expect((await login(OWNER.username, OWNER.password, '10.0.0.67')).statusCode).toBe(200);
  });

  it('rotates the refresh token and revokes the family when an old one is replayed', async () => {
    const first = (await login(OWNER.username, OWNER.password)).json();
    const refresh = (refreshToken: string) => h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken } });
    const second = await refresh(first.refreshToken);
    expect(second.statusCode).toBe(200);
    expect(second.json().refreshToken).not.toBe(first.refreshToken);
    const third = await refresh(second.json().refreshToken);
    expect(third.statusCode).toBe(200);

    const replay = await refresh(first.refreshToken);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().error.code).toBe('unauthorized');
    // The newest token of the family is dead too: whoever holds it must log in again.
    expect((await refresh(third.json().refreshToken)).statusCode).toBe(401);
    expect(h.store.audit.list(20).map((e) => e.action)).toContain('auth.refresh_reuse');
  });

  it('logs out with 204 and the refresh token stops working', async () => {
    const session = (await login(OWNER.username, OWNER.password)).json();
    const out = await h.call('POST', '/api/v1/auth/logout', { body: { refreshToken: session.refreshToken } });
    expect(out.statusCode).toBe(204);
    expect(out.body).toBe('');
    const after = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: session.refreshToken } });
    expect(after.statusCode).toBe(401);
    expect((await h.call('POST', '/api/v1/auth/logout', { body: { refreshToken: 'unknown' } })).statusCode).toBe(204);
  });

  it('reports an expired refresh token as token_expired', async () => {
    const session = (await login(OWNER.username, OWNER.password)).json();
    h.clock.advance(h.config.auth.refreshTokenTtlS * 1000);
    const res = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: session.refreshToken } });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('token_expired');
  });
});
