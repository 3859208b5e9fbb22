import type { Role } from '@hearth/model/values';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { toBase64 } from '@hearth/protocol/encoding';
import { AuthService } from '../../src/auth/service.ts';
import { EventBus } from '../../src/core/bus.ts';
import { isHubError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import type { LiveViewer } from '../../src/recorder/live.ts';
import { subscribeRemote } from '../../src/relay/remote-events.ts';
import { harness, type Harness } from './harness.ts';
import { connect, type Client } from './ws-client.ts';

const PASSWORD = 'a long enough password';
const NEW_PASSWORD = 'a brand new password';

/** What a remote event subscription (through the relay) wrote to its tunnel stream. */
function remoteSink() {
  const sink = { events: [] as string[], failed: [] as string[] };
  return {
    sink,
    out: {
      event: (json: string) => sink.events.push(json),
      fail: (code: string) => sink.failed.push(code),
      queuedBytes: () => 0,
    },
  };
}

/**
 * Removing a user, changing their role or resetting their password ends their sessions at once on
 * the LAN: access tokens issued before are refused (401 `unauthorized`), their open events
 * streams close with 4401 and their remote event subscriptions end. Nobody else's session moves.
 */
describe('a removed, re-roled or reset user is logged out at once', () => {
  let h: Harness;
  let owner: string;
  let base: string;
  beforeEach(async () => {
    h = await harness({ remote: true });
    owner = await h.setupOwner();
    base = `${await h.listen()}/api/v1/events`;
  });
  afterEach(async () => {
    await h.close();
  });

  const add = (username: string, role: Role) => h.addUser(owner, username, role, PASSWORD);
  const login = async (username: string, password = PASSWORD) => {
    const res = await h.call('POST', '/api/v1/auth/login', { body: { username, password } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { accessToken: string; refreshToken: string };
  };
  const events = async (token: string): Promise<Client> => {
    const client = connect(base, { headers: { authorization: `Bearer ${token}` } });
    await client.next('ready');
    return client;
  };
  const expectUnauthorized = async (token: string) => {
    const res = await h.call('GET', '/api/v1/me', { token });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('unauthorized');
  };

  const changes = {
    removal: (id: string) => h.call('DELETE', `/api/v1/users/${id}`, { token: owner }),
    'role change': (id: string) => h.call('PATCH', `/api/v1/users/${id}`, { token: owner, body: { role: 'guest' } }),
    'password reset': (id: string) =>
      h.call('PATCH', `/api/v1/users/${id}`, { token: owner, body: { password: NEW_PASSWORD } }),
  };

  it.each(Object.keys(changes) as (keyof typeof changes)[])(
    '%s: every session of the member ends, the owner and another member stay',
    async (change) => {
      const lampId = await h.addDevice();
      const miaId = await add('mia', 'member');
      await add('max', 'member');
      // Mia on two browsers and a phone (its remote subscription through the relay), Max on one.
      const [phone, laptop, max] = [await login('mia'), await login('mia'), await login('max')];
      const device = h.remote!.devices.enroll(
        { kind: 'user', userId: miaId, username: 'mia', role: 'member' },
        { publicKey: toBase64(randomBytes(32)), boxPublicKey: toBase64(randomBytes(32)), name: 'mia phone' },
      );
      const remote = remoteSink();
      const stopRemote = subscribeRemote(
        h.auth,
        {
          bus: h.bus,
          clock: h.clock,
          log: createLogger({ level: 'silent' }),
          registry: h.registry,
          maxBufferedBytes: 64 * 1024,
        },
        device,
        phone.accessToken,
        remote.out,
      );
      expect(remote.sink.events.map((e) => JSON.parse(e).type)).toEqual(['ready']);
      const sockets = {
        owner: await events(owner),
        mia1: await events(phone.accessToken),
        mia2: await events(laptop.accessToken),
        max: await events(max.accessToken),
      };

      const res = await changes[change](miaId);
      expect(res.statusCode, res.body).toBe(change === 'removal' ? 204 : 200);

      // Both of Mia's streams close as "log in again"; her remote subscription ends with the same code.
      expect(await sockets.mia1.closed).toEqual({ code: 4401, reason: 'unauthorized' });
      expect(await sockets.mia2.closed).toEqual({ code: 4401, reason: 'unauthorized' });
      expect(remote.sink.failed).toEqual(['unauthorized']);
      stopRemote();
      // Every access token she had is refused at once, and no refresh brings one back.
      for (const session of [phone, laptop]) {
        await expectUnauthorized(session.accessToken);
        const refresh = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: session.refreshToken } });
        expect(refresh.statusCode).toBe(401);
        expect(refresh.json().error.code).toBe('unauthorized');
      }
      // A new stream with an old token is refused too.
      expect(await connect(base, { headers: { authorization: `Bearer ${laptop.accessToken}` } }).closed).toEqual({
        code: 4401,
        reason: 'unauthorized',
      });

      // The owner's and Max's streams are open and get the next event; their tokens still work.
      h.driver.ctx.reportState(lampId, { switch: true });
      for (const client of [sockets.owner, sockets.max]) {
        expect(await client.next('device.state', (m) => m.deviceId === lampId && m.value === true)).toMatchObject({
          capability: 'switch',
        });
      }
      expect((await h.call('GET', '/api/v1/me', { token: owner })).statusCode).toBe(200);
      expect((await h.call('GET', '/api/v1/me', { token: max.accessToken })).statusCode).toBe(200);
      expect(sockets.mia1.messages.map((m) => m.type)).not.toContain('device.state');

      // What she can do now: nothing after a removal; log in again (new role, new password) otherwise.
      if (change === 'removal') return;
      const password = change === 'password reset' ? NEW_PASSWORD : PASSWORD;
      const again = await login('mia', password);
      const me = await h.call('GET', '/api/v1/me', { token: again.accessToken });
      expect(me.statusCode).toBe(200);
      expect(me.json()).toMatchObject({ username: 'mia', role: change === 'role change' ? 'guest' : 'member' });
      const fresh = await events(again.accessToken);
      fresh.ws.close();
      await fresh.closed;
      for (const client of [sockets.owner, sockets.max]) client.ws.close();
    },
  );

  it('an old token stays refused after a restart (the session generation is on disk)', async () => {
    const miaId = await add('mia', 'member');
    const before = await login('mia');
    expect((await changes['password reset'](miaId)).statusCode).toBe(200);
    // A second service over the same database, as after a restart: nothing held in memory.
    const restarted = new AuthService({
      store: h.store,
      bus: new EventBus(),
      clock: h.clock,
      log: createLogger({ level: 'silent' }),
      config: h.config.auth,
      dataDir: h.config.dataDir,
    });
    let code: string | undefined;
    try {
      restarted.verifyAccess(before.accessToken);
    } catch (err) {
      code = isHubError(err) ? err.code : 'not a HubError';
    }
    expect(code).toBe('unauthorized');
    const after = await login('mia', NEW_PASSWORD);
    expect(restarted.verifyAccess(after.accessToken).username).toBe('mia');
  });

  it("an admin resetting a member's password leaves the admin's own session as it was", async () => {
    await add('bea', 'admin');
    const miaId = await add('mia', 'member');
    const admin = await login('bea');
    const adminStream = await events(admin.accessToken);
    const mia = await login('mia');
    const miaStream = await events(mia.accessToken);

    const reset = await h.call('PATCH', `/api/v1/users/${miaId}`, {
      token: admin.accessToken,
      body: { password: NEW_PASSWORD },
    });
    expect(reset.statusCode).toBe(200);
    expect(await miaStream.closed).toEqual({ code: 4401, reason: 'unauthorized' });
    await expectUnauthorized(mia.accessToken);
    // The admin sees the audit event of the reset on the same, still open stream.
    expect(await adminStream.next('audit', (m) => m.action === 'user.update' && m.target === miaId)).toMatchObject({
      details: { passwordReset: true },
    });
    expect((await h.call('GET', '/api/v1/users', { token: admin.accessToken })).statusCode).toBe(200);
    const refresh = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: admin.refreshToken } });
    expect(refresh.statusCode).toBe(200);
    adminStream.ws.close();
    await adminStream.closed;
  });
});

