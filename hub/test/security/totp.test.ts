import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, OWNER, type Harness } from '../api/harness.ts';
import { totpAt } from '../helpers/totp.ts';

const STEP_MS = 30_000;

/**
 * Two-step login (issue 12): turning it on needs the password, as turning it off does, and ends
 * the person's other sessions (a stolen session cannot tie the account to the thief's phone and
 * keep the owner's devices in); and `totp_required` does not tell a guesser that the password
 * was right before the code is checked.
 */
describe('two-step login hardening', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness({ config: { auth: { loginSlowAfter: 1000, loginAccountSlowAfter: 1000 } } });
    await h.setupOwner();
  });
  afterEach(async () => {
    await h.close();
  });

  const login = (body: Record<string, unknown>, remoteAddress: string) =>
    h.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress,
      payload: { username: OWNER.username, ...body },
    });
  const post = (token: string, url: string, body?: Record<string, unknown>) =>
    h.app.inject({
      method: 'POST',
      url: `/api/v1${url}`,
      headers: { authorization: `Bearer ${token}` },
      ...(body ? { payload: body } : {}),
    });

  it('needs the password to turn it on, and ends every other session; the caller gets a fresh one', async () => {
    const stolen = (await login({ password: OWNER.password }, '10.0.0.66')).json() as {
      accessToken: string;
      refreshToken: string;
    };
    const laptop = (await login({ password: OWNER.password }, '10.0.0.2')).json() as {
      accessToken: string;
      refreshToken: string;
    };
    const { secret } = (await post(stolen.accessToken, '/me/totp/setup')).json() as { secret: string };
    const code = totpAt(secret, h.clock.now());

    // A bearer token alone: refused.
    const bare = await post(stolen.accessToken, '/me/totp/enable', { code });
    expect([bare.statusCode, bare.json().error.code, bare.json().error.details?.field]).toEqual([
      400,
      'validation_failed',
      'password',
    ]);
    const guessed = await post(stolen.accessToken, '/me/totp/enable', { code, password: 'a guess' });
    expect([guessed.statusCode, guessed.json().error.code, guessed.json().error.details?.field]).toEqual([
      403,
      'wrong_password',
      'password',
    ]);
    expect((await h.call('GET', '/api/v1/me', { token: laptop.accessToken })).json().totp).toBe(false);

    // With the password: on, and every other session is over (access and refresh tokens).
    const on = await post(laptop.accessToken, '/me/totp/enable', { code, password: OWNER.password });
    expect(on.statusCode).toBe(200);
    const fresh = on.json() as { accessToken: string; refreshToken: string; recoveryCodes: string[] };
    expect(fresh.recoveryCodes).toHaveLength(10);
    for (const token of [stolen.accessToken, laptop.accessToken]) {
      const res = await h.call('GET', '/api/v1/me', { token });
      expect([res.statusCode, res.json().error.code]).toEqual([401, 'unauthorized']);
    }
    const refresh = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: stolen.refreshToken } });
    expect([refresh.statusCode, refresh.json().error.code]).toEqual([401, 'unauthorized']);
    // The caller carries on with the session it got back.
    expect((await h.call('GET', '/api/v1/me', { token: fresh.accessToken })).json()).toMatchObject({
      username: OWNER.username,
      totp: true,
    });
    expect(
      (await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: fresh.refreshToken } })).statusCode,
    ).toBe(200);
  });

  it('answers a wrong and a right password alike until the code is checked', async () => {
    const first = (await login({ password: OWNER.password }, '10.0.0.2')).json() as { accessToken: string };
    const { secret } = (await post(first.accessToken, '/me/totp/setup')).json() as { secret: string };
    expect(
      (
        await post(first.accessToken, '/me/totp/enable', {
          code: totpAt(secret, h.clock.now()),
          password: OWNER.password,
        })
      ).statusCode,
    ).toBe(200);
    h.clock.advance(STEP_MS);

    const answer = async (body: Record<string, unknown>, address: string) => {
      const res = await login(body, address);
      return { status: res.statusCode, body: res.json() };
    };
    // Without a code: the same 401 totp_required whether the password was right or not.
    const right = await answer({ password: OWNER.password }, '10.0.1.1');
    const wrong = await answer({ password: 'not the password' }, '10.0.1.2');
    expect(right).toEqual({ status: 401, body: { error: { code: 'totp_required', message: expect.any(String) } } });
    expect(wrong).toEqual(right);
    // With a wrong code: the same 401 invalid_credentials whether the password was right or not.
    const badCode = totpAt(secret, h.clock.now()) === '000000' ? '111111' : '000000';
    const rightPasswordBadCode = await answer({ password: OWNER.password, totp: badCode }, '10.0.1.3');
    const wrongPasswordBadCode = await answer({ password: 'not the password', totp: badCode }, '10.0.1.4');
    expect(rightPasswordBadCode).toEqual({
      status: 401,
      body: { error: { code: 'invalid_credentials', message: expect.any(String) } },
    });
    expect(wrongPasswordBadCode).toEqual(rightPasswordBadCode);
    // A wrong password with the right code is no different either; both right: a session.
    expect(await answer({ password: 'not the password', totp: totpAt(secret, h.clock.now()) }, '10.0.1.5')).toEqual(
      rightPasswordBadCode,
    );
    expect(
      (await login({ password: OWNER.password, totp: totpAt(secret, h.clock.now()) }, '10.0.1.6')).statusCode,
    ).toBe(200);
  });
});
