import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './harness.ts';

/**
 * Every route that takes a time range parses it the same way (api/range.ts): a bad time is
 * `validation_failed` naming the field, a reversed range the generic `range_invalid` (the
 * history routes keep their documented `history_range_invalid`).
 */
describe('time ranges in requests', () => {
  let h: Harness;
  let owner: string;
  beforeAll(async () => {
    h = await harness();
    owner = await h.setupOwner();
  });
  afterAll(async () => {
    await h.close();
  });

  const code = async (url: string) => {
    const res = await h.call('GET', url, { token: owner });
    return [res.statusCode, res.json().error?.code, res.json().error?.details?.field];
  };

  it('a reversed range is 400 range_invalid outside history, before the part is looked up', async () => {
    expect(await code('/api/v1/cameras/cam_x/recordings?from=2000&to=1000')).toEqual([400, 'range_invalid', undefined]);
    expect(await code('/api/v1/cameras/cam_x/playback?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z')).toEqual([
      400,
      'range_invalid',
      undefined,
    ]);
  });

  it('a time that is neither epoch milliseconds nor ISO 8601 names its field', async () => {
    expect(await code('/api/v1/cameras/cam_x/recordings?from=yesterday')).toEqual([400, 'validation_failed', 'from']);
    expect(await code('/api/v1/cameras/cam_x/clip?to=12:00')).toEqual([400, 'validation_failed', 'to']);
  });

  it('a well-formed range reaches the part (503 here: the hub runs without a recorder)', async () => {
    expect(await code('/api/v1/cameras/cam_x/recordings?from=1000&to=2000')).toEqual([503, 'not_ready', undefined]);
  });
});
