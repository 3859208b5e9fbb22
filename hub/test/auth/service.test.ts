import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords.ts';
import { AuthService } from '../../src/auth/service.ts';
import { EventBus, type AuditEvent } from '../../src/core/bus.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { validateConfig } from '../../src/core/config.ts';
import type { HubError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import { Store } from '../../src/store/store.ts';
import { settle } from '../helpers/settle.ts';
import { tempDir } from '../helpers/temp.ts';

async function codeOf(work: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (err) {
    return (err as HubError).code;
  }
  return undefined;
}

describe('AuthService', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Store;
  let clock: ManualClock;
  let bus: EventBus;
  let audit: AuditEvent[];
  let auth: AuthService;

  beforeEach(() => {
    tmp = tempDir();
    store = Store.open(tmp.dir);
    clock = new ManualClock();
    bus = new EventBus();
    audit = [];
    bus.on('test', 'audit', (e) => {
      audit.push(e);
    });
    const config = validateConfig(
      { auth: { accessTokenTtlS: 60, loginSlowAfter: 2, loginBanAfter: 4, loginBanS: 120 } },
      tmp.dir,
    ).auth;
    auth = new AuthService({ store, bus, clock, log: createLogger({ level: 'silent' }), config, dataDir: tmp.dir });
  });
  afterEach(() => {
    store.close();
    tmp.cleanup();
  });

  it('creates the owner once, logged in, and audits it', async () => {
    expect(auth.setupRequired()).toBe(true);
    const result = await auth.createOwner({ username: 'ann', password: 'correct horse' });
    expect(result.user).toMatchObject({ username: 'ann', role: 'owner' });
    expect(result.expiresIn).toBe(60);
    expect(auth.setupRequired()).toBe(false);
    expect(auth.verifyAccess(result.accessToken)).toEqual({
      kind: 'user',
      userId: result.user.id,
      username: 'ann',
      role: 'owner',
    });
    expect(await codeOf(auth.createOwner({ username: 'eve', password: 'correct horse' }))).toBe('already_set_up');
    expect(store.users.list().map((u) => u.username)).toEqual(['ann']);
    expect(store.users.byUsername('ann')!.passwordHash).toMatch(/^\$argon2id\$/);
    expect(audit.map((e) => e.action)).toEqual(['user.add']);
    expect(store.audit.list(10).map((e) => e.action)).toEqual(['user.add']);
  });

  it('lets only one of two racing setups win', async () => {
    const results = await Promise.allSettled([
      auth.createOwner({ username: 'ann', password: 'correct horse' }),
      auth.createOwner({ username: 'bob', password: 'correct horse' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((failed.reason as HubError).code).toBe('already_set_up');
    expect(store.users.count()).toBe(1);
  });

  it('enforces the password and username policy', async () => {
    expect(await codeOf(auth.createOwner({ username: 'ann', password: 'short' }))).toBe('validation_failed');
    expect(await codeOf(auth.createOwner({ username: 'has space', password: 'long enough' }))).toBe(
      'validation_failed',
    );
    expect(await codeOf(auth.createOwner({ username: '', password: 'long enough' }))).toBe('validation_failed');
    expect(auth.setupRequired()).toBe(true);
  });

  it('answers a wrong password and an unknown user with the same code', async () => {
    await auth.createOwner({ username: 'ann', password: 'correct horse' });
    expect(await codeOf(auth.login('ann', 'wrong horse', '10.0.0.1'))).toBe('invalid_credentials');
    expect(await codeOf(auth.login('nobody', 'correct horse', '10.0.0.2'))).toBe('invalid_credentials');
    const session = await auth.login('ANN', 'correct horse', '10.0.0.3');
    expect(auth.verifyAccess(session.accessToken).username).toBe('ann');
  });

  it('slows an address down, then refuses it, while another address still logs in', async () => {
    await auth.createOwner({ username: 'ann', password: 'correct horse' });
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 5; i++) codes.push(await codeOf(settle(auth.login('ann', 'wrong', '10.0.0.9'), clock)));
    expect(codes).toEqual([
      'invalid_credentials',
      'invalid_credentials',
      'invalid_credentials',
      'invalid_credentials',
      'too_many_requests',
    ]);
    // Even the right password is refused from the banned address...
    expect(await codeOf(auth.login('ann', 'correct horse', '10.0.0.9'))).toBe('too_many_requests');
    // ...and accepted from any other.
    expect(await codeOf(auth.login('ann', 'correct horse', '10.0.0.10'))).toBeUndefined();
  });

  it('rotates refresh tokens and revokes the family when an old one comes back', async () => {
    const { refreshToken } = await auth.createOwner({ username: 'ann', password: 'correct horse' });
    const second = auth.refresh(refreshToken);
    const third = auth.refresh(second.refreshToken);
    expect(auth.verifyAccess(third.accessToken).username).toBe('ann');
    expect(await codeOf(() => auth.refresh(refreshToken))).toBe('unauthorized');
    expect(await codeOf(() => auth.refresh(third.refreshToken))).toBe('unauthorized');
    expect(audit.map((e) => e.action)).toContain('auth.refresh_reuse');
  });

  it('logs out by revoking the family', async () => {
    const { refreshToken } = await auth.createOwner({ username: 'ann', password: 'correct horse' });
    auth.logout(refreshToken);
    expect(await codeOf(() => auth.refresh(refreshToken))).toBe('unauthorized');
    expect(() => auth.logout('never-issued')).not.toThrow();
  });

  it('expires access tokens and reads the role from the current user row', async () => {
    const { accessToken, user } = await auth.createOwner({ username: 'ann', password: 'correct horse' });
    store.users.insert({
      id: 'usr_b',
      username: 'bob',
      passwordHash: await hashPassword('bob password'),
      role: 'member',
      createdAt: clock.now(),
    });
    const bob = await auth.login('bob', 'bob password', '10.0.0.1');
    store.db.prepare("UPDATE users SET role = 'guest' WHERE id = 'usr_b'").run();
    expect(auth.verifyAccess(bob.accessToken).role).toBe('guest');
    store.db.prepare("DELETE FROM users WHERE id = 'usr_b'").run();
    expect(await codeOf(() => auth.verifyAccess(bob.accessToken))).toBe('unauthorized');
    clock.advance(60_000);
    expect(await codeOf(() => auth.verifyAccess(accessToken))).toBe('token_expired');
    expect(user.role).toBe('owner');
  });
});
