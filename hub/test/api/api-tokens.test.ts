import type { Role } from '@hearth/model/values';
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toBase64 } from '@hearth/protocol/encoding';
import { LAST_USE_WRITE_INTERVAL_MS, MAX_API_TOKENS_PER_USER } from '../../src/auth/api-tokens.ts';
import { createLogger } from '../../src/core/logger.ts';
import { subscribeRemote } from '../../src/relay/remote-events.ts';
import { TOKEN_REFUSED_PREFIXES } from '../../src/api/token-access.ts';
import { concrete, harness, type Harness } from './harness.ts';
import { connect } from './ws-client.ts';

const PASSWORD = 'a long enough password';

/**
 * Keys for scripts (hub/src/auth/api-tokens.ts, api/token-access.ts): made by a person, shown
 * once, stored as a digest, never above the person's role, cut to their scope and device subset,
 * refused on account routes and through the relay, ended by revocation, removal, password reset
 * and (above the new role) a role change. Every refusal is asserted by status and code.
 */
describe('keys for scripts', () => {
  let h: Harness;
  let owner: string;
  let lamp: string;
  let heater: string;
  beforeEach(async () => {
    h = await harness({ remote: true });
    owner = await h.setupOwner();
    lamp = await h.addDevice('Lamp');
    heater = await h.addDevice('Heater');
  });
  afterEach(async () => {
    await h.close();
  });

  const login = async (username: string, password = PASSWORD) => {
    const res = await h.call('POST', '/api/v1/auth/login', { body: { username, password } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().accessToken as string;
  };
  const person = async (username: string, role: Role) => ({
    id: await h.addUser(owner, username, role, PASSWORD),
    token: await login(username),
  });
  const makeKey = async (session: string, body: Record<string, unknown>) => {
    const res = await h.call('POST', '/api/v1/me/tokens', { token: session, body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; name: string; token: string };
  };
  const expectError = async (
    res: { statusCode: number; json(): { error: { code: string } } },
    status: number,
    code: string,
  ) => {
    expect({ status: res.statusCode, code: res.json().error.code }).toEqual({ status, code });
  };
  const switchOn = (key: string, device: string) =>
    h.call('POST', `/api/v1/devices/${device}/commands`, { token: key, body: { capability: 'switch', value: true } });

  it('is shown once, kept only as a digest, listed with its use and never its secret', async () => {
    const created = await makeKey(owner, { name: 'heating script', scope: 'control' });
    expect(created.token).toMatch(/^hsk_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ name: 'heating script', scope: 'control', devices: null, lastUsedAt: null });
    // On disk: the SHA-256 only; the secret is in no column of the row.
    const row = h.store.db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(created.id) as Record<string, unknown>;
    expect(row.token_hash).toBe(createHash('sha256').update(created.token).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(created.token.slice(4));

    expect((await h.call('GET', '/api/v1/devices', { token: created.token })).statusCode).toBe(200);
    const list = await h.call('GET', '/api/v1/me/tokens', { token: owner });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual([
      {
        id: created.id,
        name: 'heating script',
        scope: 'control',
        devices: null,
        createdAt: new Date(h.clock.now()).toISOString(),
        lastUsedAt: new Date(h.clock.now()).toISOString(),
      },
    ]);
    expect(list.body).not.toContain(created.token.slice(4));
    // Another person sees none of the owner's keys and cannot revoke them.
    const mia = await person('mia', 'member');
    expect((await h.call('GET', '/api/v1/me/tokens', { token: mia.token })).json()).toEqual([]);
    await expectError(
      await h.call('DELETE', `/api/v1/me/tokens/${created.id}`, { token: mia.token }),
      404,
      'api_token_not_found',
    );
  });

  it('writes its last use to disk at most once an hour, and lists the exact one', async () => {
    const key = await makeKey(owner, { name: 'poller', scope: 'read' });
    const onDisk = () =>
      (
        h.store.db.prepare('SELECT last_used_at FROM api_tokens WHERE id = ?').get(key.id) as {
          last_used_at: number | null;
        }
      ).last_used_at;
    const listed = async () =>
      (await h.call('GET', '/api/v1/me/tokens', { token: owner })).json()[0].lastUsedAt as string;
    const t0 = h.clock.now();
    // A script polling every second for a minute: one write, at its first use.
    for (let i = 0; i < 60; i++) {
      expect((await h.call('GET', '/api/v1/devices', { token: key.token })).statusCode).toBe(200);
      h.clock.advance(1000);
    }
    expect(onDisk()).toBe(t0);
    expect(await listed()).toBe(new Date(t0 + 59_000).toISOString());
    h.clock.advance(LAST_USE_WRITE_INTERVAL_MS - 61_000);
    await h.call('GET', '/api/v1/devices', { token: key.token });
    expect(onDisk()).toBe(t0);
    h.clock.advance(1000);
    await h.call('GET', '/api/v1/devices', { token: key.token });
    expect(onDisk()).toBe(t0 + LAST_USE_WRITE_INTERVAL_MS);
  });

  it('a read key reads but cannot command; a control key commands and is audited by name, but no admin route', async () => {
    const read = await makeKey(owner, { name: 'dashboard', scope: 'read' });
    expect((await h.call('GET', `/api/v1/devices/${lamp}`, { token: read.token })).statusCode).toBe(200);
    await expectError(await switchOn(read.token, lamp), 403, 'api_token_scope');
    expect(h.registry.get(lamp, { kind: 'system', part: 'test' }).state.switch).toBeUndefined();

    const control = await makeKey(owner, { name: 'night script', scope: 'control' });
    const on = await switchOn(control.token, lamp);
    expect(on.statusCode, on.body).toBe(200);
    expect(on.json().state.switch).toBe(true);
    const audit = h.store.audit.list(50).find((e) => e.action === 'device.command');
    expect(audit?.actor).toMatchObject({
      kind: 'user',
      username: 'owner',
      token: { id: control.id, name: 'night script', scope: 'control' },
    });
    // The owner may add devices; the owner's control key may not.
    await expectError(
      await h.call('POST', '/api/v1/devices', {
        token: control.token,
        body: { name: 'X', driver: 'echo', capabilities: ['switch'] },
      }),
      403,
      'api_token_scope',
    );
    await expectError(
      await h.call('POST', '/api/v1/rooms', { token: read.token, body: { name: 'Hall' } }),
      403,
      'api_token_scope',
    );
  });

  it('a device-subset key reaches its devices only: the others do not exist for it', async () => {
    const key = await makeKey(owner, { name: 'lamp only', scope: 'control', devices: [lamp] });
    const list = await h.call('GET', '/api/v1/devices', { token: key.token });
    expect(list.json().map((d: { id: string }) => d.id)).toEqual([lamp]);
    await expectError(await h.call('GET', `/api/v1/devices/${heater}`, { token: key.token }), 404, 'device_not_found');
    await expectError(await switchOn(key.token, heater), 404, 'device_not_found');
    expect((await switchOn(key.token, lamp)).statusCode).toBe(200);
    // Audited by the key's name; the row leaves its device list out.
    const row = h.store.db
      .prepare("SELECT actor FROM audit_log WHERE action = 'device.command' ORDER BY id DESC LIMIT 1")
      .get() as { actor: string };
    expect(JSON.parse(row.actor)).toEqual({
      kind: 'user',
      userId: expect.any(String),
      username: 'owner',
      role: 'member',
      token: { id: key.id, name: 'lamp only', scope: 'control' },
    });
    // Routes that speak of other devices (rules, scenes, rooms) are beyond it.
    await expectError(await h.call('GET', '/api/v1/rooms', { token: key.token }), 403, 'api_token_scope');
    await expectError(await h.call('POST', '/api/v1/rules', { token: key.token, body: {} }), 403, 'api_token_scope');

    // Its events stream carries its device and nothing of the heater.
    const base = `${await h.listen()}/api/v1/events`;
    const client = connect(base, { headers: { authorization: `Bearer ${key.token}` } });
    await client.next('ready');
    h.driver.ctx.reportState(heater, { switch: true });
    h.driver.ctx.reportState(lamp, { switch: false });
    await client.next('device.state', (m) => m.deviceId === lamp);
    expect(client.messages.filter((m) => m.deviceId === heater)).toEqual([]);
    // A device it cannot see cannot be put in a key either.
    const mia = await person('mia', 'guest');
    await expectError(
      await h.call('POST', '/api/v1/me/tokens', {
        token: mia.token,
        body: { name: 'x', scope: 'read', devices: [lamp] },
      }),
      404,
      'device_not_found',
    );
    client.ws.close();
    await client.closed;
  });

  it('never reaches account routes, whatever its scope', async () => {
    const key = await makeKey(owner, { name: 'admin script', scope: 'admin' });
    const refused: [string, string, unknown][] = [
      ['POST', '/api/v1/me/tokens', { name: 'more', scope: 'read' }],
      ['GET', '/api/v1/me/tokens', undefined],
      ['DELETE', `/api/v1/me/tokens/${key.id}`, undefined],
      ['GET', '/api/v1/users', undefined],
      ['POST', '/api/v1/users', { username: 'eve', password: PASSWORD, role: 'admin' }],
      ['POST', '/api/v1/me/password', { currentPassword: 'x', newPassword: PASSWORD }],
      ['POST', '/api/v1/me/totp/setup', undefined],
      ['POST', '/api/v1/backups', {}],
      ['POST', '/api/v1/handover/owner-invite', {}],
      ['POST', '/api/v1/remote/devices', {}],
      ['POST', '/api/v1/remote/invites', {}],
      ['POST', '/api/v1/integrations/mqtt-users', { username: 'x', scope: 'read', topics: ['#'] }],
    ];
    for (const [method, url, body] of refused) {
      const res = await h.call(method as 'GET', url, { token: key.token, body });
      expect({ route: `${method} ${url}`, status: res.statusCode, code: res.json().error.code }).toEqual({
        route: `${method} ${url}`,
        status: 403,
        code: 'api_token_refused',
      });
    }
    // An admin key is still the person's below admin: it adds a room.
    expect((await h.call('POST', '/api/v1/rooms', { token: key.token, body: { name: 'Hall' } })).statusCode).toBe(201);
    expect(h.store.users.list().map((u) => u.username)).toEqual(['owner']);
  });

  it('route walk: a read key changes nothing anywhere, no key reaches an account route, an admin key no owner-only route', async () => {
    const read = await makeKey(owner, { name: 'r', scope: 'read' });
    const admin = await makeKey(owner, { name: 'a', scope: 'admin' });
    const routes = h.app.routeTable.filter((r) => r.access !== 'public' && !r.websocket && r.method !== 'HEAD');
    expect(routes.length).toBeGreaterThan(50);
    const refusedRoute = (url: string) => TOKEN_REFUSED_PREFIXES.some((p) => url === p || url.startsWith(`${p}/`));
    const seen = { readRefused: 0, accountRefused: 0, ownerRefused: 0 };
    for (const route of routes) {
      const where = `${route.method} ${route.url}`;
      const call = (token: string) =>
        h.call(route.method as 'GET', concrete(route.url), { token, body: route.method === 'GET' ? undefined : {} });
      if (route.method !== 'GET') {
        const res = await call(read.token);
        expect({ where, status: res.statusCode, code: res.json().error.code }).toEqual({
          where,
          status: 403,
          code: refusedRoute(route.url) ? 'api_token_refused' : 'api_token_scope',
        });
        seen.readRefused++;
      }
      if (refusedRoute(route.url)) {
        const res = await call(admin.token);
        expect({ where, status: res.statusCode, code: res.json().error.code }).toEqual({
          where,
          status: 403,
          code: 'api_token_refused',
        });
        seen.accountRefused++;
      } else if (route.access === 'owner') {
        const res = await call(admin.token);
        expect({ where, status: res.statusCode, code: res.json().error.code }).toEqual({
          where,
          status: 403,
          code: 'api_token_scope',
        });
        seen.ownerRefused++;
      }
    }
    expect(seen.readRefused).toBeGreaterThan(30);
    expect(seen.accountRefused).toBeGreaterThan(10);
    expect(h.store.users.list()).toHaveLength(1);
  });

  it('is never more than its person: a member cannot make an admin key, a guest only a read one', async () => {
    const mia = await person('mia', 'member');
    await expectError(
      await h.call('POST', '/api/v1/me/tokens', { token: mia.token, body: { name: 'x', scope: 'admin' } }),
      403,
      'api_token_scope_exceeds_role',
    );
    const guest = await person('gus', 'guest');
    await expectError(
      await h.call('POST', '/api/v1/me/tokens', { token: guest.token, body: { name: 'x', scope: 'control' } }),
      403,
      'api_token_scope_exceeds_role',
    );
    const guestKey = await makeKey(guest.token, { name: 'look', scope: 'read' });
    expect((await h.call('GET', '/api/v1/devices', { token: guestKey.token })).json()).toEqual([]);
    await expectError(
      await h.call('GET', `/api/v1/devices/${lamp}`, { token: guestKey.token }),
      404,
      'device_not_found',
    );
    await expectError(await switchOn(guestKey.token, lamp), 403, 'api_token_scope');
    const miaKey = await makeKey(mia.token, { name: 'switch', scope: 'control' });
    await expectError(
      await h.call('POST', '/api/v1/rooms', { token: miaKey.token, body: { name: 'Hall' } }),
      403,
      'api_token_scope',
    );
    expect(h.store.db.prepare('SELECT COUNT(*) AS n FROM api_tokens').get()).toEqual({ n: 2 });
  });

  it('bounds keys per person and their names', async () => {
    for (let i = 0; i < MAX_API_TOKENS_PER_USER; i++) await makeKey(owner, { name: `key ${i}`, scope: 'read' });
    await expectError(
      await h.call('POST', '/api/v1/me/tokens', { token: owner, body: { name: 'one more', scope: 'read' } }),
      409,
      'api_token_limit',
    );
    await expectError(
      await h.call('POST', '/api/v1/me/tokens', { token: owner, body: { name: 'x'.repeat(65), scope: 'read' } }),
      400,
      'validation_failed',
    );
    await expectError(
      await h.call('POST', '/api/v1/me/tokens', { token: owner, body: { name: '   ', scope: 'read' } }),
      400,
      'validation_failed',
    );
    await expectError(
      await h.call('POST', '/api/v1/me/tokens', { token: owner, body: { name: 'x', scope: 'root' } }),
      400,
      'validation_failed',
    );
    expect(h.store.db.prepare('SELECT COUNT(*) AS n FROM api_tokens').get()).toEqual({ n: MAX_API_TOKENS_PER_USER });
  });

  it('a revoked key is 401 at once and its open events stream closes', async () => {
    const key = await makeKey(owner, { name: 'gone soon', scope: 'read' });
    const keep = await makeKey(owner, { name: 'stays', scope: 'read' });
    const base = `${await h.listen()}/api/v1/events`;
    const client = connect(base, { headers: { authorization: `Bearer ${key.token}` } });
    await client.next('ready');
    expect((await h.call('DELETE', `/api/v1/me/tokens/${key.id}`, { token: owner })).statusCode).toBe(204);
    expect(await client.closed).toEqual({ code: 4401, reason: 'unauthorized' });
    await expectError(await h.call('GET', '/api/v1/devices', { token: key.token }), 401, 'unauthorized');
    expect(await connect(base, { headers: { authorization: `Bearer ${key.token}` } }).closed).toEqual({
      code: 4401,
      reason: 'unauthorized',
    });
    expect((await h.call('GET', '/api/v1/devices', { token: keep.token })).statusCode).toBe(200);
    await expectError(
      await h.call('DELETE', `/api/v1/me/tokens/${key.id}`, { token: owner }),
      404,
      'api_token_not_found',
    );
    expect(h.store.audit.list(50).map((e) => e.action)).toEqual(
      expect.arrayContaining(['api_token.create', 'api_token.revoke']),
    );
  });

  it('ends with its person: removal and password reset end all keys, a role change those above the new role', async () => {
    const ann = await person('ann', 'admin');
    const adminKey = await makeKey(ann.token, { name: 'a', scope: 'admin' });
    const controlKey = await makeKey(ann.token, { name: 'c', scope: 'control' });
    expect(
      (await h.call('PATCH', `/api/v1/users/${ann.id}`, { token: owner, body: { role: 'member' } })).statusCode,
    ).toBe(200);
    await expectError(await h.call('GET', '/api/v1/devices', { token: adminKey.token }), 401, 'unauthorized');
    expect((await switchOn(controlKey.token, lamp)).statusCode).toBe(200);

    expect(
      (await h.call('PATCH', `/api/v1/users/${ann.id}`, { token: owner, body: { password: 'another long password' } }))
        .statusCode,
    ).toBe(200);
    await expectError(await h.call('GET', '/api/v1/devices', { token: controlKey.token }), 401, 'unauthorized');

    const bob = await person('bob', 'member');
    const bobKey = await makeKey(bob.token, { name: 'b', scope: 'control' });
    expect((await h.call('DELETE', `/api/v1/users/${bob.id}`, { token: owner })).statusCode).toBe(204);
    await expectError(await h.call('GET', '/api/v1/devices', { token: bobKey.token }), 401, 'unauthorized');

    // Changing one's own password ends one's keys too.
    const ownerKey = await makeKey(owner, { name: 'o', scope: 'read' });
    const changed = await h.call('POST', '/api/v1/me/password', {
      token: owner,
      body: { currentPassword: 'correct horse battery', newPassword: 'a new owner password' },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    await expectError(await h.call('GET', '/api/v1/devices', { token: ownerKey.token }), 401, 'unauthorized');
    expect(h.store.db.prepare('SELECT COUNT(*) AS n FROM api_tokens').get()).toEqual({ n: 0 });
  });

  it('is not taken through the relay', async () => {
    const key = await makeKey(owner, { name: 'script', scope: 'read' });
    const ownerRow = h.store.users.byUsername('owner')!;
    const device = h.remote!.devices.enroll(
      { kind: 'user', userId: ownerRow.id, username: 'owner', role: 'owner' },
      { publicKey: toBase64(randomBytes(32)), boxPublicKey: toBase64(randomBytes(32)), name: 'owner phone' },
    );
    // The marker's secret is the relay part's own; here the test's stands in for it.
    h.remote!.callerOf = (marker) => (marker === `test.${device.id}` ? device : null);
    const remote = (token: string) =>
      h.call('GET', '/api/v1/devices', { token, headers: { 'x-hearth-remote': `test.${device.id}` } });
    expect((await remote(owner)).statusCode).toBe(200);
    await expectError(await remote(key.token), 403, 'local_only');
    // Nor for a remote events subscription.
    const failed: string[] = [];
    subscribeRemote(
      h.auth,
      {
        bus: h.bus,
        clock: h.clock,
        log: createLogger({ level: 'silent' }),
        registry: h.registry,
        maxBufferedBytes: 64 * 1024,
      },
      device,
      key.token,
      { event: () => {}, fail: (code) => failed.push(code), queuedBytes: () => 0 },
    );
    expect(failed).toEqual(['local_only']);
  });
});
