import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyApi } from '../history/api-harness.ts';
import { HAVE_TRACEBASE, readTrace } from '../helpers/tracebase.ts';

const at = (y: number, m: number, d: number, h = 0) => Date.UTC(y, m - 1, d, h);

/**
 * Standby found from real plugs' history: two days of four tracebase outlets (1 s readings,
 * integer watts) replayed through the real ingest path (the registry's telemetry → history's
 * batches, journal, tiers) on a manual clock, then `GET /api/v1/energy/standby`.
 *
 * The reference idle power of each, by a procedure independent of the estimator and checked by
 * hand on each day's histogram of readings: the mean of all 1 s readings below 20 W for the three
 * devices whose use is clearly above it (amplifier on at 41–45 W, monitor at 73–107 W, TV at
 * 49–75 W), and of all readings for the router, which has no other state (11 W, 9–13 W). The
 * meters' integer watts dither between 0 and 2 W for a draw of about 1 W, which is why those means
 * are fractions. Target (issue 20): within 10 % or 1 W.
 */
const DEVICES = [
  { name: 'Amplifier', files: ['Amplifier/dev_AF6490_2012.01.13', 'Amplifier/dev_AF6490_2012.01.14'], ref: 0.805 },
  { name: 'Monitor', files: ['Monitor-TFT/dev_99514C_2012.05.14', 'Monitor-TFT/dev_99514C_2012.05.15'], ref: 1.847 },
  { name: 'TV', files: ['TV-LCD/dev_B80E51_2012.05.14', 'TV-LCD/dev_B80E51_2012.05.15'], ref: 0.002 },
  { name: 'Router', files: ['Router/dev_B7DF9D_2011.12.17', 'Router/dev_B7DF9D_2011.12.18'], ref: 11.0 },
];

describe.skipIf(!HAVE_TRACEBASE)('standby on real plug traces (tracebase)', () => {
  let h: Awaited<ReturnType<typeof historyApi>>;
  const ids = new Map<string, string>();
  const start = at(2026, 2, 2);
  const refs = new Map<string, number>();

  beforeAll(async () => {
    h = await historyApi({ maintenanceIntervalMs: 600_000 }, start);
    const maintain = h.history.maintain.bind(h.history);
    h.history.maintain = () => true;
    // Every reading of every trace, merged in time order: [ms after start, device, watts].
    const events: [number, string, number][] = [];
    for (const d of DEVICES) {
      const id = await h.addDevice(d.name, ['power', 'switch']);
      ids.set(d.name, id);
      const trace = readTrace(d.files.map((f) => `complete/${f}`));
      let sum = 0;
      let n = 0;
      for (let i = 0; i < trace.seconds.length; i++) {
        events.push([trace.seconds[i]! * 1000, id, trace.watts[i]!]);
        if (d.name === 'Router' || trace.watts[i]! < 20) {
          sum += trace.watts[i]!;
          n++;
        }
      }
      refs.set(d.name, sum / n);
    }
    events.sort((a, b) => a[0] - b[0]);
    for (const [t, id, w] of events) {
      const now = start + t;
      if (now > h.clock.now()) h.clock.advance(now - h.clock.now());
      h.driver.ctx.reportState(id, { power: w });
    }
    h.clock.advance(start + 2 * 86_400_000 - h.clock.now());
    h.history.maintain = maintain;
    maintain(Infinity);
    h.ownerToken = await h.userToken('owner', 'owner2');
    const plan = { currency: 'EUR', tariffs: [{ name: 'Flat', validFrom: '2026-01-01', price: 0.3, windows: [] }] };
    expect((await h.call('PUT', '/api/v1/energy/tariffs', h.ownerToken, {}, plan)).statusCode).toBe(200);
  }, 300_000);
  afterAll(() => h?.close());

  it('the references are what the procedure above says (the data did not change)', () => {
    for (const d of DEVICES) expect(refs.get(d.name)).toBeCloseTo(d.ref, 2);
  });

  it('finds each device within 10 % or 1 W of its reference, worst first, with yearly energy and cost', async () => {
    const res = await h.call('GET', '/api/v1/energy/standby', h.ownerToken);
    expect(res.statusCode).toBe(200);
    const report = res.json();
    const figures = Object.fromEntries(report.devices.map((d: { name: string }) => [d.name, d]));
    for (const d of DEVICES) {
      const got = figures[d.name].watts as number;
      const err = Math.abs(got - d.ref);
      expect(err <= 1 || err <= 0.1 * d.ref, `${d.name}: ${got} W against ${d.ref} W`).toBe(true);
    }
    expect(report.devices.map((d: { name: string }) => d.name)[0]).toBe('Router');
    const router = figures.Router;
    expect(router.kwhPerYear).toBeCloseTo((router.watts * 8766) / 1000, 6);
    expect(router.costPerYear).toBeCloseTo(router.kwhPerYear * 0.3, 2);
    const watts = report.devices.reduce((a: number, d: { watts: number }) => a + d.watts, 0);
    expect(report.total.watts).toBeCloseTo(watts, 6);
    expect(report.total.costPerYear).toBeCloseTo((watts * 8766 * 0.3) / 1000, 1);
    // The TV reads 0 W between uses: it has no standby to speak of.
    expect(figures.TV.watts).toBe(0);
  });

  it('answers one device with the figures and the method', async () => {
    const res = await h.call('GET', `/api/v1/energy/standby?device=${ids.get('Amplifier')}`, h.ownerToken);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ device: ids.get('Amplifier'), currency: 'EUR' });
    expect(body.minutes).toBeGreaterThan(2000);
    expect(body.method).toMatch(/percentile/);
  });
});
