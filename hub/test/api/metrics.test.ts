import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from './harness.ts';

describe('GET /metrics', () => {
  let h: Harness;
  let token: string;
  beforeEach(async () => {
    h = await harness();
    token = await h.setupOwner();
  });
  afterEach(async () => {
    await h.close();
  });

  it('serves Prometheus text with hub, process, HTTP, device and broker figures', async () => {
    const id = await h.addDevice();
    await h.addDevice('Offline plug');
    h.driver.ctx.reportAvailability(id, false);
    await h.call('GET', '/api/v1/nope');
    h.clock.advance(90_000);

    const res = await h.call('GET', '/metrics', { token });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = res.body.trimEnd().split('\n');
    // Every line is a comment or `name{labels} value`.
    for (const line of lines)
      expect(line).toMatch(
        /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (-?[0-9.e+-]+|NaN|[+-]Inf))$/,
      );
    const value = (series: string) => {
      const line = lines.find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    expect(value('hearth_uptime_seconds')).toBe(90);
    expect(value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(value('nodejs_heap_used_bytes')).toBeGreaterThan(0);
    expect(value('nodejs_eventloop_lag_seconds{stat="p99"}')).toBeGreaterThanOrEqual(0);
    expect(value('hearth_devices')).toBe(2);
    expect(value('hearth_devices_available')).toBe(1);
    expect(value('hearth_http_requests_total{status="201"}')).toBe(1);
    expect(value('hearth_http_requests_total{status="404"}')).toBe(1);
    expect(value('hearth_broker_clients')).toBe(2);
    expect(value('hearth_broker_messages_in_total')).toBe(40);
    expect(lines).toContain('# TYPE hearth_broker_messages_in_total counter');
    expect(lines).toContain('# TYPE hearth_http_requests_total counter');
  });

  it('needs an owner or admin token', async () => {
    expect((await h.call('GET', '/metrics')).statusCode).toBe(401);
    expect((await h.call('GET', '/metrics', { token: await h.userToken('member') })).statusCode).toBe(403);
    expect((await h.call('GET', '/metrics', { token: await h.userToken('admin') })).statusCode).toBe(200);
  });
});
