import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { pinnedRequest } from '../helpers/https.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { connectMqtt } from '../helpers/mqtt.ts';
import { tempDir } from '../helpers/temp.ts';

const PASSWORD = 'correct horse battery';

/**
 * The owner's switches for cleartext on the LAN (issue 17): GET|PATCH /api/v1/settings/transport
 * turn http.strict and mqtt.plainIntegrations on and off on the real hub, at once and across a
 * restart; admins read them, nobody but the owner changes them.
 */
describe('Settings → transport: http.strict and mqtt.plainIntegrations', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: HubProcess;
  let owner: string;
  const tokens: Record<string, string> = {};
  let pem: string;
  let integration: { username: string; password: string };
  const outcome = (res: { status: number; body: { error?: { code: string } } }) => [
    res.status,
    res.body?.error?.code ?? 'ok',
  ];
  const mqttCode = (port: number, options: Record<string, unknown> = {}) =>
    connectMqtt(port, { ...options, ...integration }).then(
      (c) => (c.end(true), 0),
      (e: { code?: number }) => e.code,
    );
  const login = async (username: string) =>
    (await api(hub.baseUrl, 'POST', '/api/v1/auth/login', { body: { username, password: PASSWORD } })).body
      .accessToken as string;

  beforeAll(async () => {
    tmp = tempDir();
    hub = await startHub(`${tmp.dir}/data`);
    owner = await setupOwner(hub);
    for (const role of ['admin', 'member', 'guest']) {
      const made = await api(hub.baseUrl, 'POST', '/api/v1/users', {
        token: owner,
        body: { username: role, password: PASSWORD, role },
      });
      expect(made.status).toBe(201);
      tokens[role] = await login(role);
    }
    pem = (await api(hub.baseUrl, 'GET', '/api/v1/broker/certificate', { token: owner })).body.pem;
    integration = (
      await api(hub.baseUrl, 'POST', '/api/v1/integrations/mqtt-users', {
        token: owner,
        body: { username: 'ha', scope: 'readwrite', topics: ['lab/#'] },
      })
    ).body;
  }, 120_000);
  afterAll(async () => {
    await hub?.stop();
    tmp?.cleanup();
  });

  it("shows a new home's defaults (both off) to the owner and admins; members and guests are refused", async () => {
    for (const token of [owner, tokens.admin!]) {
      const res = await api(hub.baseUrl, 'GET', '/api/v1/settings/transport', { token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ httpStrict: false, plainIntegrations: false, httpsPort: hub.https });
    }
    for (const role of ['member', 'guest']) {
      const res = await api(hub.baseUrl, 'GET', '/api/v1/settings/transport', { token: tokens[role] });
      expect(outcome(res), role).toEqual([403, 'forbidden']);
    }
    expect(outcome(await api(hub.baseUrl, 'GET', '/api/v1/settings/transport'))).toEqual([401, 'unauthorized']);
  });

  it('only the owner changes them: admin, member and guest get 403 and nothing changes', async () => {
    for (const role of ['admin', 'member', 'guest']) {
      const res = await api(hub.baseUrl, 'PATCH', '/api/v1/settings/transport', {
        token: tokens[role],
        body: { plainIntegrations: true, httpStrict: true },
      });
      expect(outcome(res), role).toEqual([403, 'forbidden']);
    }
    expect((await api(hub.baseUrl, 'GET', '/api/v1/settings/transport', { token: owner })).body).toMatchObject({
      httpStrict: false,
      plainIntegrations: false,
    });
    expect(await mqttCode(hub.mqtt)).toBe(5);
  });

  it('refuses a body that is empty, has other fields or other types (400, naming nothing changed)', async () => {
    for (const body of [{}, { httpStrict: 'true' }, { plainIntegrations: 1 }, { httpStrict: false, port: 80 }]) {
      const res = await api(hub.baseUrl, 'PATCH', '/api/v1/settings/transport', { token: owner, body });
      expect(outcome(res), JSON.stringify(body)).toEqual([400, 'validation_failed']);
    }
  });

  it('plainIntegrations on lets an integration in on 1883; off again closes it at once, 1883 refuses it, 8883 takes it', async () => {
    const on = await api(hub.baseUrl, 'PATCH', '/api/v1/settings/transport', {
      token: owner,
      body: { plainIntegrations: true },
    });
    expect(on.body).toEqual({ httpStrict: false, plainIntegrations: true, httpsPort: hub.https });
    const live = await connectMqtt(hub.mqtt, { ...integration });
    const closed = new Promise<void>((resolve) => live.once('close', () => resolve()));
    const res = await api(hub.baseUrl, 'PATCH', '/api/v1/settings/transport', {
      token: owner,
      body: { plainIntegrations: false },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ httpStrict: false, plainIntegrations: false, httpsPort: hub.https });
    await closed;
    live.end(true);
    expect(await mqttCode(hub.mqtt)).toBe(5);
    expect(await mqttCode(hub.mqtts, { protocol: 'mqtts', ca: pem, servername: 'localhost' })).toBe(0);
    const audit = (await api(hub.baseUrl, 'GET', '/api/v1/audit?limit=50', { token: owner })).body.entries as {
      action: string;
      details: Record<string, unknown>;
    }[];
    expect(audit.find((e) => e.action === 'settings.transport')?.details).toEqual({ plainIntegrations: false });
  });

  it('httpStrict on: plain http refuses a login (https_required) and redirects GETs; https takes them', async () => {
    const res = await api(hub.baseUrl, 'PATCH', '/api/v1/settings/transport', {
      token: owner,
      body: { httpStrict: true },
    });
    expect(res.body).toMatchObject({ httpStrict: true, plainIntegrations: false });
    const refused = await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
      body: { username: 'owner', password: PASSWORD },
    });
    expect(outcome(refused)).toEqual([403, 'https_required']);
    const redirect = await fetch(`${hub.baseUrl}/api/v1/me`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([
      308,
      `https://127.0.0.1:${hub.https}/api/v1/me`,
    ]);
    const viaHttps = await pinnedRequest(hub.https, pem, 'POST', '/api/v1/auth/login', {
      body: { username: 'owner', password: PASSWORD },
    });
    expect(viaHttps.status).toBe(200);
    expect((await api(hub.baseUrl, 'GET', '/api/v1/health')).body.https.strict).toBe(true);
  });

  it('both are kept across a restart, and the owner turns them back off over https', async () => {
    const { http, mqtt, mqtts, https } = hub;
    expect(await hub.stop()).toBe(0);
    hub = await startHub(`${tmp.dir}/data`, [
      '--http-port',
      String(http),
      '--mqtt-port',
      String(mqtt),
      '--mqtts-port',
      String(mqtts),
      '--https-port',
      String(https),
    ]);
    expect(outcome(await api(hub.baseUrl, 'POST', '/api/v1/auth/login', { body: { username: 'owner' } }))).toEqual([
      403,
      'https_required',
    ]);
    expect(await mqttCode(hub.mqtt)).toBe(5);
    const token = (
      await pinnedRequest(hub.https, pem, 'POST', '/api/v1/auth/login', {
        body: { username: 'owner', password: PASSWORD },
      })
    ).body.accessToken as string;
    const off = await pinnedRequest(hub.https, pem, 'PATCH', '/api/v1/settings/transport', {
      token,
      body: { httpStrict: false, plainIntegrations: true },
    });
    expect(off.body).toEqual({ httpStrict: false, plainIntegrations: true, httpsPort: hub.https });
    expect(await mqttCode(hub.mqtt)).toBe(0);
    expect(
      (await api(hub.baseUrl, 'POST', '/api/v1/auth/login', { body: { username: 'owner', password: PASSWORD } }))
        .status,
    ).toBe(200);
  }, 120_000);
});
