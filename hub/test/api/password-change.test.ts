import type { Role } from '@hearth/model/values';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from './harness.ts';
import { connect, type Client } from './ws-client.ts';

const PASSWORD = 'a long enough password';
const NEW_PASSWORD = 'a brand new password';

/**
 * POST /me/password: anyone logged in changes their own password by proving the current one. The
 * caller gets a fresh session; every other session of theirs ends as after a reset. A wrong
 * current password counts in the login limiter (per address and per account).
 */
describe('changing one’s own password', () => {
  let h: Harness;
  let owner: string;
  let base: string;
  beforeEach(async () => {
    // No slow-down (it would wait on the manual clock), a ban after 3 failures.
    h = await harness({ config: { auth: { loginSlowAfter: 100, loginBanAfter: 3, loginBanS: 300 } } });
    owner = await h.setupOwner();
    base = `${await h.listen()}/api/v1/events`;
  });
  afterEach(async () => {
    await h.close();
  });

  const add = (username: string, role: Role) => h.addUser(owner, username, role, PASSWORD);
  const login = (username: string, password: string, remoteAddress = '10.0.0.1') =>
    h.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password }, remoteAddress });
  const session = async (username: string, password = PASSWORD) => {
    const res = await login(username, password);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { accessToken: string; refreshToken: string; expiresIn: number };
  };
  const change = (token: string, body: Record<string, unknown>, remoteAddress = '10.0.0.1') =>
    h.app.inject({
      method: 'POST',
      url: '/api/v1/me/password',
      headers: { authorization: `Bearer ${token}` },
      payload: body,
      remoteAddress,
    });
  const events = async (token: string): Promise<Client> => {
    const client = connect(base, { headers: { authorization: `Bearer ${token}` } });
    await client.next('ready');
    return client;
  };
  const me = (token: string) => h.call('GET', '/api/v1/me', { token });

  it('refuses a wrong current password with 403 wrong_password at its field, and changes nothing', async () => {
    await add('gus', 'guest');
    const gus = await session('gus');
    const res = await change(gus.accessToken, { currentPassword: 'not my password', newPassword: NEW_PASSWORD });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toMatchObject({ code: 'wrong_password', details: { field: 'currentPassword' } });
    // Still logged in, and the password is the old one.
    expect((await me(gus.accessToken)).statusCode).toBe(200);
    expect((await login('gus', PASSWORD)).statusCode).toBe(200);
    expect((await login('gus', NEW_PASSWORD)).statusCode).toBe(401);
  });

  it('refuses a too short new password (validation_failed at newPassword), also when the service checks it', async () => {
    await add('mia', 'member');
    const mia = await session('mia');
    const short = await change(mia.accessToken, { currentPassword: PASSWORD, newPassword: 'short' });
    expect(short.statusCode).toBe(400);
    expect(short.json().error).toMatchObject({ code: 'validation_failed', details: { field: 'newPassword' } });
    // Eight UTF-16 units but four characters: the schema lets it through, the policy does not.
    const emoji = await change(mia.accessToken, { currentPassword: PASSWORD, newPassword: '🔑🔑🔑🔑' });
    expect(emoji.statusCode).toBe(400);
    expect(emoji.json().error).toMatchObject({ code: 'validation_failed', details: { field: 'newPassword' } });
    const missing = await change(mia.accessToken, { newPassword: NEW_PASSWORD });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.code).toBe('validation_failed');
    expect((await login('mia', PASSWORD)).statusCode).toBe(200);
  });

  it('needs a session', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/me/password',
      payload: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('unauthorized');
  });

  it('ends every other session, keeps the caller logged in with a fresh session, and is audited', async () => {
    const miaId = await add('mia', 'member');
    const lampId = await h.addDevice();
    const [laptop, phone] = [await session('mia'), await session('mia')];
    const phoneStream = await events(phone.accessToken);
    const ownerStream = await events(owner);

    const res = await change(laptop.accessToken, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    expect(res.statusCode, res.body).toBe(200);
    const fresh = res.json() as { accessToken: string; refreshToken: string; expiresIn: number };
    expect(Object.keys(fresh).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken']);

    // The other session (a second login) is over: its stream closes as "log in again", its tokens are refused.
    expect(await phoneStream.closed).toEqual({ code: 4401, reason: 'unauthorized' });
    for (const old of [phone, laptop]) {
      const refused = await me(old.accessToken);
      expect(refused.statusCode).toBe(401);
      expect(refused.json().error.code).toBe('unauthorized');
      const refresh = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: old.refreshToken } });
      expect(refresh.statusCode).toBe(401);
    }
    expect(await connect(base, { headers: { authorization: `Bearer ${phone.accessToken}` } }).closed).toEqual({
      code: 4401,
      reason: 'unauthorized',
    });

    // The caller's new tokens work: API, events stream, refresh.
    expect((await me(fresh.accessToken)).json()).toMatchObject({ id: miaId, username: 'mia', role: 'member' });
    const stream = await events(fresh.accessToken);
    h.driver.ctx.reportState(lampId, { switch: true });
    expect(await stream.next('device.state', (m) => m.deviceId === lampId)).toMatchObject({ value: true });
    const refreshed = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: fresh.refreshToken } });
    expect(refreshed.statusCode).toBe(200);
    expect((await me(refreshed.json().accessToken)).statusCode).toBe(200);

    // The old password no longer logs in; the new one does.
    const oldLogin = await login('mia', PASSWORD);
    expect(oldLogin.statusCode).toBe(401);
    expect(oldLogin.json().error.code).toBe('invalid_credentials');
    expect((await login('mia', NEW_PASSWORD)).statusCode).toBe(200);

    // Audited like the other user changes; the owner's stream is untouched and sees it.
    expect(await ownerStream.next('audit', (m) => m.action === 'user.update' && m.target === miaId)).toMatchObject({
      actor: { kind: 'user', userId: miaId },
      details: { username: 'mia', passwordChanged: true },
    });
    expect((await me(owner)).statusCode).toBe(200);
    for (const client of [stream, ownerStream]) {
      client.ws.close();
      await client.closed;
    }
  });

  it('counts wrong current passwords as failed logins: per address, shared with login, and per account', async () => {
    await add('mia', 'member');
    const mia = await session('mia');
    for (let i = 0; i < 3; i++)
      expect(
        (await change(mia.accessToken, { currentPassword: `guess ${i}`, newPassword: NEW_PASSWORD }, '10.0.0.66'))
          .statusCode,
      ).toBe(403);
    // The address used up its attempts: refused, the right password included, and at login too.
    const banned = await change(mia.accessToken, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, '10.0.0.66');
    expect(banned.statusCode).toBe(429);
    expect(banned.json().error.code).toBe('too_many_requests');
    expect((await login('mia', PASSWORD, '10.0.0.66')).statusCode).toBe(429);

    // Another account from other addresses is unaffected; Mia's account is limited wherever she
    // (or someone holding her session) asks from.
    await add('max', 'member');
    const max = await session('max');
    expect(
      (await change(max.accessToken, { currentPassword: 'wrong', newPassword: NEW_PASSWORD }, '10.0.0.70')).statusCode,
    ).toBe(403);
    expect(
      (await change(mia.accessToken, { currentPassword: 'wrong again', newPassword: NEW_PASSWORD }, '10.0.0.71'))
        .statusCode,
    ).toBe(429);
    expect(
      (await change(mia.accessToken, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, '10.0.0.72')).statusCode,
    ).toBe(429);
    expect(
      (await change(max.accessToken, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, '10.0.0.73')).statusCode,
    ).toBe(200);
    // Nothing changed for Mia: her password is the old one.
    expect((await login('mia', PASSWORD, '10.0.0.74')).statusCode).toBe(200);
  });
});
