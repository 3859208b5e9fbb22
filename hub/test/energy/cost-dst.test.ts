import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyApi } from '../history/api-harness.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const at = (y: number, m: number, d: number, h = 0, mi = 0) => Date.UTC(y, m - 1, d, h, mi);

type Api = Awaited<ReturnType<typeof historyApi>>;

/** Night windows at 0.10 (22:00–06:00 local); days at the tariff's own price. */
const NIGHT = [
  { from: '00:00', to: '06:00', price: 0.1 },
  { from: '22:00', to: '24:00', price: 0.1 },
];
const PLAN = {
  currency: 'EUR',
  tariffs: [
    { name: 'Night saver 2026', validFrom: '2026-01-01', price: 0.3, windows: NIGHT },
    // From the autumn DST day on, the day price goes up.
    { name: 'Night saver 2026 (October)', validFrom: '2026-10-25', price: 0.4, windows: NIGHT },
  ],
};

/**
 * Cost per local day in Berlin with a time-of-use tariff that changes on the autumn DST day. A
 * meter reads every hour at hh:30 UTC, +1 kWh a reading, so every local hour holds exactly 1 kWh:
 * a day costs (night hours × 0.10) + (day hours × day price). The readings run 27–31 March and
 * 23–27 October 2026 and the clock ends on 28 October, so March is read from the hour tier only
 * (raw and minute are gone) and October from the finer tiers too: the figures must not care.
 */
describe('cost per day across DST and a tariff change', () => {
  let h: Api;
  let meter: string;

  beforeAll(async () => {
    h = await historyApi({ maintenanceIntervalMs: 600_000 }, at(2026, 3, 27));
    const maintain = h.history.maintain.bind(h.history);
    h.history.maintain = () => true;
    meter = await h.addDevice('Heater', ['energy', 'power']);
    h.driver.ctx.reportAvailability(meter, true);
    let v = 100;
    const readUntil = (until: number) => {
      while (h.clock.now() < until) {
        h.clock.advance(30 * MIN);
        h.driver.ctx.reportState(meter, { energy: v++, power: 1000 });
        h.clock.advance(30 * MIN);
        if (h.clock.now() % DAY === 0) maintain(Infinity);
      }
    };
    readUntil(at(2026, 3, 31));
    while (h.clock.now() < at(2026, 10, 23)) h.clock.advance(DAY);
    readUntil(at(2026, 10, 27));
    h.clock.advance(DAY);
    h.history.maintain = maintain;
    maintain(Infinity);
    h.ownerToken = await h.userToken('owner', 'owner2');
    expect((await h.call('PATCH', '/api/v1/home', h.ownerToken, {}, { timezone: 'Europe/Berlin' })).statusCode).toBe(
      200,
    );
    const put = await h.call('PUT', '/api/v1/energy/tariffs', h.ownerToken, {}, PLAN);
    expect(put.statusCode).toBe(200);
  }, 180_000);
  afterAll(() => h.close());

  const costs = async (query: string) => {
    const res = await h.call('GET', `/api/v1/energy/costs?device=${meter}&${query}`, h.ownerToken);
    expect(res.statusCode).toBe(200);
    return res.json() as {
      tz: string;
      currency: string;
      total: { kWh: number; cost: number };
      periods: { start: string; hours: number; kWh: number; cost: number; prorated: boolean }[];
    };
  };
  const brief = (r: Awaited<ReturnType<typeof costs>>) =>
    r.periods.map(({ start, hours, kWh, cost }) => ({ start, hours, kWh, cost }));

  it('prices the spring-forward day (23 h, 7 of them at night) from the hour tier', async () => {
    const r = await costs(`period=day&from=${at(2026, 3, 27, 23)}&to=${at(2026, 3, 29, 22)}`);
    expect(r.tz).toBe('Europe/Berlin');
    expect(r.currency).toBe('EUR');
    expect(brief(r)).toEqual([
      { start: '2026-03-28T00:00:00+01:00', hours: 24, kWh: 24, cost: 5.6 },
      { start: '2026-03-29T00:00:00+01:00', hours: 23, kWh: 23, cost: 5.5 },
    ]);
    expect(r.total).toEqual({ kWh: 47, cost: 11.1 });
    expect(r.periods.every((p) => !p.prorated)).toBe(true);
  });

  it('prices the fall-back day (25 h, 9 at night) with the tariff that starts that day', async () => {
    const r = await costs(`period=day&from=${at(2026, 10, 23, 22)}&to=${at(2026, 10, 26, 23)}`);
    expect(brief(r)).toEqual([
      { start: '2026-10-24T00:00:00+02:00', hours: 24, kWh: 24, cost: 5.6 },
      { start: '2026-10-25T00:00:00+02:00', hours: 25, kWh: 25, cost: 7.3 },
      { start: '2026-10-26T00:00:00+01:00', hours: 24, kWh: 24, cost: 7.2 },
    ]);
  });

  it('a month is the sum of its days', async () => {
    const days = await costs(`period=day&from=${at(2026, 2, 28, 23)}&to=${at(2026, 3, 31, 22)}`);
    const month = await costs(`period=month&from=${at(2026, 2, 28, 23)}&to=${at(2026, 3, 31, 22)}`);
    expect(month.periods.map((p) => p.start)).toEqual(['2026-03-01T00:00:00+01:00']);
    const sum = days.periods.reduce((a, p) => a + p.cost, 0);
    expect(month.periods[0]!.cost).toBeCloseTo(sum, 9);
    expect(month.periods[0]!.kWh).toBe(days.periods.reduce((a, p) => a + p.kWh, 0));
    expect(month.periods[0]!.kWh).toBeGreaterThan(90);
  });

  it('with no tariff in force the cost is unknown (null), not zero', async () => {
    const later = {
      currency: 'EUR',
      tariffs: [{ name: 'From November', validFrom: '2026-11-01', price: 0.3, windows: [] }],
    };
    expect((await h.call('PUT', '/api/v1/energy/tariffs', h.ownerToken, {}, later)).statusCode).toBe(200);
    const r = await costs(`period=day&from=${at(2026, 10, 23, 22)}&to=${at(2026, 10, 24, 22)}`);
    expect(r.periods[0]).toMatchObject({ kWh: 24, cost: null });
    expect(r.total.cost).toBeNull();
    expect((await h.call('PUT', '/api/v1/energy/tariffs', h.ownerToken, {}, PLAN)).statusCode).toBe(200);
  });

  it('a window at half past splits the hour it falls in, and says so', async () => {
    const half = {
      currency: 'EUR',
      tariffs: [
        { name: 'Half', validFrom: '2026-01-01', price: 0.3, windows: [{ from: '06:30', to: '07:00', price: 0.1 }] },
      ],
    };
    expect((await h.call('PUT', '/api/v1/energy/tariffs', h.ownerToken, {}, half)).statusCode).toBe(200);
    const r = await costs(`period=day&from=${at(2026, 3, 27, 23)}&to=${at(2026, 3, 28, 23)}`);
    // 23 hours at 0.30, and the 06:00 hour half at 0.30, half at 0.10.
    expect(r.periods[0]).toMatchObject({ kWh: 24, cost: 7.1, prorated: true });
    expect((await h.call('PUT', '/api/v1/energy/tariffs', h.ownerToken, {}, PLAN)).statusCode).toBe(200);
  });
});
