import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyApi } from '../history/api-harness.ts';
import { HAVE_TRACEBASE, readTrace } from '../helpers/tracebase.ts';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const at = (y: number, m: number, d: number, h = 0) => Date.UTC(y, m - 1, d, h);
const hm = (h: number, m: number) => (h * 60 + m) * MIN;

/**
 * Appliance cycles found in real plug days (tracebase), replayed through the real ingest path on a
 * manual clock, all on the same test day. The reference cycles were read by hand from each day's
 * minute means (printed and checked by eye): the minute the power first left 0 W and the first
 * minute back at 0–2 W, pauses within a programme (a dishwasher at 4–14 W between wash and rinse,
 * its 3–10 W drying tail) counted in. A router (11 W all day) must give none. Target (issue 20):
 * every reference cycle found, nothing else, start and end within a minute.
 */
const DEVICES = [
  {
    name: 'Washer A',
    file: 'Washingmachine/Washingmachine_2011.11.28',
    ref: [
      [hm(9, 0), hm(9, 48)],
      [hm(12, 58), hm(14, 4)],
    ],
  },
  { name: 'Washer B', file: 'Washingmachine/dev_11F01E_2011.12.03', ref: [[hm(15, 12), hm(17, 14)]] },
  { name: 'Kettle', file: 'WaterKettle/Kettle_2011.11.28', ref: [[hm(7, 16), hm(7, 21)]] },
  { name: 'Dishwasher', file: 'Dishwasher/dev_995BAC_2012.06.11', ref: [[hm(13, 59), hm(15, 23)]] },
  { name: 'Router', file: 'Router/dev_B7DF9D_2011.12.17', ref: [] },
];

describe.skipIf(!HAVE_TRACEBASE)('appliance cycles on real plug days (tracebase)', () => {
  let h: Awaited<ReturnType<typeof historyApi>>;
  const ids = new Map<string, string>();
  const start = at(2026, 2, 2);

  beforeAll(async () => {
    h = await historyApi({ maintenanceIntervalMs: 600_000 }, start);
    const maintain = h.history.maintain.bind(h.history);
    h.history.maintain = () => true;
    const events: [number, string, number][] = [];
    for (const d of DEVICES) {
      const id = await h.addDevice(d.name, ['power', 'switch']);
      ids.set(d.name, id);
      const trace = readTrace([`complete/${d.file}`]);
      for (let i = 0; i < trace.seconds.length; i++) events.push([trace.seconds[i]! * 1000, id, trace.watts[i]!]);
    }
    events.sort((a, b) => a[0] - b[0]);
    for (const [t, id, w] of events) {
      if (start + t > h.clock.now()) h.clock.advance(start + t - h.clock.now());
      h.driver.ctx.reportState(id, { power: w });
    }
    h.clock.advance(start + DAY + 10 * MIN - h.clock.now());
    h.history.maintain = maintain;
    maintain(Infinity);
    h.ownerToken = await h.userToken('owner', 'owner2');
    const plan = { currency: 'EUR', tariffs: [{ name: 'Flat', validFrom: '2026-01-01', price: 0.3, windows: [] }] };
    expect((await h.call('PUT', '/api/v1/energy/tariffs', h.ownerToken, {}, plan)).statusCode).toBe(200);
  }, 300_000);
  afterAll(() => h?.close());

  const cycles = async (name: string) => {
    const res = await h.call(
      'GET',
      `/api/v1/energy/cycles?device=${ids.get(name)}&from=${start}&to=${start + DAY + 10 * MIN}`,
      h.ownerToken,
    );
    expect(res.statusCode).toBe(200);
    return res.json() as { start: number; end: number; energyWh: number; peakW: number; costMinor?: number }[];
  };

  it('finds every reference cycle and nothing else, start and end within a minute', async () => {
    let truePositives = 0;
    let found = 0;
    let references = 0;
    const errors: number[] = [];
    for (const d of DEVICES) {
      const got = await cycles(d.name);
      found += got.length;
      references += d.ref.length;
      for (const [s, e] of d.ref) {
        const match = got.find((c) => Math.abs(c.start - start - s!) <= MIN && Math.abs(c.end - start - e!) <= MIN);
        expect(match, `${d.name} ${s! / MIN}–${e! / MIN} min: got ${JSON.stringify(got)}`).toBeDefined();
        if (match) {
          truePositives++;
          errors.push(Math.abs(match.start - start - s!), Math.abs(match.end - start - e!));
        }
      }
    }
    expect({ precision: truePositives / found, recall: truePositives / references }).toEqual({
      precision: 1,
      recall: 1,
    });
    expect(Math.max(...errors)).toBeLessThanOrEqual(MIN);
  });

  it('gives each cycle its energy, peak and cost', async () => {
    const [kettle] = await cycles('Kettle');
    // About 4 min 45 s at ~1,960 W: some 155 Wh.
    expect(kettle!.peakW).toBeGreaterThanOrEqual(1900);
    expect(kettle!.energyWh).toBeGreaterThan(140);
    expect(kettle!.energyWh).toBeLessThan(170);
    expect(kettle!.costMinor).toBeCloseTo((kettle!.energyWh / 1000) * 0.3 * 100, 1);
  });

  it('bounds the range and hides unseen devices', async () => {
    const far = await h.call(
      'GET',
      `/api/v1/energy/cycles?device=${ids.get('Kettle')}&from=${start - 40 * DAY}&to=${start}`,
      h.ownerToken,
    );
    expect([far.statusCode, far.json().error.code]).toEqual([400, 'history_range_too_large']);
    const guest = await h.userToken('guest', 'guest1');
    const hidden = await h.call('GET', `/api/v1/energy/cycles?device=${ids.get('Kettle')}`, guest);
    expect([hidden.statusCode, hidden.json().error.code]).toEqual([404, 'device_not_found']);
  });
});
