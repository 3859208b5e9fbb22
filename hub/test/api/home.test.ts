import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from './harness.ts';

describe('home settings', () => {
  let h: Harness;
  let token: string;
  beforeEach(async () => {
    h = await harness();
    token = await h.setupOwner();
  });
  afterEach(async () => {
    await h.close();
  });

  it('starts with no location or zone, and admins set name, location and time zone', async () => {
    const initial = await h.call('GET', '/api/v1/home', { token });
    expect(initial.statusCode).toBe(200);
    expect(initial.json()).toMatchObject({ name: 'Home', location: null, timezone: null });

    const patched = await h.call('PATCH', '/api/v1/home', {
      token,
      body: { name: 'Cottage', location: { latitude: 52.52, longitude: 13.4 }, timezone: 'Europe/Berlin' },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({
      name: 'Cottage',
      location: { latitude: 52.52, longitude: 13.4 },
      timezone: 'Europe/Berlin',
    });
    // The settings the rules engine and history read.
    expect(h.store.settings.get('home.location')).toEqual({ latitude: 52.52, longitude: 13.4 });
    expect(h.store.settings.get('home.timezone')).toBe('Europe/Berlin');
    expect(h.store.audit.list(5)[0]).toMatchObject({ action: 'home.update' });

    const cleared = await h.call('PATCH', '/api/v1/home', { token, body: { location: null } });
    expect(cleared.json()).toMatchObject({ name: 'Cottage', location: null, timezone: 'Europe/Berlin' });
  });

  it('refuses bad values with validation_failed naming the field, and members cannot change it', async () => {
    const badZone = await h.call('PATCH', '/api/v1/home', { token, body: { timezone: 'Mars/Olympus' } });
    expect([badZone.statusCode, badZone.json().error.code]).toEqual([400, 'validation_failed']);
    const badLatitude = await h.call('PATCH', '/api/v1/home', {
      token,
      body: { location: { latitude: 91, longitude: 0 } },
    });
    expect([badLatitude.statusCode, badLatitude.json().error.code]).toEqual([400, 'validation_failed']);
    const unknownKey = await h.call('PATCH', '/api/v1/home', { token, body: { colour: 'red' } });
    expect(unknownKey.statusCode).toBe(400);
    const member = await h.userToken('member');
    expect((await h.call('GET', '/api/v1/home', { token: member })).statusCode).toBe(200);
    const denied = await h.call('PATCH', '/api/v1/home', { token: member, body: { name: 'Mine' } });
    expect([denied.statusCode, denied.json().error.code]).toEqual([403, 'forbidden']);
  });
});
