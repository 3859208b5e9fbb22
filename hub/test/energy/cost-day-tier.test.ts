import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyApi } from '../history/api-harness.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (y: number, m: number, d: number, h = 0, mi = 0) => Date.UTC(y, m - 1, d, h, mi);

/**
 * Cost per month past the hour tier: with the hour tier kept 60 days, January and February 2026
 * are left in the day tier (UTC days) only. A meter reads every hour at hh:30 UTC, +1 kWh a
 * reading, from 1 January to 30 April, in Berlin at a flat 0.30. The old months are read from
 * UTC days and say so (`exact: false`); nothing is lost or counted twice where the tiers meet.
 */
describe('cost of months older than the hour tier', () => {
  let h: Awaited<ReturnType<typeof historyApi>>;
  let meter: string;
  let readings = 0;

  beforeAll(async () => {
    h = await historyApi(
      { maintenanceIntervalMs: 600_000, retentionDays: { raw: 7, minute: 30, hour: 60, day: 1825 } },
      at(2026, 1, 1),
    );
    const maintain = h.history.maintain.bind(h.history);
    h.history.maintain = () => true;
    meter = await h.addDevice('Heater', ['energy']);
    let v = 0;
    while (h.clock.now() < at(2026, 4, 30, 23)) {
      h.clock.advance(HOUR / 2);
      h.driver.ctx.reportState(meter, { energy: v++ });
      h.clock.advance(HOUR / 2);
      if (h.clock.now() % DAY === 0) maintain(Infinity);
    }
    // The first reading only sets the meter's start.
    readings = v - 1;
    h.clock.advance(at(2026, 5, 1, 12) - h.clock.now());
    h.history.maintain = maintain;
    maintain(Infinity);
    h.ownerToken = await h.userToken('owner', 'owner2');
    const plan = { currency: 'EUR', tariffs: [{ name: 'Flat', validFrom: '2025-01-01', price: 0.3, windows: [] }] };
    expect((await h.call('PUT', '/api/v1/energy/tariffs', h.ownerToken, {}, plan)).statusCode).toBe(200);
  }, 180_000);
  afterAll(() => h.close());

  it('reads the old months from the day tier, marked not exact, and loses nothing', async () => {
    const res = await h.call(
      'GET',
      `/api/v1/energy/costs?device=${meter}&period=month&tz=Europe/Berlin&from=${at(2025, 12, 31, 23)}&to=${at(2026, 5, 1, 12)}`,
      h.ownerToken,
    );
    expect(res.statusCode).toBe(200);
    const r = res.json() as {
      total: { kWh: number; cost: number };
      periods: { start: string; kWh: number; exact: boolean }[];
    };
    const months = r.periods.map(({ start, kWh, exact }) => ({ start, kWh, exact }));
    // January in Berlin holds 742 increases (the first reading, 00:30 UTC on the 1st, only sets
    // the meter; the one at 23:30 UTC on the 31st is 1 February there). The day tier counts UTC
    // days, so January gets 743; the hour tier's data begins on 6 February (its 30-day blocks),
    // so February's end is exact and its start lost that hour to January: 671 of 672. March and
    // April come from the hour tier, exact (March has 743 hours in Berlin).
    expect(months.slice(0, 4)).toEqual([
      { start: '2026-01-01T00:00:00+01:00', kWh: 743, exact: false },
      { start: '2026-02-01T00:00:00+01:00', kWh: 671, exact: false },
      { start: '2026-03-01T00:00:00+01:00', kWh: 743, exact: true },
      { start: '2026-04-01T00:00:00+02:00', kWh: 720, exact: true },
    ]);
    expect(r.total.kWh).toBe(readings);
    expect(r.total.cost).toBeCloseTo(readings * 0.3, 6);
    const summary = await h.call(
      'GET',
      `/api/v1/energy/summary?period=month&tz=Europe/Berlin&from=${at(2025, 12, 31, 23)}&to=${at(2026, 5, 1, 12)}`,
      h.ownerToken,
    );
    expect(summary.json().totals.kWh).toBe(readings);
    expect(summary.json().periods.map((p: { exact: boolean }) => p.exact)).toEqual([
      false,
      false,
      expect.any(Boolean),
      true,
      true,
    ]);
  });
});