describe('a camera live view ends with the session', () => {
  it("removing a member closes their live view with 4401; the owner's keeps getting video", async () => {
    // The recorder's live fan-out, without ffmpeg: every viewer the route adds, until it leaves.
    const viewers = new Set<LiveViewer>();
    const h = await harness({
      recorder: {
        watch: (_id: string, viewer: LiveViewer) => {
          viewers.add(viewer);
          return () => viewers.delete(viewer);
        },
      },
    });
    try {
      const owner = await h.setupOwner();
      const res = await h.call('POST', '/api/v1/users', {
        token: owner,
        body: { username: 'mia', password: PASSWORD, role: 'member' },
      });
      const miaId = res.json().id as string;
      const mia = (await h.call('POST', '/api/v1/auth/login', { body: { username: 'mia', password: PASSWORD } })).json()
        .accessToken as string;
      await h.app.listen({ port: 0, host: '127.0.0.1' });
      const address = h.app.server.address();
      if (!address || typeof address === 'string') throw new Error('no address');
      const watch = (token: string) => {
        const ws = new WebSocket(`ws://127.0.0.1:${address.port}/api/v1/cameras/cam1/live`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const frames: string[] = [];
        ws.on('message', (data) => frames.push(data.toString()));
        ws.on('error', () => {});
        const closed = new Promise<{ code: number; reason: string }>((resolve) =>
          ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
        );
        return { ws, frames, closed };
      };
      const [ownerView, miaView] = [watch(owner), watch(mia)];
      await expect.poll(() => viewers.size).toBe(2);
      for (const viewer of viewers) viewer.send(Buffer.from('frame-1'));
      await expect.poll(() => [ownerView.frames, miaView.frames]).toEqual([['frame-1'], ['frame-1']]);

      expect((await h.call('DELETE', `/api/v1/users/${miaId}`, { token: owner })).statusCode).toBe(204);
      expect(await miaView.closed).toEqual({ code: 4401, reason: 'unauthorized' });
      await expect.poll(() => viewers.size).toBe(1);
      for (const viewer of viewers) viewer.send(Buffer.from('frame-2'));
      await expect.poll(() => ownerView.frames).toEqual(['frame-1', 'frame-2']);
      expect(miaView.frames).toEqual(['frame-1']);
      ownerView.ws.close();
      await ownerView.closed;
    } finally {
      await h.close();
    }
  });
});
