import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyApi } from './api-harness.ts';

const MIN = 60_000;

/**
 * Sharing on the history and energy surfaces (devices/sharing.ts through the registry's one
 * check): a guest with one shared plug reads its history, its command and state log and its energy,
 * and nothing of the other plug (404 like an unknown id, absent from lists); when the share ends at
 * its time on the manual clock, the plug goes the same way.
 */
describe('sharing: history and energy', () => {
  let h: Awaited<ReturnType<typeof historyApi>>;
  let plug: string;
  let heater: string;
  let guest: string;
  let guestId: string;
  let until: number;

  beforeAll(async () => {
    h = await historyApi({ maintenanceIntervalMs: 600_000 });
    plug = await h.addDevice('Kitchen plug', ['switch', 'power', 'energy']);
    heater = await h.addDevice('Bedroom heater', ['switch', 'power', 'energy']);
    for (const id of [plug, heater]) h.driver.ctx.reportAvailability(id, true);
    for (let i = 0; i < 30; i++) {
      h.driver.ctx.reportState(plug, { power: 10 + i, energy: 1 + i * 0.01 });
      h.driver.ctx.reportState(heater, { power: 900 + i, energy: 5 + i * 0.5 });
      h.clock.advance(MIN);
    }
    const owner = await h.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'owner', password: 'correct horse battery' },
    });
    h.ownerToken = owner.json().accessToken;
    guest = await h.userToken('guest', 'cleaner');
    guestId = 'usr_cleaner';
    until = h.clock.now() + 10 * MIN;
    const made = await h.call(
      'POST',
      '/api/v1/shares',
      h.ownerToken,
      {},
      {
        userId: guestId,
        device: plug,
        access: 'view',
        until,
      },
    );
    expect(made.statusCode, made.body).toBe(201);
    // Something in the event log after the share (a guest reads it only from there).
    h.clock.advance(1000);
    for (const id of [plug, heater]) h.driver.ctx.reportState(id, { switch: true });
  });
  afterAll(() => h.close());

  const get = (url: string) => h.call('GET', url, guest);
  const outcome = (res: { statusCode: number; json(): { error?: { code: string } } }) => [
    res.statusCode,
    res.json().error?.code ?? 'ok',
  ];
  const range = () => `from=${h.clock.now() - 40 * MIN}&to=${h.clock.now() + 1}`;

  it('the shared plug answers on every history and energy route; the other plug does not exist', async () => {
    const history = await get(`/api/v1/history?device=${plug}&capability=power&${range()}`);
    expect(history.statusCode, history.body).toBe(200);
    expect(history.json().points.length).toBeGreaterThan(0);
    expect(outcome(await get(`/api/v1/history?device=${heater}&capability=power&${range()}`))).toEqual([
      404,
      'device_not_found',
    ]);

    const events = await get(`/api/v1/history/events?${range()}`);
    expect(events.statusCode).toBe(200);
    const seen = new Set((events.json().events as { deviceId: string }[]).map((e) => e.deviceId));
    expect([...seen]).toEqual([plug]);
    expect(outcome(await get(`/api/v1/history/events?device=${heater}`))).toEqual([404, 'device_not_found']);

    const energy = await get(`/api/v1/energy?device=${plug}&period=day&tz=UTC&${range()}`);
    expect(energy.statusCode, energy.body).toBe(200);
    expect(outcome(await get(`/api/v1/energy?device=${heater}&period=day&tz=UTC&${range()}`))).toEqual([
      404,
      'device_not_found',
    ]);
    const costs = await get(`/api/v1/energy/summary?period=day&tz=UTC&${range()}`);
    expect(costs.statusCode, costs.body).toBe(200);
    expect(costs.body).toContain(plug);
    expect(costs.body).not.toContain(heater);
    expect(costs.body).not.toContain('Bedroom');
  });

  it('at the share’s time the plug goes from history and energy too', async () => {
    h.clock.advance(until - h.clock.now());
    guest = (
      await h.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: 'cleaner', password: 'cleaner password' },
      })
    ).json().accessToken;
    expect(outcome(await get(`/api/v1/history?device=${plug}&capability=power&${range()}`))).toEqual([
      404,
      'device_not_found',
    ]);
    expect(outcome(await get(`/api/v1/energy?device=${plug}&period=day&tz=UTC&${range()}`))).toEqual([
      404,
      'device_not_found',
    ]);
    expect((await get(`/api/v1/history/events?${range()}`)).json().events).toEqual([]);
  });
});

