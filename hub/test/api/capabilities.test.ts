import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from './harness.ts';

/** GET /api/v1/capabilities: the capability model as clients and bridges read it (issue 19's contract). */
describe('the capability model over the API', () => {
  let h: Harness;
  let token: string;
  beforeEach(async () => {
    h = await harness();
    token = await h.setupOwner();
  });
  afterEach(async () => {
    await h.close();
  });

  it('answers each capability with type, unit, range, values, settable and event; needs a sign-in', async () => {
    expect((await h.call('GET', '/api/v1/capabilities')).statusCode).toBe(401);
    const res = await h.call('GET', '/api/v1/capabilities', { token });
    expect(res.statusCode).toBe(200);
    const byName = new Map((res.json() as Array<{ name: string }>).map((c) => [c.name, c]));
    expect(byName.get('cover_position')).toEqual({
      name: 'cover_position',
      type: 'number',
      writable: true,
      unit: '%',
      min: 0,
      max: 100,
    });
    expect(byName.get('cover')).toMatchObject({ type: 'string', writable: true, values: ['open', 'close', 'stop'] });
    expect(byName.get('button')).toMatchObject({ type: 'string', writable: false, event: true });
    expect(byName.get('lock')).toMatchObject({ type: 'boolean', writable: true, confirm: true });
    expect(byName.get('co2')).toMatchObject({ type: 'number', unit: 'ppm', writable: false, chart: 'line' });
    for (const name of ['color_x', 'color_hue', 'color_temp', 'climate_mode', 'running_state', 'power_on_behavior'])
      expect(byName.has(name), name).toBe(true);
  });
});
