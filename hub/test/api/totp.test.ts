import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toBase64 } from '@hearth/protocol/encoding';
import { hotp } from '../../src/auth/totp.ts';
import { runRemoteRequest } from '../../src/relay/remote-requests.ts';
import { rfc6238, totpAt } from '../helpers/totp.ts';
import { harness, type Harness } from './harness.ts';

const PASSWORD = 'a long enough password';
const STEP_MS = 30_000;

describe('the tests’ RFC 6238 function', () => {
  // RFC 6238 appendix B, SHA1: the 20-byte ASCII seed, 8 digits.
  const seed = Buffer.from('12345678901234567890', 'ascii');
  const vectors: [number, string][] = [
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ];
  it('matches the appendix B vectors (and so does the hub’s)', () => {
    for (const [t, code] of vectors) {
      expect(rfc6238(seed, t, 8), String(t)).toBe(code);
      expect(hotp(seed, Math.floor(t / 30), 8), String(t)).toBe(code);
    }
  });
});

/**
 * Optional TOTP two-step login: setup and confirmation, login without a code (totp_required),
 * with a right code, a replayed one, wrong ones counted by the login limiter, recovery codes once,
 * turning it off with the password, an admin's password reset turning it off, and all of it
 * through the relay's path (the same routes by inject, the device as the source address).
 */
