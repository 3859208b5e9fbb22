import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Role } from '@hearth/model/values';
import { harness, OWNER, type Harness } from './harness.ts';
import { connect } from './ws-client.ts';

const PASSWORD = 'a long enough password';
const MINUTE = 60_000;

type Res = { statusCode: number; body: string; json(): { error: { code: string } } };
const expectError = (res: Res, status: number, code: string) =>
  expect({ status: res.statusCode, code: res.json().error?.code }).toEqual({ status, code });

/**
 * Sharing (hub/src/devices/sharing.ts, api/routes/shares.ts): a guest with one shared plug sees
 * exactly that plug in every device answer, can switch it only if it was shared to control, and
 * loses it at the share's time on the manual clock, open events streams included. What is not
 * shared answers like a missing device (404, no name). Owners and admins make and end shares; the
 * home holds a bounded number.
 */
describe('sharing', () => {
  let h: Harness;
  let owner: string;
  let plug: string;
  let heater: string;
  let commands: { device: string; capability: string; value: unknown }[];
  beforeEach(async () => {
    h = await harness({ config: { devices: { maxShares: 4 } } });
    owner = await h.setupOwner();
    plug = await h.addDevice('Kitchen plug');
    heater = await h.addDevice('Bedroom heater');
    // What leaves toward the devices: every command the driver was asked to send.
    commands = [];
    const send = h.driver.command.bind(h.driver);
    h.driver.command = async (device, capability, value) => {
      commands.push({ device: device.id, capability, value });
      return send(device, capability, value);
    };
  });
  afterEach(async () => {
    await h.close();
  });

  const login = async (username: string, password = PASSWORD) =>
    (await h.call('POST', '/api/v1/auth/login', { body: { username, password } })).json().accessToken as string;
  const person = async (username: string, role: Role) => {
    const id = await h.addUser(owner, username, role, PASSWORD);
    const res = await h.call('POST', '/api/v1/auth/login', { body: { username, password: PASSWORD } });
    return { id, token: res.json().accessToken as string };
  };
  const share = async (body: Record<string, unknown>, token = owner) => {
    const res = await h.call('POST', '/api/v1/shares', { token, body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; active: boolean; until: string | null };
  };
  const switchOn = (token: string, device: string) =>
    h.call('POST', `/api/v1/devices/${device}/commands`, { token, body: { capability: 'switch', value: true } });
  const deviceIds = async (token: string) =>
    ((await h.call('GET', '/api/v1/devices', { token })).json() as { id: string }[]).map((d) => d.id);

  it('a guest sees nothing until a plug is shared, then exactly that plug; unshared ones answer like missing ones', async () => {
    const guest = await person('cleaner', 'guest');
    expect(await deviceIds(guest.token)).toEqual([]);
    const before = await h.call('GET', `/api/v1/devices/${heater}`, { token: guest.token });
    expectError(before, 404, 'device_not_found');

    await share({ userId: guest.id, device: plug, access: 'view' });
    expect(await deviceIds(guest.token)).toEqual([plug]);
    const one = await h.call('GET', `/api/v1/devices/${plug}`, { token: guest.token });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ id: plug, name: 'Kitchen plug' });

    // The heater is exactly as absent as an id that never existed: same status, code, no name.
    const hidden = await h.call('GET', `/api/v1/devices/${heater}`, { token: guest.token });
    const missing = await h.call('GET', '/api/v1/devices/dev_nothere', { token: guest.token });
    expectError(hidden, 404, 'device_not_found');
    expectError(missing, 404, 'device_not_found');
    expect(hidden.body).not.toContain('Bedroom');
    expectError(await switchOn(guest.token, heater), 404, 'device_not_found');
    expect(commands).toEqual([]);
  });

  it('view only: the command is refused with share_view_only and nothing is sent; control: it is sent and confirmed', async () => {
    const guest = await person('neighbour', 'guest');
    const view = await share({ userId: guest.id, device: plug, access: 'view' });
    expectError(await switchOn(guest.token, plug), 403, 'share_view_only');
    expect(commands).toEqual([]);

    await h.call('DELETE', `/api/v1/shares/${view.id}`, { token: owner });
    await share({ userId: guest.id, device: plug, access: 'control' });
    const on = await switchOn(guest.token, plug);
    expect(on.statusCode, on.body).toBe(200);
    expect(on.json()).toMatchObject({ id: plug, state: { switch: true } });
    expect(commands).toEqual([{ device: plug, capability: 'switch', value: true }]);
    // The audit log names the guest as the one who switched it.
    const row = h.store.db
      .prepare("SELECT actor FROM audit_log WHERE action = 'device.command' ORDER BY rowid DESC LIMIT 1")
      .get() as { actor: string };
    expect(JSON.parse(row.actor)).toMatchObject({ kind: 'user', username: 'neighbour', role: 'guest' });
  });

  it('a room share reaches every device in the room, and only while it is in the room', async () => {
    const guest = await person('sitter', 'guest');
    const room = (await h.call('POST', '/api/v1/rooms', { token: owner, body: { name: 'Kitchen' } })).json()
      .id as string;
    await h.call('PATCH', `/api/v1/devices/${plug}`, { token: owner, body: { roomId: room } });
    await share({ userId: guest.id, room, access: 'control' });
    expect(await deviceIds(guest.token)).toEqual([plug]);
    expect((await switchOn(guest.token, plug)).statusCode).toBe(200);
    await h.call('PATCH', `/api/v1/devices/${plug}`, { token: owner, body: { roomId: null } });
    expect(await deviceIds(guest.token)).toEqual([]);
    // Removing the room ends its shares (a new room of the same id could never inherit them).
    await h.call('DELETE', `/api/v1/rooms/${room}`, { token: owner });
    expect(h.store.db.prepare('SELECT COUNT(*) AS n FROM shares').get()).toEqual({ n: 0 });
  });

  it('members keep reaching everything; only owners and admins share, and never with an owner or admin', async () => {
    const member = await person('teen', 'member');
    const admin = await person('partner', 'admin');
    const guest = await person('visitor', 'guest');
    expect((await deviceIds(member.token)).sort()).toEqual([plug, heater].sort());
    expect((await switchOn(member.token, heater)).statusCode).toBe(200);
    expectError(
      await h.call('POST', '/api/v1/shares', {
        token: member.token,
        body: { userId: guest.id, device: plug, access: 'view' },
      }),
      403,
      'forbidden',
    );
    expectError(
      await h.call('POST', '/api/v1/shares', {
        token: owner,
        body: { userId: admin.id, device: plug, access: 'view' },
      }),
      409,
      'share_user_role',
    );
    // An admin may share, and must name exactly one thing.
    await share({ userId: guest.id, device: plug, access: 'view' }, admin.token);
    expectError(
      await h.call('POST', '/api/v1/shares', {
        token: owner,
        body: { userId: guest.id, device: plug, room: 'room_x', access: 'view' },
      }),
      400,
      'validation_failed',
    );
    expectError(
      await h.call('POST', '/api/v1/shares', {
        token: owner,
        body: { userId: guest.id, device: 'dev_no', access: 'view' },
      }),
      404,
      'device_not_found',
    );
    // A time that is not one, or one already past, is refused naming the field.
    for (const until of ['next tuesday', h.clock.now() - 1]) {
      const bad = await h.call('POST', '/api/v1/shares', {
        token: owner,
        body: { userId: guest.id, device: plug, access: 'view', until },
      });
      expectError(bad, 400, 'validation_failed');
      expect(bad.json()).toMatchObject({ error: { details: { field: 'until' } } });
    }
    // A guest lists what is shared with them; only admins list everyone's.
    const mine = await h.call('GET', '/api/v1/me/shares', { token: guest.token });
    expect(mine.json()).toMatchObject([{ kind: 'device', targetId: plug, access: 'view', active: true }]);
    expectError(await h.call('GET', '/api/v1/shares', { token: guest.token }), 403, 'forbidden');
  });

  it('ends by itself at its time: the API at once, and an open events stream drops the plug', async () => {
    const guest = await person('cleaner', 'guest');
    // Within the stream's first keep-alive ping (30 s of the same manual clock), so the advance
    // below cannot end the stream for a missed pong.
    const until = h.clock.now() + 20_000;
    const made = await share({ userId: guest.id, device: plug, access: 'control', until });
    expect(made.until).toBe(new Date(until).toISOString());

    const client = connect(`${await h.listen()}/api/v1/events`, {
      headers: { authorization: `Bearer ${guest.token}` },
    });
    await client.next('ready');
    h.driver.ctx.reportState(heater, { switch: true });
    h.driver.ctx.reportState(plug, { switch: true });
    await client.next('device.state', (m) => m.deviceId === plug);

    h.clock.advance(20_000 - 1);
    expect(await deviceIds(guest.token)).toEqual([plug]);
    h.clock.advance(1);
    // The stream hears the plug is gone at that moment, while it stays open.
    const removed = await client.next('device.removed', (m) => m.deviceId === plug);
    expect(removed.at).toBe(until);
    expect(await deviceIds(guest.token)).toEqual([]);
    expectError(await switchOn(guest.token, plug), 404, 'device_not_found');
    expect(commands).toEqual([]);
    h.driver.ctx.reportState(plug, { switch: false });
    h.driver.ctx.reportState(heater, { switch: false });
    // A later event proves the stream is alive and carried nothing of either device after removal.
    await share({ userId: guest.id, device: heater, access: 'view' });
    await client.next('device.added', (m) => m.deviceId === heater);
    const afterRemoval = client.messages.slice(client.messages.indexOf(removed) + 1);
    expect(afterRemoval.map((m) => [m.type, m.deviceId])).toEqual([['device.added', heater]]);
    // The ended share is gone from the disk and the lists.
    expect(h.store.db.prepare('SELECT kind, target_id FROM shares').all()).toEqual([
      { kind: 'device', target_id: heater },
    ]);
    expect((await h.call('GET', `/api/v1/shares?userId=${guest.id}`, { token: owner })).json()).toMatchObject([
      { kind: 'device', targetId: heater },
    ]);
    client.ws.close();
    await client.closed;
  });

  it('weekly windows open and close it in the home time zone ("Tuesdays 9–12")', async () => {
    // 2026-01-06 is a Tuesday; 07:59:45 UTC is 08:59:45 in Berlin (tokens are made after the jump).
    h.clock.advance(Date.UTC(2026, 0, 6, 7, 59, 45) - h.clock.now());
    owner = await login('owner', OWNER.password);
    const guest = await person('cleaner', 'guest');
    await h.call('PATCH', '/api/v1/home', { token: owner, body: { timezone: 'Europe/Berlin' } });
    const made = await share({
      userId: guest.id,
      device: plug,
      access: 'control',
      windows: [{ days: ['tue'], from: '09:00', to: '12:00' }],
    });
    expect(made.active).toBe(false);
    expect(await deviceIds(guest.token)).toEqual([]);
    const client = connect(`${await h.listen()}/api/v1/events`, {
      headers: { authorization: `Bearer ${guest.token}` },
    });
    await client.next('ready');
    h.clock.advance(15_000);
    await client.next('device.added', (m) => m.deviceId === plug);
    expect(await deviceIds(guest.token)).toEqual([plug]);
    expect((await switchOn(guest.token, plug)).statusCode).toBe(200);
    client.ws.close();
    await client.closed;
    // 11:59 UTC is 12:59 in Berlin: closed again (the guest logs in anew, the token lasts 15 min).
    h.clock.advance(4 * 60 * MINUTE - 15_000);
    const again = await login('cleaner');
    owner = await login('owner', OWNER.password);
    expect(await deviceIds(again)).toEqual([]);
    expectError(await switchOn(again, plug), 404, 'device_not_found');
    expect(commands).toHaveLength(1);
    // Bad windows are refused naming the window.
    const bad = await h.call('POST', '/api/v1/shares', {
      token: owner,
      body: {
        userId: guest.id,
        device: plug,
        access: 'view',
        windows: [{ days: ['tue'], from: '12:00', to: '09:00' }],
      },
    });
    expectError(bad, 400, 'validation_failed');
  });

  it('a home holds at most devices.maxShares shares: the next is refused with share_limit and not stored', async () => {
    const guest = await person('many', 'guest');
    for (let i = 0; i < 4; i++) await share({ userId: guest.id, device: i % 2 ? plug : heater, access: 'view' });
    const refused = await h.call('POST', '/api/v1/shares', {
      token: owner,
      body: { userId: guest.id, device: plug, access: 'control' },
    });
    expectError(refused, 409, 'share_limit');
    expect(h.store.db.prepare('SELECT COUNT(*) AS n FROM shares').get()).toEqual({ n: 4 });
    // Ending one makes room again.
    const [first] = (await h.call('GET', '/api/v1/shares', { token: owner })).json() as { id: string }[];
    expect((await h.call('DELETE', `/api/v1/shares/${first!.id}`, { token: owner })).statusCode).toBe(204);
    expectError(await h.call('DELETE', `/api/v1/shares/${first!.id}`, { token: owner }), 404, 'share_not_found');
    await share({ userId: guest.id, device: plug, access: 'control' });
  });

  it('a removed device or person takes their shares along', async () => {
    const guest = await person('gone', 'guest');
    await share({ userId: guest.id, device: plug, access: 'view' });
    await share({ userId: guest.id, device: heater, access: 'view' });
    await h.call('DELETE', `/api/v1/devices/${plug}`, { token: owner });
    expect(h.store.db.prepare('SELECT target_id FROM shares').all()).toEqual([{ target_id: heater }]);
    await h.call('DELETE', `/api/v1/users/${guest.id}`, { token: owner });
    expect(h.store.db.prepare('SELECT COUNT(*) AS n FROM shares').get()).toEqual({ n: 0 });
    expect((await h.call('GET', '/api/v1/shares', { token: owner })).json()).toEqual([]);
  });

  it('per device, who reaches it: people by role, and each share with its person', async () => {
    const guest = await person('cleaner', 'guest');
    await person('teen', 'member');
    await share({ userId: guest.id, device: plug, access: 'view' });
    const res = await h.call('GET', `/api/v1/devices/${plug}/people`, { token: owner });
    expect(res.statusCode, res.body).toBe(200);
    expect(
      (res.json() as { username: string; access: string; via: string }[])
        .map((p) => [p.username, p.access, p.via])
        .sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    ).toEqual([
      ['cleaner', 'view', 'device'],
      ['owner', 'control', 'role'],
      ['teen', 'control', 'role'],
    ]);
  });
});
