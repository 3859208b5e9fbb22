import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSetupCode } from '../helpers/http.ts';
import { harness, type Harness } from './harness.ts';
import { connect } from './ws-client.ts';

const INSTALLER = { username: 'fitter', password: 'installer passphrase' };
const HOMEOWNER = { username: 'alex', password: 'homeowner passphrase' };
const DAY = 24 * 3600_000;

/** Installer → owner handover over the API (issue 15; hub/src/auth/handover.ts). */
describe('handover from installer to owner', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function setupInstaller(): Promise<{ token: string; refreshToken: string; id: string }> {
    const res = await h.call('POST', '/api/v1/setup', {
      body: { ...INSTALLER, setupCode: readSetupCode(h.config.dataDir), role: 'installer' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().user.role).toBe('installer');
    return { token: res.json().accessToken, refreshToken: res.json().refreshToken, id: res.json().user.id };
  }

  async function invite(token: string, supportDays?: number): Promise<string> {
    const res = await h.call('POST', '/api/v1/handover/owner-invite', {
      token,
      body: supportDays === undefined ? {} : { supportDays },
    });
    expect(res.statusCode).toBe(201);
    return res.json().code;
  }

  /** A fresh access token (the ManualClock jumps past the short access-token lifetime). */
  async function login(who: { username: string; password: string }): Promise<string> {
    const res = await h.call('POST', '/api/v1/auth/login', { body: who });
    expect(res.statusCode).toBe(200);
    return res.json().accessToken as string;
  }

  async function accept(code: string, who = HOMEOWNER) {
    return h.call('POST', '/api/v1/handover/accept', { body: { code, ...who } });
  }

  it('the installer sets the home up, the owner accepts, the installer is refused; all audited', async () => {
    const installer = await setupInstaller();
    expect((await h.call('GET', '/api/v1/health')).json().setupRequired).toBe(false);
    // Admin-level setup works; owner-only routes and account management do not.
    const room = await h.call('POST', '/api/v1/rooms', { token: installer.token, body: { name: 'Kitchen' } });
    expect(room.statusCode).toBe(201);
    const device = await h.call('POST', '/api/v1/devices', {
      token: installer.token,
      body: { name: 'Lamp', driver: 'echo', roomId: room.json().id, capabilities: ['switch'] },
    });
    expect(device.statusCode).toBe(201);
    const addUser = await h.call('POST', '/api/v1/users', {
      token: installer.token,
      body: { username: 'backdoor', password: 'a long password', role: 'admin' },
    });
    expect([addUser.statusCode, addUser.json().error.code]).toEqual([403, 'forbidden']);
    const backups = await h.call('GET', '/api/v1/backups', { token: installer.token });
    expect(backups.statusCode).toBe(403);

    const code = await invite(installer.token);
    const status = await h.call('GET', '/api/v1/handover', { token: installer.token });
    expect(status.json()).toMatchObject({
      ownerExists: false,
      pendingInvite: { supportDays: 0 },
      installers: [{ username: INSTALLER.username, supportGrant: null }],
    });
    expect(status.json()).not.toHaveProperty('pendingInvite.code');

    const accepted = await accept(code);
    expect(accepted.statusCode).toBe(201);
    expect(accepted.json().user).toMatchObject({ username: HOMEOWNER.username, role: 'owner' });
    const owner = accepted.json().accessToken as string;

    // The installer's access token, refresh token and password all stop working, with the code.
    for (const res of [
      await h.call('GET', '/api/v1/rooms', { token: installer.token }),
      await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: installer.refreshToken } }),
      await h.call('POST', '/api/v1/auth/login', { body: INSTALLER }),
    ]) {
      expect(res.statusCode).toBeGreaterThanOrEqual(401);
      expect(res.statusCode).toBeLessThanOrEqual(403);
    }
    const login = await h.call('POST', '/api/v1/auth/login', { body: INSTALLER });
    expect([login.statusCode, login.json().error.code]).toEqual([403, 'installer_access_ended']);

    // The owner sees what the installer did, attributed to the installer, and the handover itself.
    const audit = (await h.call('GET', '/api/v1/audit?limit=50', { token: owner })).json().entries as {
      actor: { kind: string; username?: string; role?: string };
      action: string;
      target: string;
    }[];
    const byInstaller = audit.filter((e) => e.actor.username === INSTALLER.username).map((e) => e.action);
    expect(byInstaller).toEqual(expect.arrayContaining(['user.add', 'room.add', 'device.add', 'handover.invite']));
    expect(audit.find((e) => e.action === 'device.add')!.actor).toMatchObject({
      kind: 'user',
      username: INSTALLER.username,
      role: 'installer',
    });
    const handedOver = audit.find((e) => e.action === 'handover.accept')!;
    expect(handedOver.actor).toMatchObject({ username: HOMEOWNER.username, role: 'owner' });
    expect(handedOver).toMatchObject({ details: { installers: [INSTALLER.username], supportDays: 0 } });
    // The room and device stay, now the owner's to manage.
    expect((await h.call('GET', '/api/v1/rooms', { token: owner })).json()).toHaveLength(1);
  });

  it('an invite is used once, refused once expired, and refused once an owner exists', async () => {
    // Wrong invites count as failed logins of the address (slowed after 3 by default): allow more here.
    await h.close();
    h = await harness({ config: { auth: { loginSlowAfter: 10 } } });
    const installer = await setupInstaller();
    const stale = await invite(installer.token);
    h.clock.advance(7 * DAY + 1);
    expect((await accept(stale)).json().error.code).toBe('owner_invite_invalid');
    expect((await accept('ABCD-EFGH-JKMN')).json().error.code).toBe('owner_invite_invalid');
    const wrong = await accept('ABCD-EFGH-JKMN');
    expect(wrong.statusCode).toBe(403);

    const token = await login(INSTALLER);
    const code = await invite(token);
    const replaced = await invite(token, 0);
    expect((await accept(code)).json().error.code).toBe('owner_invite_invalid'); // a new invite replaces the old
    expect((await accept(replaced)).statusCode).toBe(201);
    const again = await accept(replaced, { username: 'mallory', password: 'another passphrase' });
    expect([again.statusCode, again.json().error.code]).toEqual([409, 'already_set_up']);
    expect(
      h.store.users
        .list()
        .map((u) => u.username)
        .sort(),
    ).toEqual([HOMEOWNER.username, INSTALLER.username].sort());
  });

  it('an invite made on the console of a fresh hub makes the owner and spends the setup code', async () => {
    const { code } = h.auth.handover.inviteOwner({ kind: 'system', part: 'console' }, {});
    expect((await h.call('GET', '/api/v1/rooms')).json().error.code).toBe('setup_required');
    expect((await accept(code)).statusCode).toBe(201);
    expect(existsSync(join(h.config.dataDir, 'setup-code'))).toBe(false);
    const setup = await h.call('POST', '/api/v1/setup', {
      body: { ...INSTALLER, setupCode: 'ABCD-EFGH-JKMN', role: 'installer' },
    });
    expect(setup.json().error.code).toBe('already_set_up');
  });

  it('wrong invite codes count in the address budget: refused with too_many_requests after the ban threshold', async () => {
    await h.close();
    h = await harness({ config: { auth: { loginSlowAfter: 100, loginBanAfter: 3, loginBanS: 300 } } });
    const installer = await setupInstaller();
    const code = await invite(installer.token);
    for (let i = 0; i < 3; i++) expect((await accept('ABCD-EFGH-JKMN')).json().error.code).toBe('owner_invite_invalid');
    const banned = await accept(code);
    expect([banned.statusCode, banned.json().error.code]).toEqual([429, 'too_many_requests']);
    expect(h.store.users.countRole('owner')).toBe(0);
  });

  it('only the installer invites; a support grant is at most 90 days', async () => {
    await setupInstaller();
    const admin = await h.userToken('admin');
    const res = await h.call('POST', '/api/v1/handover/owner-invite', { token: admin, body: {} });
    expect([res.statusCode, res.json().error.code]).toEqual([403, 'forbidden']);
    const bad = await h.call('POST', '/api/v1/handover/owner-invite', { token: admin, body: { supportDays: 91 } });
    expect(bad.statusCode).toBe(400);
  });

  it('a support grant keeps the installer in until it ends; the owner extends and revokes it', async () => {
    const installer = await setupInstaller();
    const code = await invite(installer.token, 30);
    let owner = (await accept(code)).json().accessToken as string;
    expect((await h.call('GET', '/api/v1/rooms', { token: installer.token })).statusCode).toBe(200);
    const status = (await h.call('GET', '/api/v1/handover', { token: owner })).json();
    expect(status.installers[0].supportGrant).toMatchObject({
      active: true,
      expiresAt: new Date(h.clock.now() + 30 * DAY).toISOString(),
    });

    // A token taken a minute before the grant ends stops working when it ends, not when it expires.
    h.clock.advance(30 * DAY - 60_000);
    const lastMinute = await login(INSTALLER);
    expect((await h.call('GET', '/api/v1/rooms', { token: lastMinute })).statusCode).toBe(200);
    h.clock.advance(60_000);
    const cut = await h.call('GET', '/api/v1/rooms', { token: lastMinute });
    expect([cut.statusCode, cut.json().error.code]).toEqual([403, 'installer_access_ended']);
    // A fresh login is refused with the code too.
    const ended = await h.call('POST', '/api/v1/auth/login', { body: INSTALLER });
    expect([ended.statusCode, ended.json().error.code]).toEqual([403, 'installer_access_ended']);

    // The owner extends it by 5 days: the installer is back in, and it is audited.
    owner = await login(HOMEOWNER);
    const extended = await h.call('PUT', `/api/v1/handover/support/${installer.id}`, {
      token: owner,
      body: { days: 5 },
    });
    expect(extended.statusCode).toBe(200);
    const back = await h.call('POST', '/api/v1/auth/login', { body: INSTALLER });
    expect(back.statusCode).toBe(200);
    const token = back.json().accessToken as string;
    expect((await h.call('GET', '/api/v1/rooms', { token })).statusCode).toBe(200);
    // The installer cannot extend its own grant (owner only).
    expect(
      (await h.call('PUT', `/api/v1/handover/support/${installer.id}`, { token, body: { days: 90 } })).statusCode,
    ).toBe(403);

    // Revoked: refused at once, and revoking twice says there is none.
    expect((await h.call('DELETE', `/api/v1/handover/support/${installer.id}`, { token: owner })).statusCode).toBe(204);
    const refused = await h.call('GET', '/api/v1/rooms', { token });
    expect(refused.statusCode).toBe(401); // its sessions ended (generation up)
    const relogin = await h.call('POST', '/api/v1/auth/login', { body: INSTALLER });
    expect(relogin.json().error.code).toBe('installer_access_ended');
    const twice = await h.call('DELETE', `/api/v1/handover/support/${installer.id}`, { token: owner });
    expect([twice.statusCode, twice.json().error.code]).toEqual([404, 'support_grant_not_found']);
    const actions = h.store.audit.list(50).map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(['handover.accept', 'handover.support_extend', 'handover.support_revoke']),
    );
  });

  it("when a support grant runs out, the installer's open events stream closes then, not at token expiry", async () => {
    const base = `${await h.listen()}/api/v1/events`;
    const installer = await setupInstaller();
    await accept(await invite(installer.token, 2));
    const stream = async (token: string) => {
      const client = connect(base, { headers: { authorization: `Bearer ${token}` } });
      await client.next('ready');
      return client;
    };
    // Streams opened 20 s before the end (within one ping interval), with tokens good for longer.
    h.clock.advance(2 * DAY - 20_000);
    const installerStream = await stream(await login(INSTALLER));
    const ownerStream = await stream(await login(HOMEOWNER));
    h.clock.advance(20_000);
    expect(await installerStream.closed).toEqual({ code: 4401, reason: 'unauthorized' });
    // The owner's stream, closed on the same tick if at all, is still open.
    expect(ownerStream.ws.readyState).toBe(ownerStream.ws.OPEN);
    ownerStream.ws.close();
    const ended = h.store.audit.list(50).find((e) => e.action === 'handover.support_end');
    expect(ended).toMatchObject({ target: installer.id });

    // Extended again, the new end is watched too.
    const extended = await h.call('PUT', `/api/v1/handover/support/${installer.id}`, {
      token: await login(HOMEOWNER),
      body: { days: 1 },
    });
    expect(extended.statusCode).toBe(200);
    h.clock.advance(DAY - 20_000);
    const again = await stream(await login(INSTALLER));
    h.clock.advance(20_000);
    expect(await again.closed).toEqual({ code: 4401, reason: 'unauthorized' });
  });
});
