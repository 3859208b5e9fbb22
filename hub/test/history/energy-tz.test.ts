import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyApi } from './api-harness.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const at = (y: number, m: number, d: number, h = 0, mi = 0) => Date.UTC(y, m - 1, d, h, mi);

type Api = Awaited<ReturnType<typeof historyApi>>;

/**
 * Months of meter readings, one `read` per step: the scheduled maintenance is left out (its
 * timer would fire every 10 simulated minutes) and run to completion once a simulated day
 * instead; at the end a fresh owner token (the first one expired long ago).
 */
async function simulate(h: Api, until: number, stepMs: number, read: () => void): Promise<void> {
  const maintain = h.history.maintain.bind(h.history);
  h.history.maintain = () => true;
  let nextDay = h.clock.now() + DAY;
  while (h.clock.now() < until) {
    read();
    h.clock.advance(stepMs);
    if (h.clock.now() >= nextDay) {
      maintain(Infinity);
      nextDay += DAY;
    }
  }
  h.history.maintain = maintain;
  maintain(Infinity);
  const login = await h.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { username: 'owner', password: 'correct horse battery' },
  });
  h.ownerToken = login.json().accessToken;
}
interface Bucket {
  t: number;
  start: string;
  end: string;
  hours: number;
  kWh: number;
  exact: boolean;
}

/**
 * Energy per local period. A meter reads every hour at hh:30 UTC from 1 Jan to 27 Oct 2026,
 * +1 kWh a reading, with two spikes of +10 kWh at 23:30 UTC, which is 00:30 of the next day in
 * Berlin: on Sunday 4 Jan (Monday 5 Jan in Berlin) and on 31 Jan (1 Feb in Berlin). By the end,
 * January to March is kept only in the hour tier (1 h buckets) and the day tier (UTC days).
 */
