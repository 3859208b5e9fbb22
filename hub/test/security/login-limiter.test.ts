import { afterEach, describe, expect, it } from 'vitest';
import { harness, OWNER, type Harness } from '../api/harness.ts';

/**
 * The login limiter (issue 12): failures count per address and per account, and one account's
 * success never clears another's failures; a guess at one account spread over many addresses is
 * refused too, while the owner's existing sessions and the devices they logged in from go on.
 */
describe('login limiter', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  // No slow-down (the test clock does not run by itself): only the refusals are looked at.
  const start = (auth: Record<string, number>) =>
    harness({ config: { auth: { loginSlowAfter: 1000, loginAccountSlowAfter: 1000, ...auth } } });
  const login = (address: string, username: string, password: string) =>
    h.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress: address,
      payload: { username, password },
    });
  const codeOf = (res: { statusCode: number; json(): any }) => [
    res.statusCode,
    res.statusCode === 200 ? 'ok' : res.json().error.code,
  ];

  it("keeps a guest's guesses at the owner counted although the guest logs in to their own account in between", async () => {
    h = await start({ loginBanAfter: 7 });
    await h.setupOwner();
    await h.addUser(
      await h.app
        .inject({ method: 'POST', url: '/api/v1/auth/login', payload: OWNER })
        .then((r) => r.json().accessToken),
      'gus',
      'guest',
      'gus password',
    );
    const seen: unknown[] = [];
    // Three guesses, one login of their own, three guesses: 6 failures from 10.0.0.5.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3; i++) seen.push(codeOf(await login('10.0.0.5', OWNER.username, `guess ${round}${i}`)));
      seen.push(codeOf(await login('10.0.0.5', 'gus', 'gus password')));
    }
    expect(seen).toEqual([
      [401, 'invalid_credentials'],
      [401, 'invalid_credentials'],
      [401, 'invalid_credentials'],
      [200, 'ok'],
      [401, 'invalid_credentials'],
      [401, 'invalid_credentials'],
      [401, 'invalid_credentials'],
      [200, 'ok'],
    ]);
    // The seventh failure spends the budget: the next guess (and even the guest's own login) is
    // refused. Before, each of the guest's own logins wiped the count and nothing was ever refused.
    expect(codeOf(await login('10.0.0.5', OWNER.username, 'guess 7'))).toEqual([401, 'invalid_credentials']);
    expect(codeOf(await login('10.0.0.5', OWNER.username, 'guess 8'))).toEqual([429, 'too_many_requests']);
    expect(codeOf(await login('10.0.0.5', 'gus', 'gus password'))).toEqual([429, 'too_many_requests']);
  });

  it("forgives a person's own typos when they get their password right", async () => {
    h = await start({ loginBanAfter: 3 });
    await h.setupOwner();
    for (let round = 0; round < 3; round++) {
      expect(codeOf(await login('10.0.0.6', OWNER.username, 'typo'))).toEqual([401, 'invalid_credentials']);
      expect(codeOf(await login('10.0.0.6', OWNER.username, 'typo again'))).toEqual([401, 'invalid_credentials']);
      expect(codeOf(await login('10.0.0.6', OWNER.username, OWNER.password))).toEqual([200, 'ok']);
    }
  });

  it('refuses a guess at one account spread over many addresses, but not the owner on a device that logged in before, nor their sessions', async () => {
    h = await start({ loginBanAfter: 3, loginAccountBanAfter: 8 });
    await h.setupOwner();
    // The owner's phone logged in before the attack and holds a session.
    const phone = await login('10.0.1.1', OWNER.username, OWNER.password);
    expect(phone.statusCode).toBe(200);
    const { refreshToken, accessToken } = phone.json();

    // Two guesses from each of four addresses: under every address's budget, 8 for the account.
    for (let a = 1; a <= 4; a++) {
      for (let i = 0; i < 2; i++)
        expect(codeOf(await login(`10.0.2.${a}`, OWNER.username, `guess ${a}.${i}`))).toEqual([
          401,
          'invalid_credentials',
        ]);
    }
    // A fifth address is refused for the account, even with the right password (so the refusal
    // says nothing about it), and an unknown username is throttled alike once it is guessed at.
    const fresh = await login('10.0.2.5', OWNER.username, OWNER.password);
    expect(codeOf(fresh)).toEqual([429, 'too_many_requests']);
    expect(fresh.json().error.details).toMatchObject({ scope: 'account' });
    expect(codeOf(await login('10.0.2.6', OWNER.username.toUpperCase(), 'guess'))).toEqual([429, 'too_many_requests']);

    // The owner is not locked out: the session goes on, the refresh token rotates, and the phone,
    // which logged in from its address before, logs in again with the password.
    expect((await h.call('GET', '/api/v1/me', { token: accessToken })).statusCode).toBe(200);
    expect((await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken } })).statusCode).toBe(200);
    expect(codeOf(await login('10.0.1.1', OWNER.username, OWNER.password))).toEqual([200, 'ok']);
    // Other accounts are untouched.
    h.store.users.insert({
      id: 'usr_mia',
      username: 'mia',
      passwordHash: h.store.users.byUsername(OWNER.username)!.passwordHash,
      role: 'member',
      createdAt: h.clock.now(),
    });
    expect(codeOf(await login('10.0.2.7', 'mia', OWNER.password))).toEqual([200, 'ok']);

    // After loginBanS the account takes password logins from new places again.
    h.clock.advance(h.config.auth.loginBanS * 1000);
    expect(codeOf(await login('10.0.2.8', OWNER.username, OWNER.password))).toEqual([200, 'ok']);
  });
});