describe('two-step login (TOTP)', () => {
  let h: Harness;
  let owner: string;
  beforeEach(async () => {
    // No slow-down (it would wait on the manual clock), a ban after 3 failures.
    h = await harness({ remote: true, config: { auth: { loginSlowAfter: 100, loginBanAfter: 3, loginBanS: 300 } } });
    owner = await h.setupOwner();
  });
  afterEach(async () => {
    await h.close();
  });

  const add = async (username: string, role = 'member') => {
    const res = await h.call('POST', '/api/v1/users', { token: owner, body: { username, password: PASSWORD, role } });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  };
  const login = (body: Record<string, unknown>, remoteAddress = '10.0.0.1') =>
    h.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { password: PASSWORD, ...body },
      remoteAddress,
    });
  const post = (token: string, url: string, body?: Record<string, unknown>, remoteAddress = '10.0.0.1') =>
    h.app.inject({
      method: 'POST',
      url: `/api/v1${url}`,
      headers: { authorization: `Bearer ${token}` },
      ...(body ? { payload: body } : {}),
      remoteAddress,
    });
  const session = async (username: string, extra: Record<string, unknown> = {}) => {
    const res = await login({ username, ...extra });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().accessToken as string;
  };
  const me = async (token: string) =>
    (await h.call('GET', '/api/v1/me', { token })).json() as { totp: boolean; username: string };
  const code = (secret: string, offsetSteps = 0) => totpAt(secret, h.clock.now() + offsetSteps * STEP_MS);
  const audit = async () =>
    (await h.call('GET', '/api/v1/audit?limit=200', { token: owner })).json().entries as {
      action: string;
      target: string;
      details?: Record<string, unknown>;
    }[];
  /**
   * Sets up and confirms TOTP for a logged-in user; answers the secret, the recovery codes and the
   * fresh access token (turning it on ends every other session, the caller's old token included).
   */
  const turnOn = async (token: string, password = PASSWORD) => {
    const setup = await post(token, '/me/totp/setup');
    expect(setup.statusCode, setup.body).toBe(200);
    const { secret } = setup.json() as { secret: string };
    const enable = await post(token, '/me/totp/enable', { code: code(secret), password });
    expect(enable.statusCode, enable.body).toBe(200);
    // The confirmation code is spent: logins start with the next step.
    h.clock.advance(STEP_MS);
    return {
      secret,
      recoveryCodes: enable.json().recoveryCodes as string[],
      token: enable.json().accessToken as string,
    };
  };

  it('is set up, confirmed with a code, then needed at login; a code works once', async () => {
    const miaId = await add('mia');
    let mia = await session('mia');
    expect(await me(mia)).toMatchObject({ username: 'mia', totp: false });

    const setup = await post(mia, '/me/totp/setup');
    expect(setup.statusCode).toBe(200);
    const { secret, uri } = setup.json() as { secret: string; uri: string };
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(uri).toBe(`otpauth://totp/Hearth:mia?secret=${secret}&issuer=Hearth`);
    // Not on until confirmed: login still needs only the password.
    expect((await me(mia)).totp).toBe(false);
    expect((await login({ username: 'mia' })).statusCode).toBe(200);

    // A wrong confirmation code: 400 at its field (the session is fine), nothing changes.
    const wrongCode = code(secret) === '000000' ? '111111' : '000000';
    const wrong = await post(mia, '/me/totp/enable', { code: wrongCode, password: PASSWORD });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error).toMatchObject({ code: 'totp_code_wrong', details: { field: 'code' } });
    expect((await me(mia)).totp).toBe(false);

    const enable = await post(mia, '/me/totp/enable', { code: code(secret), password: PASSWORD });
    expect(enable.statusCode, enable.body).toBe(200);
    const { recoveryCodes } = enable.json() as { recoveryCodes: string[] };
    // Every other session ended, this page's old token too: it carries on with the fresh one.
    expect((await h.call('GET', '/api/v1/me', { token: mia })).statusCode).toBe(401);
    mia = enable.json().accessToken as string;
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    expect((await me(mia)).totp).toBe(true);
    // Stored: the secret (the hub computes codes), the recovery codes only as digests.
    expect(h.store.users.byId(miaId)?.totpSecret).toBe(secret);
    const stored = JSON.stringify(h.store.db.prepare('SELECT * FROM totp_recovery_codes').all());
    for (const recovery of recoveryCodes) expect(stored).not.toContain(recovery);
    // Another setup while on is refused (replacing the secret needs turning it off, with the password).
    expect((await post(mia, '/me/totp/setup')).json().error.code).toBe('totp_already_on');
    expect((await audit()).find((e) => e.action === 'user.totp_enable' && e.target === miaId)).toBeTruthy();

    // The code that confirmed it cannot log in (same step).
    const confirmStepCode = code(secret);
    const replayedConfirm = await login({ username: 'mia', totp: confirmStepCode });
    expect(replayedConfirm.statusCode).toBe(401);
    expect(replayedConfirm.json().error.code).toBe('invalid_credentials');

    h.clock.advance(STEP_MS);
    // Without a code: 401 totp_required, and no session.
    const required = await login({ username: 'mia' }, '10.0.0.2');
    expect(required.statusCode).toBe(401);
    expect(required.json().error.code).toBe('totp_required');
    expect(required.body).not.toContain('accessToken');
    // A wrong password without a code is answered alike: totp_required says nothing of the password.
    expect((await login({ username: 'mia', password: 'not the password' }, '10.0.0.5')).json().error.code).toBe(
      'totp_required',
    );
    // With a code, a wrong password is invalid_credentials, as a wrong code is.
    expect(
      (await login({ username: 'mia', password: 'not the password', totp: code(secret) }, '10.0.0.2')).json().error
        .code,
    ).toBe('invalid_credentials');

    // The right code: a session.
    const now = code(secret);
    const ok = await login({ username: 'mia', totp: now }, '10.0.0.2');
    expect(ok.statusCode, ok.body).toBe(200);
    expect((await me(ok.json().accessToken)).totp).toBe(true);
    // The same code again (a replay, still within its step): refused.
    const replay = await login({ username: 'mia', totp: now }, '10.0.0.3');
    expect(replay.statusCode).toBe(401);
    expect(replay.json().error.code).toBe('invalid_credentials');
    // The previous step's code is older than the one used: refused too.
    expect((await login({ username: 'mia', totp: code(secret, -1) }, '10.0.0.4')).json().error.code).toBe(
      'invalid_credentials',
    );
  });

  it('accepts a code one step either side of now, each step once', async () => {
    await add('mia');
    const { secret } = await turnOn(await session('mia'));
    h.clock.advance(2 * STEP_MS);
    // The phone is a little behind: the previous step's code works.
    expect((await login({ username: 'mia', totp: code(secret, -1) }, '10.0.1.1')).statusCode).toBe(200);
    expect((await login({ username: 'mia', totp: code(secret) }, '10.0.1.2')).statusCode).toBe(200);
    // A little ahead: the next step's code works, and then the current one is older: refused.
    expect((await login({ username: 'mia', totp: code(secret, 1) }, '10.0.1.3')).statusCode).toBe(200);
    expect((await login({ username: 'mia', totp: code(secret) }, '10.0.1.4')).statusCode).toBe(401);
    // Two steps away is too far.
    h.clock.advance(3 * STEP_MS);
    expect((await login({ username: 'mia', totp: code(secret, 2) }, '10.0.1.5')).json().error.code).toBe(
      'invalid_credentials',
    );
    expect((await login({ username: 'mia', totp: code(secret, -2) }, '10.0.1.6')).json().error.code).toBe(
      'invalid_credentials',
    );
    // A malformed code never reaches the check.
    expect((await login({ username: 'mia', totp: '12345' }, '10.0.1.7')).json().error.code).toBe('validation_failed');
  });

  it('counts wrong codes in the login limiter, per address and per account', async () => {
    await add('mia');
    const { secret } = await turnOn(await session('mia'));
    const right = code(secret);
    const wrong = (i: number) => String((Number(right) + 1 + i) % 1_000_000).padStart(6, '0');
    for (let i = 0; i < 3; i++) {
      const res = await login({ username: 'mia', totp: wrong(i) }, '10.0.0.66');
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('invalid_credentials');
    }
    // The address used up its attempts: refused with the limiter's code, the right code included.
    const banned = await login({ username: 'mia', totp: right }, '10.0.0.66');
    expect(banned.statusCode).toBe(429);
    expect(banned.json().error.code).toBe('too_many_requests');
    // The account too: someone who knows the password cannot go on guessing from other addresses
    // (the address mia logged in from before, 10.0.0.1, is exempt: account-guard.ts).
    expect((await login({ username: 'mia', totp: right }, '10.0.0.67')).json().error.code).toBe('too_many_requests');
    // Other people are unaffected.
    await add('max');
    expect((await login({ username: 'max' }, '10.0.0.68')).statusCode).toBe(200);
    // After the ban, the right code logs in.
    h.clock.advance(300_000);
    expect((await login({ username: 'mia', totp: code(secret) }, '10.0.0.66')).statusCode).toBe(200);
  });

  it('takes a recovery code instead of a code, once', async () => {
    const miaId = await add('mia');
    const { recoveryCodes } = await turnOn(await session('mia'));
    const [first, second] = recoveryCodes as [string, string];
    expect((await login({ username: 'mia', recoveryCode: first })).statusCode).toBe(200);
    const again = await login({ username: 'mia', recoveryCode: first }, '10.0.0.5');
    expect(again.statusCode).toBe(401);
    expect(again.json().error.code).toBe('invalid_credentials');
    expect((await login({ username: 'mia', recoveryCode: 'aaaa-bbbb-cccc-dddd' }, '10.0.0.6')).json().error.code).toBe(
      'invalid_credentials',
    );
    // Typed in capitals without dashes: the same code.
    expect(
      (await login({ username: 'mia', recoveryCode: second.replaceAll('-', ' ').toUpperCase() }, '10.0.0.7'))
        .statusCode,
    ).toBe(200);
    const used = (await audit()).filter((e) => e.action === 'auth.recovery_code_used' && e.target === miaId);
    expect(used.map((e) => e.details?.left)).toEqual([8, 9]);
  });

  it('is turned off with the password only', async () => {
    const miaId = await add('mia');
    const { token: mia } = await turnOn(await session('mia'));
    const wrong = await post(mia, '/me/totp/disable', { password: 'not my password' });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().error).toMatchObject({ code: 'wrong_password', details: { field: 'password' } });
    expect((await me(mia)).totp).toBe(true);
    expect((await login({ username: 'mia' }, '10.0.0.8')).json().error.code).toBe('totp_required');

    const off = await post(mia, '/me/totp/disable', { password: PASSWORD });
    expect(off.statusCode, off.body).toBe(204);
    expect((await me(mia)).totp).toBe(false);
    expect((await login({ username: 'mia' }, '10.0.0.9')).statusCode).toBe(200);
    expect(h.store.users.byId(miaId)).toMatchObject({ totpSecret: null, totpPendingSecret: null });
    expect((h.store.db.prepare('SELECT count(*) AS n FROM totp_recovery_codes').get() as { n: number }).n).toBe(0);
    expect((await audit()).find((e) => e.action === 'user.totp_disable' && e.target === miaId)).toBeTruthy();
    // And on again with a new secret.
    const again = await turnOn(mia);
    expect((await login({ username: 'mia', totp: code(again.secret) }, '10.0.0.10')).statusCode).toBe(200);
  });

  it('is turned off by an admin’s password reset (the way back in), audited', async () => {
    const miaId = await add('mia');
    await turnOn(await session('mia'));
    const newPassword = 'reset by the owner';
    const reset = await h.call('PATCH', `/api/v1/users/${miaId}`, { token: owner, body: { password: newPassword } });
    expect(reset.statusCode, reset.body).toBe(200);
    const res = await login({ username: 'mia', password: newPassword });
    expect(res.statusCode, res.body).toBe(200);
    expect((await me(res.json().accessToken)).totp).toBe(false);
    expect((await audit()).find((e) => e.action === 'user.update' && e.target === miaId)?.details).toMatchObject({
      passwordReset: true,
      totpDisabled: true,
    });
    // A role change alone leaves it as it is.
    const { secret } = await turnOn(await session('mia', { password: newPassword }), newPassword);
    expect(
      (await h.call('PATCH', `/api/v1/users/${miaId}`, { token: owner, body: { role: 'guest' } })).statusCode,
    ).toBe(200);
    expect((await login({ username: 'mia', password: newPassword }, '10.0.0.11')).json().error.code).toBe(
      'totp_required',
    );
    expect((await login({ username: 'mia', password: newPassword, totp: code(secret) }, '10.0.0.12')).statusCode).toBe(
      200,
    );
  });

  it('works through the relay (same routes, the device as the source address)', async () => {
    const miaId = await add('mia');
    const device = h.remote!.devices.enroll(
      { kind: 'user', userId: miaId, username: 'mia', role: 'member' },
      { publicKey: toBase64(randomBytes(32)), boxPublicKey: toBase64(randomBytes(32)), name: 'mia phone' },
    );
    // The marker's secret is the relay part's own; here the test's stands in for it.
    h.remote!.callerOf = (marker) => (marker === `test.${device.id}` ? device : null);
    const remote = async (method: string, path: string, body?: unknown, token?: string) => {
      const res = await runRemoteRequest(h.app, device, `test.${device.id}`, {
        method,
        path: `/api/v1${path}`,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        body,
      });
      return { status: res.status, body: res.body.length ? JSON.parse(Buffer.from(res.body).toString()) : undefined };
    };
    const mia = (await remote('POST', '/auth/login', { username: 'mia', password: PASSWORD })).body
      .accessToken as string;
    const setup = await remote('POST', '/me/totp/setup', undefined, mia);
    expect(setup.status).toBe(200);
    const secret = setup.body.secret as string;
    const enable = await remote('POST', '/me/totp/enable', { code: code(secret), password: PASSWORD }, mia);
    expect(enable.status).toBe(200);
    // Through the relay too, a fresh session (and the home key slot a session answer carries).
    expect(enable.body).toHaveProperty('accessToken');
    expect(enable.body).toHaveProperty('homeKey');
    h.clock.advance(STEP_MS);
    const required = await remote('POST', '/auth/login', { username: 'mia', password: PASSWORD });
    expect(required.status).toBe(401);
    expect(required.body.error.code).toBe('totp_required');
    const wrongOne = code(secret) === '123456' ? '654321' : '123456';
    for (let i = 0; i < 2; i++)
      expect(
        (await remote('POST', '/auth/login', { username: 'mia', password: PASSWORD, totp: wrongOne })).body.error.code,
      ).toBe('invalid_credentials');
    // The device used up its attempts (totp_required counted too: the address's attempt stays).
    expect(
      (await remote('POST', '/auth/login', { username: 'mia', password: PASSWORD, totp: code(secret) })).body.error
        .code,
    ).toBe('too_many_requests');
    h.clock.advance(300_000);
    const ok = await remote('POST', '/auth/login', { username: 'mia', password: PASSWORD, totp: code(secret) });
    expect(ok.status).toBe(200);
    const disable = await remote('POST', '/me/totp/disable', { password: PASSWORD }, ok.body.accessToken);
    expect(disable.status).toBe(204);
    expect((await me(ok.body.accessToken)).totp).toBe(false);
  });
});
