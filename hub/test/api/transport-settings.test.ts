import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { toBase64 } from '@hearth/protocol/encoding';
import { harness, type Harness } from './harness.ts';

/**
 * GET|PATCH /api/v1/settings/transport refusals the end-to-end test (test/e2e/transport-settings)
 * cannot reach: through the relay (LAN only), strict without an HTTPS listener, and a hub
 * without the part. Asserted by status and code.
 */
describe('transport settings refusals', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('through the relay the owner may read them but not change them (403 local_only)', async () => {
    h = await harness({ remote: true, transportHttpsPort: 8443 });
    const owner = await h.setupOwner();
    const ownerRow = h.store.users.byUsername('owner')!;
    const device = h.remote!.devices.enroll(
      { kind: 'user', userId: ownerRow.id, username: 'owner', role: 'owner' },
      { publicKey: toBase64(randomBytes(32)), boxPublicKey: toBase64(randomBytes(32)), name: 'owner phone' },
    );
    h.remote!.callerOf = (marker) => (marker === `test.${device.id}` ? device : null);
    const headers = { 'x-hearth-remote': `test.${device.id}` };
    expect((await h.call('GET', '/api/v1/settings/transport', { token: owner, headers })).statusCode).toBe(200);
    const res = await h.call('PATCH', '/api/v1/settings/transport', {
      token: owner,
      headers,
      body: { plainIntegrations: true },
    });
    expect([res.statusCode, res.json().error.code]).toEqual([403, 'local_only']);
    // Only the first-start rule's answer for a new home (no integration user) is stored.
    expect(h.store.settings.get('transport')).toEqual({ plainIntegrations: false });
    // On the LAN the same change goes through and is kept.
    const local = await h.call('PATCH', '/api/v1/settings/transport', {
      token: owner,
      body: { plainIntegrations: false },
    });
    expect(local.json()).toEqual({ httpStrict: false, plainIntegrations: false, httpsPort: 8443 });
    expect(h.store.settings.get('transport')).toEqual({ httpStrict: false, plainIntegrations: false });
  });

  it('strict cannot be turned on without an HTTPS listener (409 https_unavailable); off and the other switch still can', async () => {
    h = await harness({ transportHttpsPort: 0 });
    const owner = await h.setupOwner();
    const on = await h.call('PATCH', '/api/v1/settings/transport', { token: owner, body: { httpStrict: true } });
    expect([on.statusCode, on.json().error.code]).toEqual([409, 'https_unavailable']);
    expect(h.store.settings.get('transport')).toEqual({ plainIntegrations: false });
    const other = await h.call('PATCH', '/api/v1/settings/transport', {
      token: owner,
      body: { httpStrict: false, plainIntegrations: true },
    });
    expect(other.json()).toEqual({ httpStrict: false, plainIntegrations: true, httpsPort: 0 });
  });

  it('a hub without the part answers 503 not_ready', async () => {
    h = await harness();
    const owner = await h.setupOwner();
    const res = await h.call('GET', '/api/v1/settings/transport', { token: owner });
    expect([res.statusCode, res.json().error.code]).toEqual([503, 'not_ready']);
  });
});
