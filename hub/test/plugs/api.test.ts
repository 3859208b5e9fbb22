import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from '../api/harness.ts';

/** The plug routes' declared access and body checks (pairing itself: pairing.test.ts, plug-e2e). */
describe('plug routes', () => {
  let h: Harness;
  let owner: string;
  beforeAll(async () => {
    h = await harness();
    owner = await h.setupOwner();
  });
  afterAll(async () => {
    await h.close();
  });

  it('are for admins: a member gets 403 forbidden', async () => {
    const member = await h.userToken('member');
    const routes = [
      ['GET', '/api/v1/plugs/discovered', undefined],
      ['POST', '/api/v1/plugs/plug-0a1b2c3d4e5f/pair', { setupCode: '12345678', name: 'X' }],
      ['GET', '/api/v1/plugs/firmware', undefined],
      [
        'POST',
        '/api/v1/plugs/firmware',
        {
          manifest: { model: 'm', version: '1.0.0', size: 1, sha256: `${'A'.repeat(43)}=` },
          sig: `${'A'.repeat(86)}==`,
          image: 'AA==',
        },
      ],
      ['GET', '/api/v1/plugs/plug-0a1b2c3d4e5f/update', undefined],
      ['POST', '/api/v1/plugs/plug-0a1b2c3d4e5f/update', { version: '1.1.0' }],
    ] as const;
    for (const [method, url, body] of routes) {
      const res = await h.call(method, url, { token: member, body });
      expect({ url, status: res.statusCode, code: res.json().error.code }).toEqual({
        url,
        status: 403,
        code: 'forbidden',
      });
    }
  });

  it('checks the pairing body before anything else', async () => {
    for (const body of [
      { name: 'X' },
      { setupCode: '12345678' },
      { setupCode: '12345678', name: 'X', extra: 1 },
      { setupCode: '', name: 'X' },
    ]) {
      const res = await h.call('POST', '/api/v1/plugs/plug-0a1b2c3d4e5f/pair', { token: owner, body });
      expect({ body, status: res.statusCode, code: res.json().error.code }).toEqual({
        body,
        status: 400,
        code: 'validation_failed',
      });
    }
  });

  it('checks firmware and update bodies before anything else', async () => {
    const manifest = { model: 'm', version: '1.0.0', size: 1, sha256: `${'A'.repeat(43)}=` };
    const sig = `${'A'.repeat(86)}==`;
    const cases = [
      ['/api/v1/plugs/firmware', { manifest, sig }],
      ['/api/v1/plugs/firmware', { manifest: { ...manifest, extra: 1 }, sig, image: 'AA==' }],
      ['/api/v1/plugs/firmware', { manifest, sig: 'short', image: 'AA==' }],
      ['/api/v1/plugs/plug-0a1b2c3d4e5f/update', {}],
      ['/api/v1/plugs/plug-0a1b2c3d4e5f/update', { version: '1.1.0', downgrade: 'yes' }],
    ] as const;
    for (const [url, body] of cases) {
      const res = await h.call('POST', url, { token: owner, body });
      expect({ url, body, status: res.statusCode, code: res.json().error.code }).toEqual({
        url,
        body,
        status: 400,
        code: 'validation_failed',
      });
    }
  });

  it('answer 503 not_ready on a hub built without plug support', async () => {
    const res = await h.call('GET', '/api/v1/plugs/discovered', { token: owner });
    expect([res.statusCode, res.json().error.code]).toEqual([503, 'not_ready']);
  });
});
