import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toBase64 } from '@hearth/protocol/encoding';
import { harness, OWNER, type Harness } from './harness.ts';

const PASSWORD = 'a long enough password';

describe('user management', () => {
  let h: Harness;
  let owner: string;
  beforeEach(async () => {
    h = await harness({ remote: true });
    owner = await h.setupOwner();
  });
  afterEach(async () => {
    await h.close();
  });

  const add = (token: string, username: string, role: string, password = PASSWORD) =>
    h.call('POST', '/api/v1/users', { token, body: { username, password, role } });
  const login = async (username: string, password = PASSWORD) => {
    const res = await h.call('POST', '/api/v1/auth/login', { body: { username, password } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { accessToken: string; refreshToken: string };
  };
  const lastAudit = () => h.store.audit.list(1)[0]!;
  const enroll = (userId: string, username: string, role: 'admin' | 'member') => {
    const key = () => toBase64(randomBytes(32));
    return h.remote!.devices.enroll(
      { kind: 'user', userId, username, role },
      { publicKey: key(), boxPublicKey: key(), name: `${username} phone` },
    );
  };

  it('an owner adds users: 201, listed without hashes, rows and audit on disk; duplicates and weak passwords refused', async () => {
    const res = await add(owner, 'bea', 'admin');
    expect(res.statusCode).toBe(201);
    const bea = res.json();
    expect(bea).toMatchObject({ username: 'bea', role: 'admin' });
    expect(h.store.users.byId(bea.id)).toMatchObject({ username: 'bea', role: 'admin' });
    expect(lastAudit()).toMatchObject({
      action: 'user.add',
      target: bea.id,
      actor: { kind: 'user', username: 'owner' },
    });

    const list = await h.call('GET', '/api/v1/users', { token: owner });
    expect(list.statusCode).toBe(200);
    expect(list.json().map((u: { username: string }) => u.username)).toEqual(['owner', 'bea']);
    for (const u of list.json()) expect(Object.keys(u).sort()).toEqual(['createdAt', 'id', 'role', 'username']);

    const dup = await add(owner, 'bea', 'member');
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('username_taken');
    const weak = await add(owner, 'cid', 'member', 'short');
    expect(weak.statusCode).toBe(400);
    expect(weak.json().error.code).toBe('validation_failed');
    expect(h.store.users.byUsername('cid')).toBeUndefined();
    // The new user can log in with the password set for them.
    await login('bea');
  });

  it('members cannot manage users; admins cannot make, change or remove an owner; nobody removes or re-roles themselves', async () => {
    const member = await h.userToken('member');
    const denied = await h.call('GET', '/api/v1/users', { token: member });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('forbidden');
    expect((await add(member, 'eve', 'guest')).statusCode).toBe(403);

    const adminId = (await add(owner, 'bea', 'admin')).json().id;
    const admin = (await login('bea')).accessToken;
    const ownerId = h.store.users.byUsername(OWNER.username)!.id;
    for (const res of [
      await add(admin, 'mal', 'owner'),
      await h.call('PATCH', `/api/v1/users/${ownerId}`, { token: admin, body: { password: 'taken over now' } }),
      await h.call('DELETE', `/api/v1/users/${ownerId}`, { token: admin }),
    ]) {
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('forbidden');
    }
    expect(h.store.users.byUsername('mal')).toBeUndefined();
    await login(OWNER.username, OWNER.password);
    // An admin still manages members.
    expect((await add(admin, 'cid', 'member')).statusCode).toBe(201);

    const memberId = h.store.users.byUsername('cid')!.id;
    const promote = await h.call('PATCH', `/api/v1/users/${memberId}`, { token: admin, body: { role: 'owner' } });
    expect(promote.statusCode).toBe(403);
    expect(h.store.users.byId(memberId)!.role).toBe('member');

    for (const res of [
      await h.call('DELETE', `/api/v1/users/${ownerId}`, { token: owner }),
      await h.call('PATCH', `/api/v1/users/${ownerId}`, { token: owner, body: { role: 'admin' } }),
      await h.call('DELETE', `/api/v1/users/${adminId}`, { token: admin }),
    ]) {
      expect(res.statusCode).toBe(409);
      expect(res.json().error.code).toBe('self_change_refused');
    }
    expect(h.store.users.byId(ownerId)!.role).toBe('owner');
    const empty = await h.call('PATCH', `/api/v1/users/${memberId}`, { token: owner, body: {} });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.code).toBe('validation_failed');
    const missing = await h.call('DELETE', '/api/v1/users/usr_nobody', { token: owner });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('user_not_found');
  });

  it('a role change or a password reset ends the sessions, the access tokens already issued included', async () => {
    const id = (await add(owner, 'bea', 'admin')).json().id;
    const session = await login('bea');
    const device = enroll(id, 'bea', 'admin');

    const demoted = await h.call('PATCH', `/api/v1/users/${id}`, { token: owner, body: { role: 'member' } });
    expect(demoted.statusCode).toBe(200);
    expect(demoted.json().role).toBe('member');
    const refresh = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: session.refreshToken } });
    expect(refresh.statusCode).toBe(401);
    expect(refresh.json().error.code).toBe('unauthorized');
    // The access token issued before the change is refused at once (its session generation is old).
    const stale = await h.call('GET', '/api/v1/users', { token: session.accessToken });
    expect(stale.statusCode).toBe(401);
    expect(stale.json().error.code).toBe('unauthorized');
    // Its remote device held the old role: revoked, to be enrolled again on the LAN.
    expect(h.remote!.devices.all().map((d) => d.id)).not.toContain(device.id);
    expect(h.remote!.devices.revokedKeys()).toContain(device.publicKey);
    expect(lastAudit()).toMatchObject({
      action: 'user.update',
      target: id,
      actor: { username: 'owner' },
      details: { role: 'member', previousRole: 'admin', remoteDevices: 1 },
    });

    const again = await login('bea');
    const reset = await h.call('PATCH', `/api/v1/users/${id}`, {
      token: owner,
      body: { password: 'a brand new password' },
    });
    expect(reset.statusCode).toBe(200);
    expect(lastAudit()).toMatchObject({
      action: 'user.update',
      target: id,
      actor: { username: 'owner' },
      details: { passwordReset: true },
    });
    expect(
      (await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: again.refreshToken } })).statusCode,
    ).toBe(401);
    const old = await h.call('POST', '/api/v1/auth/login', { body: { username: 'bea', password: PASSWORD } });
    expect(old.json().error.code).toBe('invalid_credentials');
    await login('bea', 'a brand new password');
  });

  it('removing a user ends their refresh and access tokens and revokes only their remote devices, audited', async () => {
    const id = (await add(owner, 'bea', 'member')).json().id;
    const session = await login('bea');
    const theirs = enroll(id, 'bea', 'member');
    const ownerId = h.store.users.byUsername(OWNER.username)!.id;
    const mine = enroll(ownerId, 'owner', 'admin');

    const removed = await h.call('DELETE', `/api/v1/users/${id}`, { token: owner });
    expect(removed.statusCode).toBe(204);
    expect(h.store.users.byId(id)).toBeUndefined();
    expect(h.store.db.prepare('SELECT count(*) AS n FROM refresh_tokens WHERE user_id = ?').get(id)).toEqual({ n: 0 });

    const refresh = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: session.refreshToken } });
    expect(refresh.statusCode).toBe(401);
    expect(refresh.json().error.code).toBe('unauthorized');
    const me = await h.call('GET', '/api/v1/me', { token: session.accessToken });
    expect(me.statusCode).toBe(401);
    expect(me.json().error.code).toBe('unauthorized');

    expect(h.remote!.devices.all().map((d) => d.id)).toEqual([mine.id]);
    expect(h.remote!.devices.revokedKeys()).toEqual([theirs.publicKey]);
    expect(lastAudit()).toMatchObject({
      action: 'user.remove',
      target: id,
      actor: { kind: 'user', username: 'owner' },
      details: { username: 'bea', role: 'member', remoteDevices: 1 },
    });
    const twice = await h.call('DELETE', `/api/v1/users/${id}`, { token: owner });
    expect(twice.json().error.code).toBe('user_not_found');
  });
});
