import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TARIFFS, MAX_WINDOWS } from '../../src/energy/tariffs.ts';
import { historyApi } from '../history/api-harness.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const at = (y: number, m: number, d: number, h = 0, mi = 0) => Date.UTC(y, m - 1, d, h, mi);

type Api = Awaited<ReturnType<typeof historyApi>>;

/**
 * The home's summary (consumption, each device's share, the untracked rest under a mains meter,
 * solar production) and who may see and change what: owner/admin set tariffs and roles, members
 * read, guests see only the devices shared with them and no home totals. Bounds and bad plans
 * are refused with their codes.
 */
describe('energy summary, roles and access', () => {
  let h: Api;
  let mains: string;
  let kettle: string;
  let fridge: string;
  let solar: string;
  let lamp: string;
  let admin: string;
  let member: string;
  let guest: string;

  beforeAll(async () => {
    h = await historyApi({ maintenanceIntervalMs: 600_000 }, at(2026, 5, 31, 23, 30));
    mains = await h.addDevice('Mains', ['energy', 'power']);
    kettle = await h.addDevice('Kettle', ['energy', 'power', 'switch']);
    fridge = await h.addDevice('Fridge', ['energy', 'power']);
    solar = await h.addDevice('Solar', ['energy', 'power']);
    lamp = await h.addDevice('Lamp', ['switch']);
    // One day in UTC, read at hh:30 (the first reading, the day before, sets the base): per hour the mains meter +1.0 kWh, the kettle +0.25, the fridge +0.05,
    // the panels +0.5: the untracked rest is 0.7 kWh an hour.
    const meters = { mains: 0, kettle: 0, fridge: 0, solar: 0 };
    for (let hr = 0; hr <= 24; hr++) {
      h.driver.ctx.reportState(mains, { energy: meters.mains, power: 1000 });
      h.driver.ctx.reportState(kettle, { energy: meters.kettle, power: 250 });
      h.driver.ctx.reportState(fridge, { energy: meters.fridge, power: 50 });
      h.driver.ctx.reportState(solar, { energy: meters.solar, power: 500 });
      meters.mains = Math.round((meters.mains + 1) * 100) / 100;
      meters.kettle = Math.round((meters.kettle + 0.25) * 100) / 100;
      meters.fridge = Math.round((meters.fridge + 0.05) * 100) / 100;
      meters.solar = Math.round((meters.solar + 0.5) * 100) / 100;
      h.clock.advance(HOUR);
    }
    h.history.maintain(Infinity);
    admin = await h.userToken('admin');
    member = await h.userToken('member');
    guest = await h.userToken('guest', 'guest1');
    h.ownerToken = await h.userToken('owner', 'owner2');
  }, 60_000);
  afterAll(() => h.close());

  const summary = async (token: string, query = '') => {
    const res = await h.call(
      'GET',
      `/api/v1/energy/summary?period=day&tz=UTC&from=${at(2026, 6, 1)}&to=${at(2026, 6, 2)}${query}`,
      token,
    );
    expect(res.statusCode).toBe(200);
    return res.json();
  };
  const put = (url: string, token: string, body: unknown) => h.call('PUT', url, token, {}, body);
  const code = (res: { json(): unknown }) => (res.json() as { error: { code: string } }).error.code;

  it('without roles the home is the sum of its appliances, each with its share', async () => {
    const s = await summary(h.ownerToken);
    expect(s.wholeHome).toBe(true);
    expect(s.currency).toBeNull();
    expect(s.periods).toHaveLength(1);
    expect(s.periods[0]).toMatchObject({ start: '2026-06-01T00:00:00Z', hours: 24, kWh: 43.2, untrackedKWh: null });
    expect(s.totals).toEqual({ kWh: 43.2, cost: null, untrackedKWh: null, productionKWh: null });
    expect(s.powerW).toBe(1800);
    const byName = Object.fromEntries(s.devices.map((d: { name: string }) => [d.name, d]));
    expect(byName.Kettle).toMatchObject({ kWh: 6, share: 0.138889, role: null });
    expect(byName.Lamp).toBeUndefined();
  });

  it('only owner and admin set roles; members and guests are refused', async () => {
    expect(code(await put(`/api/v1/energy/roles/${mains}`, member, { role: 'mains' }))).toBe('forbidden');
    expect((await put(`/api/v1/energy/roles/${mains}`, guest, { role: 'mains' })).statusCode).toBe(403);
    const ok = await put(`/api/v1/energy/roles/${mains}`, admin, { role: 'mains' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ device: mains, role: 'mains' });
    expect((await put(`/api/v1/energy/roles/${solar}`, h.ownerToken, { role: 'production' })).statusCode).toBe(200);
    // One mains meter per home; a role needs an energy meter; an unknown device is a 404.
    const taken = await put(`/api/v1/energy/roles/${kettle}`, admin, { role: 'mains' });
    expect([taken.statusCode, code(taken)]).toEqual([409, 'energy_role_taken']);
    expect(code(await put(`/api/v1/energy/roles/${lamp}`, admin, { role: 'production' }))).toBe('capability_not_found');
    expect(code(await put('/api/v1/energy/roles/nope', admin, { role: 'production' }))).toBe('device_not_found');
    expect(code(await put(`/api/v1/energy/roles/${kettle}`, admin, { role: 'grid' }))).toBe('validation_failed');
    const audit = h.store.db.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'energy.role'").get() as {
      n: number;
    };
    expect(audit.n).toBe(2);
  });

  it('with a mains meter: the home is the meter, the rest is untracked, production beside it', async () => {
    const s = await summary(member);
    expect(s.wholeHome).toBe(true);
    expect(s.periods[0]).toMatchObject({ kWh: 24, untrackedKWh: 16.8, productionKWh: 12 });
    expect(s.totals).toEqual({ kWh: 24, cost: null, untrackedKWh: 16.8, productionKWh: 12 });
    expect(s.powerW).toBe(1000);
    const byName = Object.fromEntries(s.devices.map((d: { name: string }) => [d.name, d]));
    expect(byName.Kettle).toMatchObject({ kWh: 6, share: 0.25 });
    expect(byName.Fridge).toMatchObject({ kWh: 1.2, share: 0.05 });
    expect(byName.Mains).toMatchObject({ role: 'mains', share: null });
    expect(byName.Solar).toMatchObject({ role: 'production', kWh: 12, share: null });
  });

  it('a guest sees only shared devices (none here) and no home totals', async () => {
    const s = await summary(guest);
    expect(s.wholeHome).toBe(false);
    expect(s.devices).toEqual([]);
    expect(s.totals).toEqual({ kWh: 0, cost: null, untrackedKWh: null, productionKWh: null });
    expect(s.powerW).toBeNull();
    expect(await (await h.call('GET', '/api/v1/energy/roles', guest)).json()).toEqual({});
    expect(code(await h.call('GET', `/api/v1/energy/costs?device=${kettle}`, guest))).toBe('device_not_found');
    expect(code(await h.call('GET', `/api/v1/energy/standby?device=${kettle}`, guest))).toBe('device_not_found');
    expect((await h.call('GET', '/api/v1/energy/tariffs', guest)).statusCode).toBe(403);
  });

  it('only owner and admin set tariffs; everyone from member up reads them', async () => {
    const plan = { currency: 'EUR', tariffs: [{ name: 'Flat', validFrom: '2026-01-01', price: 0.25, windows: [] }] };
    expect(code(await put('/api/v1/energy/tariffs', member, plan))).toBe('forbidden');
    expect((await put('/api/v1/energy/tariffs', guest, plan)).statusCode).toBe(403);
    expect((await put('/api/v1/energy/tariffs', admin, plan)).statusCode).toBe(200);
    const read = await h.call('GET', '/api/v1/energy/tariffs', member);
    expect(read.json()).toEqual(plan);
    const s = await summary(member);
    expect(s.totals.cost).toBe(6);
    expect(s.devices.find((d: { name: string }) => d.name === 'Kettle').cost).toBe(1.5);
  });

  it('a guest with a shared device sees that device, its cost, and still nothing of the home', async () => {
    const share = await h.call(
      'POST',
      '/api/v1/shares',
      h.ownerToken,
      {},
      { userId: 'usr_guest1', device: kettle, access: 'view' },
    );
    expect(share.statusCode).toBe(201);
    const s = await summary(guest);
    expect(s.wholeHome).toBe(false);
    expect(s.devices.map((d: { name: string }) => d.name)).toEqual(['Kettle']);
    expect(s.devices[0]).toMatchObject({ kWh: 6, cost: 1.5, share: 1 });
    expect(s.totals).toEqual({ kWh: 6, cost: 1.5, untrackedKWh: null, productionKWh: null });
    expect(s.powerW).toBe(250);
    expect(
      (
        await h.call(
          'GET',
          `/api/v1/energy/costs?device=${kettle}&tz=UTC&from=${at(2026, 6, 1)}&to=${at(2026, 6, 2)}`,
          guest,
        )
      ).json().total,
    ).toEqual({
      kWh: 6,
      cost: 1.5,
    });
    expect(code(await h.call('GET', `/api/v1/energy/costs?device=${mains}`, guest))).toBe('device_not_found');
    expect(code(await put(`/api/v1/energy/roles/${kettle}`, guest, { role: 'production' }))).toBe('forbidden');
  });

  it('bounds the periods of one answer (history_range_too_large) and checks the zone', async () => {
    const long = await h.call(
      'GET',
      `/api/v1/energy/summary?period=day&from=${at(2020, 1, 1)}&to=${at(2026, 6, 2)}`,
      member,
    );
    expect([long.statusCode, code(long)]).toEqual([400, 'history_range_too_large']);
    const costs = await h.call(
      'GET',
      `/api/v1/energy/costs?device=${kettle}&period=day&from=${at(2020, 1, 1)}`,
      member,
    );
    expect(code(costs)).toBe('history_range_too_large');
    const zone = await h.call('GET', '/api/v1/energy/summary?tz=Mars/Olympus', member);
    expect([zone.statusCode, code(zone)]).toEqual([400, 'validation_failed']);
    const reversed = await h.call('GET', `/api/v1/energy/summary?from=${at(2026, 6, 2)}&to=${at(2026, 6, 1)}`, member);
    expect(code(reversed)).toBe('range_invalid');
  });

  it('refuses plans over the bounds and plans that make no sense, with their codes', async () => {
    const tariff = (i: number, windows: unknown[] = []) => ({
      name: `T${i}`,
      validFrom: new Date(Date.UTC(2026, 0, 1 + i)).toISOString().slice(0, 10),
      price: 0.3,
      windows,
    });
    const tooMany = { currency: 'EUR', tariffs: Array.from({ length: MAX_TARIFFS + 1 }, (_, i) => tariff(i)) };
    expect(code(await put('/api/v1/energy/tariffs', admin, tooMany))).toBe('energy_tariffs_too_many');
    const atMost = { currency: 'EUR', tariffs: Array.from({ length: MAX_TARIFFS }, (_, i) => tariff(i)) };
    expect((await put('/api/v1/energy/tariffs', admin, atMost)).statusCode).toBe(200);
    const windows = Array.from({ length: MAX_WINDOWS + 1 }, (_, i) => ({
      from: `${String(Math.floor(i / 4)).padStart(2, '0')}:${String((i % 4) * 15).padStart(2, '0')}`,
      to: `${String(Math.floor(i / 4)).padStart(2, '0')}:${String((i % 4) * 15 + 10).padStart(2, '0')}`,
      price: 0.1,
    }));
    const big = await put('/api/v1/energy/tariffs', admin, { currency: 'EUR', tariffs: [tariff(0, windows)] });
    expect(code(big)).toBe('energy_schedule_too_large');
    const fits = await put('/api/v1/energy/tariffs', admin, {
      currency: 'EUR',
      tariffs: [tariff(0, windows.slice(1))],
    });
    expect(fits.statusCode).toBe(200);
    const overlap = [
      { days: [1, 2], from: '06:00', to: '09:00', price: 0.1 },
      { days: [2], from: '08:00', to: '10:00', price: 0.2 },
    ];
    expect(code(await put('/api/v1/energy/tariffs', admin, { currency: 'EUR', tariffs: [tariff(0, overlap)] }))).toBe(
      'energy_schedule_overlap',
    );
    // The same windows on different days do not overlap.
    overlap[1]!.days = [3];
    expect(
      (await put('/api/v1/energy/tariffs', admin, { currency: 'EUR', tariffs: [tariff(0, overlap)] })).statusCode,
    ).toBe(200);
    const dup = { currency: 'EUR', tariffs: [tariff(0), { ...tariff(0), name: 'again' }] };
    expect(code(await put('/api/v1/energy/tariffs', admin, dup))).toBe('energy_tariff_duplicate');
    const backwards = [{ from: '09:00', to: '06:00', price: 0.1 }];
    const bad = await put('/api/v1/energy/tariffs', admin, { currency: 'EUR', tariffs: [tariff(0, backwards)] });
    expect([bad.statusCode, code(bad)]).toEqual([400, 'validation_failed']);
    const notADate = { currency: 'EUR', tariffs: [{ ...tariff(0), validFrom: '2026-02-30' }] };
    expect(code(await put('/api/v1/energy/tariffs', admin, notADate))).toBe('validation_failed');
    const noCurrency = { currency: null, tariffs: [tariff(0)] };
    expect(code(await put('/api/v1/energy/tariffs', admin, noCurrency))).toBe('validation_failed');
    expect(code(await put('/api/v1/energy/tariffs', admin, { currency: 'euro', tariffs: [] }))).toBe(
      'validation_failed',
    );
  });
});
