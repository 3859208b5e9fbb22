import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords.ts';
import { historyApi } from './api-harness.ts';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const HOUR = 60 * MIN;

describe('history API', () => {
  let h: Awaited<ReturnType<typeof historyApi>>;
  let meter: string;
  let lamp: string;
  let memberToken: string;

  beforeAll(async () => {
    h = await historyApi({ maintenanceIntervalMs: 600_000 });
    meter = await h.addDevice('Meter', ['switch', 'power', 'energy']);
    lamp = await h.addDevice('Lamp', ['switch']);
    h.driver.ctx.reportAvailability(meter, true);
    // Two hours at 1 Hz: power cycles 0..59 within each minute; energy +0.001 kWh a second.
    for (let i = 0; i < 2 * 3600; i++) {
      h.driver.ctx.reportState(meter, { power: i % 60, energy: Math.round((10 + i * 0.001) * 1000) / 1000 });
      h.clock.advance(1000);
    }
    h.store.users.insert({
      id: 'usr_m',
      username: 'mia',
      passwordHash: await hashPassword('mia password'),
      role: 'member',
      createdAt: h.clock.now(),
    });
    const login = await h.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'mia', password: 'mia password' },
    });
    memberToken = login.json().accessToken;
    // Tokens from before the two hours have expired.
    const owner = await h.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'owner', password: 'correct horse battery' },
    });
    h.ownerToken = owner.json().accessToken;
  });
  afterAll(() => h.close());

  const get = (url: string, token = h.ownerToken, headers: Record<string, string> = {}) =>
    h.call('GET', url, token, headers);
  const errorCode = (res: { json(): any }) => res.json().error.code;

  it('answers raw points for a short span and min/max/mean buckets of a tier for a long one', async () => {
    const raw = await get(`/api/v1/history?device=${meter}&capability=power&from=${T0}&to=${T0 + MIN}&points=60`);
    expect(raw.statusCode).toBe(200);
    expect(raw.json().tier).toBe('raw');
    expect(raw.json().points.map((p: { mean: number }) => p.mean)).toEqual(Array.from({ length: 60 }, (_, i) => i));

    const wide = await get(
      `/api/v1/history?device=${meter}&capability=power&from=${T0}&to=${T0 + 2 * HOUR}&points=100`,
      memberToken,
    );
    expect(wide.statusCode).toBe(200);
    const body = wide.json();
    expect(body.tier).toBe('minute');
    expect(body.points.length).toBeLessThanOrEqual(100);
    expect(body.points[0]).toEqual({ t: T0, min: 0, max: 59, mean: 29.5 });
  });

  it('takes ISO times as well as epoch milliseconds', async () => {
    const iso = await get(
      `/api/v1/history?device=${meter}&capability=power&from=2026-01-01T00:00:00Z&to=2026-01-01T00:01:00.000Z&points=60`,
    );
    const ms = await get(`/api/v1/history?device=${meter}&capability=power&from=${T0}&to=${T0 + MIN}&points=60`);
    expect(iso.json()).toEqual(ms.json());
  });

  it('exports CSV with format=csv or Accept: text/csv', async () => {
    const url = `/api/v1/history?device=${meter}&capability=power&from=${T0}&to=${T0 + 3000}&points=3&tier=raw`;
    const csv = await get(`${url}&format=csv`);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.body).toBe(
      'time,epoch_ms,min,max,mean\r\n' +
        `2026-01-01T00:00:00.000Z,${T0},0,0,0\r\n` +
        `2026-01-01T00:00:01.000Z,${T0 + 1000},1,1,1\r\n` +
        `2026-01-01T00:00:02.000Z,${T0 + 2000},2,2,2\r\n`,
    );
    expect((await get(url, h.ownerToken, { accept: 'text/csv' })).body).toBe(csv.body);
  });

  it('refuses bad requests with stable codes before any query', async () => {
    const base = `/api/v1/history?capability=power&device=${meter}`;
    expect(errorCode(await get(`/api/v1/history?device=dev_nope&capability=power`))).toBe('device_not_found');
    expect((await get(`/api/v1/history?device=dev_nope&capability=power`)).statusCode).toBe(404);
    expect(errorCode(await get(`/api/v1/history?device=${lamp}&capability=power`))).toBe('capability_not_found');
    const reversed = await get(`${base}&from=${T0 + HOUR}&to=${T0}`);
    expect([reversed.statusCode, errorCode(reversed)]).toEqual([400, 'history_range_invalid']);
    expect(errorCode(await get(`${base}&points=0`))).toBe('validation_failed');
    expect(errorCode(await get(`${base}&points=100000000`))).toBe('validation_failed');
    expect(errorCode(await get(`${base}&from=yesterday`))).toBe('validation_failed');
    const yearRaw = await get(`${base}&from=${T0 - 365 * 24 * HOUR}&to=${T0}&tier=raw`);
    expect([yearRaw.statusCode, errorCode(yearRaw)]).toEqual([400, 'history_range_too_large']);
    expect((await h.call('GET', base)).statusCode).toBe(401);
  });

  it('sums energy per period from the meter, also as CSV', async () => {
    const res = await get(`/api/v1/energy?device=${meter}&period=day&from=${T0}&to=${T0 + 2 * HOUR}&tz=UTC`);
    expect(res.statusCode).toBe(200);
    // 7,200 readings 0.001 kWh apart: 7,199 increases.
    expect(res.json()).toEqual({
      period: 'day',
      unit: 'kWh',
      tz: 'UTC',
      total: 7.199,
      buckets: [
        { t: T0, start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z', hours: 24, kWh: 7.199, exact: true },
      ],
    });
    const csv = await get(
      `/api/v1/energy?device=${meter}&period=month&from=${T0}&to=${T0 + 2 * HOUR}&tz=UTC&format=csv`,
    );
    expect(csv.body).toBe(
      `start,end,epoch_ms,kwh,exact,tz\r\n2026-01-01T00:00:00Z,2026-02-01T00:00:00Z,${T0},7.199,true,UTC\r\n`,
    );
    expect(errorCode(await get(`/api/v1/energy?device=${lamp}&period=day`))).toBe('capability_not_found');
    expect(errorCode(await get(`/api/v1/energy?device=${meter}&period=year`))).toBe('validation_failed');
  });

  it('lists state changes, availability and commands with their actor, filtered and paged, also as CSV', async () => {
    h.driver.ctx.reportAvailability(lamp, true);
    const cmd = await h.app.inject({
      method: 'POST',
      url: `/api/v1/devices/${lamp}/commands`,
      headers: { authorization: `Bearer ${memberToken}` },
      payload: { capability: 'switch', value: true },
    });
    expect(cmd.statusCode).toBe(200);
    const all = await get(`/api/v1/history/events?device=${lamp}`);
    expect(all.statusCode).toBe(200);
    const events = all.json().events;
    expect(events.map((e: { kind: string }) => e.kind)).toEqual(['command', 'state', 'availability']);
    expect(events[0]).toMatchObject({
      deviceId: lamp,
      capability: 'switch',
      value: true,
      outcome: 'confirmed',
      actor: { kind: 'user', username: 'mia' },
    });
    expect(events[1]).toMatchObject({ deviceId: lamp, capability: 'switch', value: true, previous: null });

    const page1 = (await get(`/api/v1/history/events?limit=3`)).json();
    expect(page1.events).toHaveLength(3);
    const page2 = (await get(`/api/v1/history/events?limit=3&before=${page1.nextBefore}`)).json();
    expect(page2.events.map((e: { kind: string; deviceId: string }) => [e.kind, e.deviceId])).toEqual([
      ['availability', meter],
    ]);
    expect(page2.nextBefore).toBeNull();

    const commands = (await get(`/api/v1/history/events?kind=command`)).json().events;
    expect(commands).toHaveLength(1);
    const csv = await get(`/api/v1/history/events?kind=availability&format=csv`);
    expect(csv.body).toBe(
      'id,at,device,kind,capability,value,previous,actor,outcome\r\n' +
        `2,2026-01-01T02:00:00.000Z,${lamp},availability,,true,,,\r\n` +
        `1,2026-01-01T00:00:00.000Z,${meter},availability,,true,,,\r\n`,
    );
    expect(errorCode(await get(`/api/v1/history/events?device=dev_nope`))).toBe('device_not_found');
  });

  it('shows storage figures to admins only', async () => {
    h.history.maintain(Infinity);
    const res = await get('/api/v1/history/storage');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.budgetBytes).toBe(512 * 1024 * 1024);
    expect(body.bytes).toBeGreaterThan(0);
    expect(body.tiers.map((t: { name: string }) => t.name)).toEqual(['raw', 'minute', 'hour', 'day']);
    expect(body.tiers[0].blocks).toBe(4); // 2 h of power and of energy, one block per hour each
    expect(body.devices.map((d: { deviceId: string }) => d.deviceId)).toEqual([meter]);
    expect(body.growthPerDayBytes).toBeGreaterThan(0);
    expect(typeof body.budgetReachedAt).toBe('string');
    expect(errorCode(await get('/api/v1/history/storage', memberToken))).toBe('forbidden');
  });

  it('reports its figures in /metrics: rows written, batches, open batch, size and budget', async () => {
    h.history.ingest.flush();
    const res = await get('/metrics');
    expect(res.statusCode).toBe(200);
    const value = (name: string) =>
      Number(
        res.body
          .split('\n')
          .find((l: string) => l.startsWith(`${name} `))
          ?.split(' ')[1],
      );
    // Two hours of power and energy at 1 Hz: 14,400 samples (more from the other tests' devices).
    expect(value('hearth_history_samples_written_total')).toBeGreaterThanOrEqual(2 * 2 * 3600);
    expect(value('hearth_history_flushes_total')).toBeGreaterThan(0);
    expect(value('hearth_history_failed_flushes_total')).toBe(0);
    expect(value('hearth_history_pending_rows')).toBe(0);
    expect(value('hearth_history_bytes')).toBeGreaterThan(0);
    expect(value('hearth_history_budget_bytes')).toBe(512 * 1024 * 1024);
  });
});
