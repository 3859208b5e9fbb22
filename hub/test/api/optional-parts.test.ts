import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './harness.ts';

/**
 * A hub built without its optional parts (plugs, Zigbee, history, rules, recorder, remote,
 * backups) answers their routes 503 `not_ready`, each with a sentence naming what is missing
 * (one guard, api/require-part.ts).
 */
describe('routes of a part the hub runs without', () => {
  let h: Harness;
  let owner: string;
  beforeAll(async () => {
    h = await harness();
    owner = await h.setupOwner();
  });
  afterAll(async () => {
    await h.close();
  });

  it('answer 503 not_ready with what is missing', async () => {
    const cases = [
      ['GET', '/api/v1/plugs/discovered', undefined, 'plug support is not running'],
      ['POST', '/api/v1/zigbee/permit-join', { seconds: 60 }, 'no Zigbee coordinator is configured (--zigbee PORT)'],
      ['GET', '/api/v1/history/storage', undefined, 'history is not running'],
      ['GET', '/api/v1/rules', undefined, 'rules are not running'],
      ['GET', '/api/v1/scenes', undefined, 'rules are not running'],
      ['GET', '/api/v1/cameras', undefined, 'the recorder is not running'],
      ['GET', '/api/v1/remote/status', undefined, 'remote access is not running'],
      ['GET', '/api/v1/backups', undefined, 'backups are not available'],
    ] as const;
    for (const [method, url, body, message] of cases) {
      const res = await h.call(method, url, { token: owner, body });
      expect({ url, status: res.statusCode, error: res.json().error }).toEqual({
        url,
        status: 503,
        error: { code: 'not_ready', message },
      });
    }
  });
});

describe('pieces of the backup part the hub runs without (no schedule, no first-run restore)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ backup: { list: () => [] } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('answer 503 not_ready through the same guard, one level down', async () => {
    const restore = await h.call('POST', '/api/v1/setup/restore', {
      headers: { 'content-type': 'application/octet-stream' },
      payload: 'x',
    });
    expect([restore.statusCode, restore.json().error]).toEqual([
      503,
      { code: 'not_ready', message: 'restore is not available' },
    ]);
    const owner = await h.setupOwner();
    expect((await h.call('GET', '/api/v1/backups', { token: owner })).statusCode).toBe(200);
    const schedule = await h.call('GET', '/api/v1/backups/schedule', { token: owner });
    expect([schedule.statusCode, schedule.json().error]).toEqual([
      503,
      { code: 'not_ready', message: 'scheduled backups are not available' },
    ]);
  });
});
