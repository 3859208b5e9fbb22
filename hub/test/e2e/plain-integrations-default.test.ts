import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from '../../src/store/store.ts';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { connectMqtt } from '../helpers/mqtt.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * Plain 1883 for integrations is opt-in (issue 17), by the first-start rule in
 * hub/src/tls/transport-settings.ts: a new home starts with it off; a home that already has
 * integration users and no stored choice (what an older hub leaves behind) keeps it on. The real
 * hub, real MQTT clients; the answer is what the broker says to a CONNECT.
 */
describe('mqtt.plainIntegrations default: off for a new home, kept on for an updated one', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: HubProcess;
  let owner: string;
  let pem: string;
  let integration: { username: string; password: string };
  const dataDir = () => join(tmp.dir, 'data');
  const mqttCode = (port: number, options: Record<string, unknown> = {}) =>
    connectMqtt(port, { ...options, ...integration }).then(
      (c) => (c.end(true), 0),
      (e: { code?: number }) => e.code,
    );
  const setting = async (token: string) =>
    (await api(hub.baseUrl, 'GET', '/api/v1/settings/transport', { token })).body.plainIntegrations;
  const login = async () =>
    (await api(hub.baseUrl, 'POST', '/api/v1/auth/login', { body: { username: 'owner', password: PASSWORD } })).body
      .accessToken as string;
  const PASSWORD = 'correct horse battery';

  beforeAll(async () => {
    tmp = tempDir();
    hub = await startHub(dataDir());
    owner = await setupOwner(hub, 'owner', PASSWORD);
    pem = (await api(hub.baseUrl, 'GET', '/api/v1/broker/certificate', { token: owner })).body.pem;
    const made = await api(hub.baseUrl, 'POST', '/api/v1/integrations/mqtt-users', {
      token: owner,
      body: { username: 'ha', scope: 'read', topics: ['#'] },
    });
    expect(made.status).toBe(201);
    integration = made.body;
  }, 120_000);
  afterAll(async () => {
    await hub?.stop();
    tmp?.cleanup();
  });

  it('a new home: an integration is refused on 1883 (CONNACK 5), taken on 8883; still so after a restart', async () => {
    expect(await setting(owner)).toBe(false);
    expect(await mqttCode(hub.mqtt)).toBe(5);
    expect(await mqttCode(hub.mqtts, { protocol: 'mqtts', ca: pem, servername: 'localhost' })).toBe(0);
    // The integration user now exists, but the new home's answer was stored at its first start.
    expect(await hub.stop()).toBe(0);
    hub = await startHub(dataDir());
    expect(await setting(await login())).toBe(false);
    expect(await mqttCode(hub.mqtt)).toBe(5);
  }, 120_000);

  it('an updated home (integration users, no stored choice) keeps integrations on 1883', async () => {
    expect(await hub.stop()).toBe(0);
    // What a hub from before the rule leaves: its integration users, and no transport choice.
    const db = new Database(join(dataDir(), DATABASE_FILE));
    db.prepare("DELETE FROM settings WHERE key = 'transport'").run();
    db.close();
    hub = await startHub(dataDir());
    expect(await setting(await login())).toBe(true);
    expect(await mqttCode(hub.mqtt)).toBe(0);
  }, 120_000);
});