describe('energy in local periods', () => {
  let h: Api;
  let meter: string;
  const spikes = new Set([at(2026, 1, 4, 23, 30), at(2026, 1, 31, 23, 30)]);

  beforeAll(async () => {
    h = await historyApi({ maintenanceIntervalMs: 600_000 });
    meter = await h.addDevice('Meter', ['energy']);
    h.driver.ctx.reportAvailability(meter, true);
    h.clock.advance(30 * MIN);
    let v = 1000;
    let first = true;
    await simulate(h, at(2026, 10, 27), HOUR, () => {
      if (!first) v += 1 + (spikes.has(h.clock.now()) ? 10 : 0);
      first = false;
      h.driver.ctx.reportState(meter, { energy: v });
    });
  }, 120_000);
  afterAll(() => h.close());

  const energy = async (query: string): Promise<{ tz: string; total: number; buckets: Bucket[] }> => {
    const res = await h.call('GET', `/api/v1/energy?device=${meter}&${query}`, h.ownerToken);
    expect(res.statusCode).toBe(200);
    return res.json();
  };
  const brief = (b: Bucket[]) => b.map(({ start, hours, kWh, exact }) => ({ start, hours, kWh, exact }));

  it('splits days at local midnight, not at UTC midnight', async () => {
    const berlin = await energy(`period=day&tz=Europe/Berlin&from=${at(2026, 1, 3, 23)}&to=${at(2026, 1, 5, 23)}`);
    expect(berlin.tz).toBe('Europe/Berlin');
    expect(brief(berlin.buckets)).toEqual([
      { start: '2026-01-04T00:00:00+01:00', hours: 24, kWh: 24, exact: true },
      { start: '2026-01-05T00:00:00+01:00', hours: 24, kWh: 34, exact: true },
    ]);
    expect(berlin.buckets[0]!.t).toBe(at(2026, 1, 3, 23));
    const utc = await energy(`period=day&tz=UTC&from=${at(2026, 1, 4)}&to=${at(2026, 1, 6)}`);
    expect(brief(utc.buckets)).toEqual([
      { start: '2026-01-04T00:00:00Z', hours: 24, kWh: 34, exact: true },
      { start: '2026-01-05T00:00:00Z', hours: 24, kWh: 24, exact: true },
    ]);
  });

  it('gives DST days 23 and 25 hours with exact sums', async () => {
    const spring = await energy(`period=day&tz=Europe/Berlin&from=${at(2026, 3, 28, 23)}&to=${at(2026, 3, 29, 22)}`);
    expect(spring.buckets).toEqual([
      {
        t: at(2026, 3, 28, 23),
        start: '2026-03-29T00:00:00+01:00',
        end: '2026-03-30T00:00:00+02:00',
        hours: 23,
        kWh: 23,
        exact: true,
      },
    ]);
    const autumn = await energy(`period=day&tz=Europe/Berlin&from=${at(2026, 10, 24, 22)}&to=${at(2026, 10, 25, 23)}`);
    expect(autumn.buckets).toEqual([
      {
        t: at(2026, 10, 24, 22),
        start: '2026-10-25T00:00:00+02:00',
        end: '2026-10-26T00:00:00+01:00',
        hours: 25,
        kWh: 25,
        exact: true,
      },
    ]);
    // The whole week around the spring change: 7 × 24 - 1 hours, one kWh each.
    const week = await energy(`period=week&tz=Europe/Berlin&from=${at(2026, 3, 25)}&to=${at(2026, 3, 29, 22)}`);
    expect(brief(week.buckets)).toEqual([{ start: '2026-03-23T00:00:00+01:00', hours: 167, kWh: 167, exact: true }]);
  });

  it('starts weeks on Monday, local time', async () => {
    // From a Wednesday: the week still starts on Monday 5 Jan, 00:00 in Berlin.
    const berlin = await energy(`period=week&tz=Europe/Berlin&from=${at(2026, 1, 7, 12)}&to=${at(2026, 1, 11, 23)}`);
    expect(brief(berlin.buckets)).toEqual([{ start: '2026-01-05T00:00:00+01:00', hours: 168, kWh: 178, exact: true }]);
    const utc = await energy(`period=week&tz=UTC&from=${at(2026, 1, 7, 12)}&to=${at(2026, 1, 12)}`);
    expect(brief(utc.buckets)).toEqual([{ start: '2026-01-05T00:00:00Z', hours: 168, kWh: 168, exact: true }]);
  });

  it('splits months at local midnight of the 1st, also as CSV', async () => {
    const query = `period=month&tz=Europe/Berlin&from=${at(2026, 1, 31, 23)}&to=${at(2026, 3, 31, 22)}`;
    const berlin = await energy(query);
    expect(brief(berlin.buckets)).toEqual([
      { start: '2026-02-01T00:00:00+01:00', hours: 672, kWh: 682, exact: true },
      { start: '2026-03-01T00:00:00+01:00', hours: 743, kWh: 743, exact: true },
    ]);
    expect(berlin.total).toBe(1425);
    const utc = await energy(`period=month&tz=UTC&from=${at(2026, 2, 1)}&to=${at(2026, 4, 1)}`);
    expect(utc.buckets.map((b) => b.kWh)).toEqual([672, 744]);
    const csv = await h.call('GET', `/api/v1/energy?device=${meter}&${query}&format=csv`, h.ownerToken);
    expect(csv.body).toBe(
      'start,end,epoch_ms,kwh,exact,tz\r\n' +
        `2026-02-01T00:00:00+01:00,2026-03-01T00:00:00+01:00,${at(2026, 1, 31, 23)},682,true,Europe/Berlin\r\n` +
        `2026-03-01T00:00:00+01:00,2026-04-01T00:00:00+02:00,${at(2026, 2, 28, 23)},743,true,Europe/Berlin\r\n`,
    );
  });

  it("defaults to the home's time zone setting, else the hub's own", async () => {
    const query = `period=day&from=${at(2026, 1, 4, 23)}&to=${at(2026, 1, 5, 23)}`;
    h.store.settings.set('home.timezone', 'Europe/Berlin');
    const home = await energy(query);
    expect(home.tz).toBe('Europe/Berlin');
    expect(brief(home.buckets)).toEqual([{ start: '2026-01-05T00:00:00+01:00', hours: 24, kWh: 34, exact: true }]);
    const hubZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    h.store.settings.set('home.timezone', 'Nowhere/Atlantis');
    expect((await energy(query)).tz).toBe(hubZone);
    // Cleared through PATCH /home (stored as null).
    h.store.settings.set('home.timezone', null);
    expect((await energy(query)).tz).toBe(hubZone);
    // Names are matched as Intl does and answered in their canonical spelling.
    expect((await energy(`${query}&tz=europe/berlin`)).tz).toBe('Europe/Berlin');
  });

  it('refuses a time zone Intl does not know', async () => {
    for (const tz of ['Mars/Olympus', 'Europe/Berlin;', 'x'.repeat(65)]) {
      const res = await h.call(
        'GET',
        `/api/v1/energy?device=${meter}&period=day&tz=${encodeURIComponent(tz)}`,
        h.ownerToken,
      );
      expect([res.statusCode, res.json().error.code, res.json().error.details.field]).toEqual([
        400,
        'validation_failed',
        'tz',
      ]);
    }
  });
});

