import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './harness.ts';

describe('error contract', () => {
  let h: Harness;
  let token: string;
  beforeAll(async () => {
    h = await harness();
    token = await h.setupOwner();
  });
  afterAll(async () => {
    await h.close();
  });

  const expectError = (
    res: { statusCode: number; json: () => any; headers: Record<string, unknown> },
    status: number,
    code: string,
  ) => {
    expect({ status: res.statusCode, code: res.json().error?.code }).toEqual({ status, code });
    expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  };

  it('answers bad JSON with 400 invalid_json', async () => {
    expectError(
      await h.call('POST', '/api/v1/rooms', {
        token,
        payload: '{"name": ',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'invalid_json',
    );
    expectError(
      await h.call('POST', '/api/v1/auth/login', { payload: '', headers: { 'content-type': 'application/json' } }),
      400,
      'invalid_json',
    );
  });

  it('answers a body over the limit with 413 payload_too_large', async () => {
    const name = 'x'.repeat(h.config.http.bodyLimitBytes);
    expectError(await h.call('POST', '/api/v1/rooms', { token, body: { name } }), 413, 'payload_too_large');
  });

  it('answers a non-JSON content type with 415', async () => {
    expectError(
      await h.call('POST', '/api/v1/rooms', {
        token,
        payload: 'name=Hall',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      415,
      'unsupported_media_type',
    );
    expectError(
      await h.call('POST', '/api/v1/rooms', { token, payload: 'Hall', headers: { 'content-type': 'text/plain' } }),
      415,
      'unsupported_media_type',
    );
  });

  it('answers unknown routes with 404 route_not_found, with or without a token', async () => {
    expectError(await h.call('GET', '/api/v1/nope'), 404, 'route_not_found');
    expectError(await h.call('DELETE', '/api/v1/health', { token }), 404, 'route_not_found');
    expectError(await h.call('GET', '/nowhere/at/all'), 404, 'route_not_found');
  });

  it('names the field and the rule in validation errors', async () => {
    const cases: [string, string, unknown, string, string][] = [
      ['POST', '/api/v1/rooms', {}, 'name', 'required'],
      ['POST', '/api/v1/rooms', { name: '' }, 'name', 'minLength'],
      ['POST', '/api/v1/rooms', { name: 'Hall', colour: 'red' }, 'colour', 'additionalProperties'],
      ['POST', '/api/v1/devices', { name: 'X', driver: 'echo', capabilities: 'switch' }, 'capabilities', 'type'],
      ['POST', '/api/v1/devices/dev_x/commands', { capability: 'switch', value: { on: true } }, 'value', 'anyOf'],
      ['GET', '/api/v1/audit?limit=0', undefined, 'limit', 'minimum'],
      ['GET', '/api/v1/audit?limit=ten', undefined, 'limit', 'type'],
    ];
    for (const [method, url, body, field, rule] of cases) {
      const res = await h.call(method as 'POST', url, { token, body });
      expect({ url, status: res.statusCode, error: res.json().error }).toMatchObject({
        url,
        status: 400,
        error: { code: 'validation_failed', details: { field } },
      });
      expect([rule, 'anyOf', 'type']).toContain(res.json().error.details.rule);
    }
  });

  it('hides internals of unexpected failures behind 500 internal_error', async () => {
    h.broker.statsImpl = () => {
      throw new Error('secret internal detail at /var/lib/x');
    };
    const res = await h.call('GET', '/metrics', { token });
    expectError(res, 500, 'internal_error');
    expect(res.body).not.toContain('secret');
    h.broker.statsImpl = () => ({ clients: 0 });
  });

  it('answers a plain GET on a WebSocket endpoint with 426', async () => {
    expectError(await h.call('GET', '/api/v1/events', { token }), 426, 'upgrade_required');
  });
});
