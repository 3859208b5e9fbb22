import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.ts';
import { TransportSettings } from '../../src/tls/transport-settings.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * The first-start rule for mqtt.plainIntegrations (issue 17): with nothing chosen by the owner or
 * the config file, a home with no integration user gets cleartext integrations off, a home that
 * already has integration users keeps them on; the answer is stored, so the rule runs once.
 * Real SQLite file; each `open()` is the hub starting on that data dir.
 */
describe('mqtt.plainIntegrations first-start rule', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Store;
  beforeEach(() => {
    tmp = tempDir();
    store = Store.open(tmp.dir);
  });
  afterEach(() => {
    store.close();
    tmp.cleanup();
  });

  const open = (plainIntegrations?: boolean) =>
    new TransportSettings({
      settings: store.settings,
      defaults: { httpStrict: false, ...(plainIntegrations === undefined ? {} : { plainIntegrations }) },
      httpsPort: () => 8443,
      hasIntegrationUsers: () => store.mqttCredentials.list('integration').length > 0,
    });
  const addIntegration = (username: string) =>
    store.mqttCredentials.insert({
      username,
      kind: 'integration',
      deviceId: null,
      secretHash: 'x'.repeat(64),
      scope: 'read',
      topics: ['#'],
      createdAt: Date.now(),
    });

  it('a new home: off, stored, and still off after integration users are added and the hub restarts', () => {
    expect(open().plainIntegrations).toBe(false);
    expect(store.settings.get('transport')).toEqual({ plainIntegrations: false });
    addIntegration('home-assistant');
    expect(open().plainIntegrations).toBe(false);
  });

  it('a home updated with integration users already made: on, stored, and the owner can still turn it off', () => {
    addIntegration('home-assistant');
    const first = open();
    expect(first.view()).toEqual({ httpStrict: false, plainIntegrations: true, httpsPort: 8443 });
    expect(store.settings.get('transport')).toEqual({ plainIntegrations: true });
    first.update({ plainIntegrations: false });
    expect(open().plainIntegrations).toBe(false);
  });

  it("the owner's stored strict choice is kept beside the rule's answer", () => {
    store.settings.set('transport', { httpStrict: true });
    addIntegration('node-red');
    expect(open().view()).toMatchObject({ httpStrict: true, plainIntegrations: true });
    expect(store.settings.get('transport')).toEqual({ httpStrict: true, plainIntegrations: true });
  });

  it('a config file that sets it is the default and stores nothing; once unset, the rule decides', () => {
    expect(open(true).plainIntegrations).toBe(true);
    expect(store.settings.get('transport')).toBeUndefined();
    expect(open(false).plainIntegrations).toBe(false);
    expect(store.settings.get('transport')).toBeUndefined();
    addIntegration('scripts');
    expect(open().plainIntegrations).toBe(true);
  });
});