/**
 * Asia/Kolkata (UTC+5:30): local midnight is 18:30 UTC, which only minute buckets start at. The
 * minute tier is kept 10 days here; before that the hour tier is read and those days are marked
 * not exact, without any increase counted twice or lost where the two meet.
 */
describe('energy in a half-hour zone past the minute tier', () => {
  let h: Api;
  let meter: string;
  let readings = 0;

  beforeAll(async () => {
    h = await historyApi({ maintenanceIntervalMs: 600_000, retentionDays: { raw: 2, minute: 10 } });
    meter = await h.addDevice('Meter', ['energy']);
    h.driver.ctx.reportAvailability(meter, true);
    h.clock.advance(10 * MIN);
    // Every half hour at hh:10 and hh:40 for 20 days, +1 kWh each.
    await simulate(h, at(2026, 1, 21), 30 * MIN, () => {
      h.driver.ctx.reportState(meter, { energy: readings });
      readings++;
    });
  }, 120_000);
  afterAll(() => h.close());

  it('reads minutes where kept, hours before, and counts every increase once', async () => {
    const res = await h.call(
      'GET',
      `/api/v1/energy?device=${meter}&period=day&tz=Asia/Kolkata&from=${at(2026, 1, 2, 18, 30)}&to=${at(2026, 1, 20, 18, 30)}`,
      h.ownerToken,
    );
    expect(res.statusCode).toBe(200);
    const buckets: Bucket[] = res.json().buckets;
    expect(buckets).toHaveLength(18);
    expect(buckets[0]!.start).toBe('2026-01-03T00:00:00+05:30');
    // The last days come from minute buckets: exact, 48 readings a day.
    const exact = buckets.filter((b) => b.exact).length;
    expect(exact).toBeGreaterThanOrEqual(8);
    expect(exact).toBeLessThan(18);
    expect(buckets.slice(18 - exact).every((b) => b.exact)).toBe(true);
    // Before, hour buckets count in the day they start in, half an hour off local midnight: the
    // last approximated day loses its first half hour (18:30-19:00 UTC) to the day before it;
    // nothing is counted twice or lost where the tiers meet.
    const expected = buckets.map((_, k) => (k === 18 - exact - 1 ? 47 : 48));
    expect(buckets.map((b) => b.kWh)).toEqual(expected);
    // Over the range: every reading once, but for the range's own first half hour, which lies in
    // an hour bucket that starts before the range.
    const total = buckets.reduce((s, b) => s + b.kWh, 0);
    expect(total).toBe((at(2026, 1, 20, 18, 30) - at(2026, 1, 2, 19)) / (30 * MIN));
  });
});
