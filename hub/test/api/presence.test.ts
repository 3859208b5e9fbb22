import type { Role } from '@hearth/model/values';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from './harness.ts';
import { connect } from './ws-client.ts';

const PASSWORD = 'a long enough password';

/**
 * Presence (hub/src/devices/presence.ts, api/routes/presence.ts): each person home or away by hand,
 * from their phone or from a device's state they chose; the home's derived state; who sees what
 * (a guest only themselves, never the home's state); the row on disk and the bus/stream event.
 */
describe('presence', () => {
  let h: Harness;
  let owner: string;
  let fob: string;
  beforeEach(async () => {
    h = await harness();
    owner = await h.setupOwner();
    fob = await h.addDevice('Key fob', ['switch']);
  });
  afterEach(async () => {
    await h.close();
  });

  const person = async (username: string, role: Role) => {
    const id = await h.addUser(owner, username, role, PASSWORD);
    const res = await h.call('POST', '/api/v1/auth/login', { body: { username, password: PASSWORD } });
    return { id, token: res.json().accessToken as string };
  };
  const put = (token: string, body: unknown) => h.call('PUT', '/api/v1/me/presence', { token, body });
  const view = async (token: string) => (await h.call('GET', '/api/v1/presence', { token })).json();

  it('by hand and by phone: the home is someone_home, then everyone_away; members see all, a guest only themselves', async () => {
    const mia = await person('mia', 'member');
    const guest = await person('cleaner', 'guest');
    expect(await view(owner)).toEqual({ home: 'unknown', people: [] });
    const base = await h.listen();
    const stream = connect(`${base}/api/v1/events`, { headers: { authorization: `Bearer ${mia.token}` } });
    const guestStream = connect(`${base}/api/v1/events`, {
      headers: { authorization: `Bearer ${guest.token}` },
    });
    await stream.next('ready');
    await guestStream.next('ready');

    expect((await put(mia.token, { state: 'home', source: 'phone' })).statusCode).toBe(200);
    expect(await stream.next('presence.changed')).toMatchObject({
      userId: mia.id,
      state: 'home',
      home: 'someone_home',
    });
    expect((await put(guest.token, { state: 'away' })).statusCode).toBe(200);
    expect(await view(owner)).toMatchObject({
      home: 'someone_home',
      people: [
        { username: 'mia', state: 'home', source: 'phone' },
        { username: 'cleaner', state: 'away', source: 'manual' },
      ],
    });
    // A guest sees themselves only, and not whether the home is empty.
    expect(await view(guest.token)).toMatchObject({ home: null, people: [{ username: 'cleaner', state: 'away' }] });
    expect((await put(mia.token, { state: 'away' })).statusCode).toBe(200);
    expect(await stream.next('presence.changed', (m) => m.state === 'away' && m.userId === mia.id)).toMatchObject({
      home: 'everyone_away',
    });
    // The guest's stream carried their own changes only, without the home's state: their later
    // change arriving proves mia's, sent before it on the same socket, were not.
    expect((await put(guest.token, { state: 'home' })).statusCode).toBe(200);
    await guestStream.next('presence.changed', (m) => m.state === 'home');
    const guestEvents = guestStream.messages.filter((m) => m.type === 'presence.changed');
    expect(guestEvents).toEqual([
      { type: 'presence.changed', userId: guest.id, state: 'away', at: h.clock.now() },
      { type: 'presence.changed', userId: guest.id, state: 'home', at: h.clock.now() },
    ]);
    expect((await put(guest.token, { state: 'away' })).statusCode).toBe(200);
    // On disk: one row each, home/away and the source, nothing about where.
    expect(h.store.db.prepare('SELECT user_id, state, source, device_id FROM presence ORDER BY user_id').all()).toEqual(
      [
        { user_id: guest.id, state: 'away', source: 'manual', device_id: null },
        { user_id: mia.id, state: 'away', source: 'manual', device_id: null },
      ].sort((a, b) => (a.user_id < b.user_id ? -1 : 1)),
    );
    expect((await h.call('DELETE', '/api/v1/me/presence', { token: guest.token })).statusCode).toBe(204);
    expect((await view(owner)).people.map((p: { username: string }) => p.username)).toEqual(['mia']);
    for (const s of [stream, guestStream]) {
      s.ws.close();
      await s.closed;
    }
  });

  it('from a device: home while its capability has the chosen value, written only when it changes', async () => {
    const mia = await person('mia', 'member');
    expect((await put(mia.token, { device: fob, capability: 'switch', home: true })).statusCode).toBe(200);
    expect(await view(owner)).toMatchObject({ home: 'everyone_away', people: [{ state: 'away', source: 'device' }] });
    const changed: unknown[] = [];
    h.bus.on('test', 'presence.changed', (e) => {
      changed.push(e);
    });
    h.driver.ctx.reportState(fob, { switch: true });
    expect(await view(owner)).toMatchObject({ home: 'someone_home', people: [{ state: 'home', device: fob }] });
    const at = (h.store.db.prepare('SELECT changed_at FROM presence').get() as { changed_at: number }).changed_at;
    h.clock.advance(60_000);
    h.driver.ctx.reportState(fob, { switch: true }); // no change: no write
    expect(h.store.db.prepare('SELECT changed_at FROM presence').get()).toEqual({ changed_at: at });
    h.driver.ctx.reportState(fob, { switch: false });
    expect(await view(owner)).toMatchObject({ home: 'everyone_away', people: [{ state: 'away' }] });
    expect(changed).toMatchObject([
      { userId: mia.id, state: 'home', home: 'someone_home' },
      { userId: mia.id, state: 'away', home: 'everyone_away' },
    ]);
  });

  it('a guest can follow only a device they reach; bad bodies are 400', async () => {
    const guest = await person('cleaner', 'guest');
    const res = await put(guest.token, { device: fob, capability: 'switch', home: true });
    expect([res.statusCode, res.json().error.code]).toEqual([404, 'device_not_found']);
    expect(res.body).not.toContain('Key fob');
    const bad = await put(guest.token, { state: 'somewhere' });
    expect([bad.statusCode, bad.json().error.code]).toEqual([400, 'validation_failed']);
    const wrongCap = await put(owner, { device: fob, capability: 'power', home: 1 });
    expect([wrongCap.statusCode, wrongCap.json().error.code]).toEqual([400, 'validation_failed']);
  });
});