/**
 * A guest's event log of a shared device: only what happened since the share was made, and
 * nobody else's identity (others' commands show their actor's kind only; the guest's own show
 * them). Before this, a guest read the device's whole log with every commander's user name.
 */
describe('sharing: a guest’s event log', () => {
  let h: Awaited<ReturnType<typeof historyApi>>;
  let plug: string;
  let guest: string;
  let member: string;
  let sharedAt: number;

  beforeAll(async () => {
    h = await historyApi({ maintenanceIntervalMs: 600_000 });
    plug = await h.addDevice('Hall plug', ['switch']);
    h.driver.ctx.reportAvailability(plug, true);
    h.ownerToken = (
      await h.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: 'owner', password: 'correct horse battery' },
      })
    ).json().accessToken;
    member = await h.userToken('member', 'mia');
    guest = await h.userToken('guest', 'cleaner');
    h.clock.advance(MIN);
    expect((await command(member, true)).statusCode).toBe(200);
    h.clock.advance(10 * MIN);
    sharedAt = h.clock.now();
    const made = await h.call(
      'POST',
      '/api/v1/shares',
      h.ownerToken,
      {},
      { userId: 'usr_cleaner', device: plug, access: 'control' },
    );
    expect(made.statusCode, made.body).toBe(201);
    h.clock.advance(MIN);
    expect((await command(member, false)).statusCode).toBe(200);
    h.clock.advance(MIN);
    expect((await command(guest, true)).statusCode).toBe(200);
  });
  afterAll(() => h.close());

  const command = (token: string, value: boolean) =>
    h.app.inject({
      method: 'POST',
      url: `/api/v1/devices/${plug}/commands`,
      headers: { authorization: `Bearer ${token}` },
      payload: { capability: 'switch', value },
    });
  type Event = { at: string; kind: string; value: unknown; actor: unknown };

  it('holds only events since the share, with the member’s command anonymous and the guest’s own named', async () => {
    for (const url of [`/api/v1/history/events?device=${plug}`, '/api/v1/history/events']) {
      const res = await h.call('GET', url, guest);
      expect(res.statusCode, res.body).toBe(200);
      const events = res.json().events as Event[];
      expect(
        events.every((e) => Date.parse(e.at) >= sharedAt),
        url,
      ).toBe(true);
      expect(events.filter((e) => e.kind === 'command').map((e) => [e.value, e.actor])).toEqual([
        [true, expect.objectContaining({ kind: 'user', username: 'cleaner' })],
        [false, { kind: 'user' }],
      ]);
      expect(res.body).not.toContain('mia');
      expect(res.body).not.toContain('owner');
    }
    const csv = await h.call('GET', `/api/v1/history/events?device=${plug}&format=csv`, guest);
    expect(csv.statusCode).toBe(200);
    expect(csv.body).not.toContain('mia');
    // The commands before the share (and the plug coming online) are not in it at all.
    expect(csv.body.trim().split('\r\n').length - 1).toBe(4);
  });

  it('the owner still reads the whole log with every actor', async () => {
    const events = (await h.call('GET', `/api/v1/history/events?device=${plug}&kind=command`, h.ownerToken)).json()
      .events as Event[];
    expect(events.map((e) => (e.actor as { username: string }).username)).toEqual(['cleaner', 'mia', 'mia']);
  });
});
