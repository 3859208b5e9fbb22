import { readFileSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Store } from '../../src/store/store.ts';
import { loadHubCertificate } from '../../src/tls/hub-certificate.ts';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { pinnedRequest } from '../helpers/https.ts';
import { wireTap } from '../helpers/wire-tap.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { connectMqtt } from '../helpers/mqtt.ts';
import { tempDir } from '../helpers/temp.ts';

const PASSWORD = 'correct horse battery';

/** The first message on a WebSocket containing `text`; rejects if it closes or errs first. */
function messageWith(ws: WebSocket, text: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message')), timeoutMs);
    ws.on('message', (data) => {
      if (!data.toString().includes(text)) return;
      clearTimeout(timer);
      resolve(data.toString());
    });
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      reject(new Error(`closed ${code} ${reason.toString()}`));
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * HTTPS for the web UI and API (issue 17): the real hub serves the same app on its HTTPS port
 * with the certificate it hands out at GET /broker/certificate; a client pinning that
 * certificate logs in, uses the API and both WebSockets, and nothing readable crosses the wire.
 */
describe('the web UI and API over HTTPS', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: HubProcess;
  let pem: string;
  let sha256: string;

  beforeAll(async () => {
    tmp = tempDir();
    hub = await startHub(join(tmp.dir, 'data'));
    const owner = await setupOwner(hub, 'owner', PASSWORD);
    const cert = await api(hub.baseUrl, 'GET', '/api/v1/broker/certificate', { token: owner });
    expect(cert.status).toBe(200);
    pem = cert.body.pem;
    sha256 = cert.body.sha256;
  });
  afterAll(async () => {
    await hub?.stop();
    tmp?.cleanup();
  });

  it('listens on its own port, written to ports.json, with the certificate integrations pin', async () => {
    expect(hub.https).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(hub.dataDir, 'ports.json'), 'utf8'))).toMatchObject({ https: hub.https });
    const health = await pinnedRequest(hub.https, pem, 'GET', '/api/v1/health');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');
    expect(health.peerSha256).toBe(sha256);
    // Strict is off: no HSTS (a self-signed certificate plus HSTS can lock people out).
    expect(health.headers['strict-transport-security']).toBeUndefined();
  });

  it('a pinning client logs in, calls the API and gets the events WebSocket over wss; the wire shows no password or token', async () => {
    const tap = await wireTap(hub.https);
    try {
      const login = await pinnedRequest(tap.port, pem, 'POST', '/api/v1/auth/login', {
        body: { username: 'owner', password: PASSWORD },
      });
      expect(login.status).toBe(200);
      const token = login.body.accessToken as string;
      expect(token).toBeTruthy();
      const me = await pinnedRequest(tap.port, pem, 'GET', '/api/v1/me', { token });
      expect([me.status, me.body.user?.username ?? me.body.username]).toEqual([200, 'owner']);

      const ws = new WebSocket(`wss://127.0.0.1:${tap.port}/api/v1/events`, [`bearer.${token}`], { ca: pem });
      expect(JSON.parse(await messageWith(ws, 'ready'))).toEqual({ type: 'ready', role: 'owner' });
      const event = messageWith(ws, 'Secret Heater');
      const made = await pinnedRequest(tap.port, pem, 'POST', '/api/v1/devices', {
        token,
        body: { name: 'Secret Heater', driver: 'mqtt', capabilities: ['switch'] },
      });
      expect(made.status).toBe(201);
      expect(JSON.parse(await event)).toMatchObject({ type: expect.stringMatching(/^(device|audit)/) });
      ws.close();

      const wire = tap.seen();
      expect(wire.length).toBeGreaterThan(1000);
      for (const secret of [PASSWORD, token, 'Secret Heater', '/api/v1/auth/login'])
        expect(wire.includes(secret)).toBe(false);
    } finally {
      tap.close();
    }
  });

  it('the same login on plain http is readable on the wire (the sniffer sees what it should)', async () => {
    const tap = await wireTap(hub.http);
    try {
      const login = await api(`http://127.0.0.1:${tap.port}`, 'POST', '/api/v1/auth/login', {
        body: { username: 'owner', password: PASSWORD },
      });
      expect(login.status).toBe(200);
      expect(tap.seen().includes(PASSWORD)).toBe(true);
    } finally {
      tap.close();
    }
  });

  it('MQTT over wss://…/mqtt works for an integration pinning the certificate', async () => {
    const login = await pinnedRequest(hub.https, pem, 'POST', '/api/v1/auth/login', {
      body: { username: 'owner', password: PASSWORD },
    });
    const created = await pinnedRequest(hub.https, pem, 'POST', '/api/v1/integrations/mqtt-users', {
      token: login.body.accessToken,
      body: { username: 'wss-user', scope: 'readwrite', topics: ['lab/#'] },
    });
    expect(created.status).toBe(201);
    const client = await connectMqtt(hub.https, {
      protocol: 'wss',
      path: '/mqtt',
      ca: pem,
      username: 'wss-user',
      password: created.body.password,
    });
    await client.subscribeAsync('lab/#', { qos: 1 });
    const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
    await client.publishAsync('lab/x', 'over wss', { qos: 1 });
    expect(await got).toBe('over wss');
    client.end(true);
  });

  it('the host check and a foreign certificate hold over https too', async () => {
    const rebound = await pinnedRequest(hub.https, pem, 'GET', '/api/v1/health', { host: 'evil.example' });
    expect([rebound.status, rebound.body.error.code]).toEqual([421, 'host_not_allowed']);
    // Plain http bytes to the HTTPS port: that socket fails, the hub goes on.
    const plain = await fetch(`http://127.0.0.1:${hub.https}/api/v1/health`).then(
      (r) => r.status,
      (e: Error) => e.name,
    );
    expect(plain).not.toBe(200);
    // A client pinning another hub's certificate fails the handshake.
    const other = tempDir();
    const otherStore = Store.open(other.dir);
    const stranger = loadHubCertificate(otherStore.settings, 'hearth');
    otherStore.close();
    other.cleanup();
    const refused = await pinnedRequest(hub.https, stranger.certPem, 'GET', '/api/v1/health').then(
      () => 'answered',
      (e: NodeJS.ErrnoException) => e.code ?? e.message,
    );
    expect(refused).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|SIGNATURE/);
    expect((await pinnedRequest(hub.https, pem, 'GET', '/api/v1/health')).status).toBe(200);
  });

  it('stops on SIGTERM with a wss client still connected', async () => {
    const login = await pinnedRequest(hub.https, pem, 'POST', '/api/v1/auth/login', {
      body: { username: 'owner', password: PASSWORD },
    });
    const ws = new WebSocket(`wss://127.0.0.1:${hub.https}/api/v1/events`, [`bearer.${login.body.accessToken}`], {
      ca: pem,
    });
    await messageWith(ws, 'ready');
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const started = Date.now();
    expect(await hub.stop()).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await closed).toBeGreaterThan(0);
  });
});

/**
 * `http.strict` (issue 17): plain http answers first contact only (the setup page and API before
 * any account exists, health); afterwards GETs are sent to https and anything that could carry a
 * password is refused with `https_required`. HSTS only on https answers.
 */
describe('http.strict', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: HubProcess;
  let pem: string;

  beforeAll(async () => {
    tmp = tempDir();
    const config = join(tmp.dir, 'hearth.json');
    writeFileSync(config, JSON.stringify({ http: { strict: true } }));
    hub = await startHub(join(tmp.dir, 'data'), ['--config', config]);
  });
  afterAll(async () => {
    await hub?.stop();
    tmp?.cleanup();
  });

  it('before any account, plain http serves the setup page, health with the fingerprint, and setup', async () => {
    const health = await api(hub.baseUrl, 'GET', '/api/v1/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({
      setupRequired: true,
      https: { port: hub.https, strict: true, sha256: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/) },
    });
    const page = await fetch(`${hub.baseUrl}/`, { redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    await setupOwner(hub, 'owner', PASSWORD);
    // The fingerprint the setup screen showed is the certificate the HTTPS port presents.
    const { X509Certificate } = await import('node:crypto');
    const presented = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: hub.https, rejectUnauthorized: false }, () => {
        resolve(new X509Certificate(socket.getPeerX509Certificate()!.raw).toString());
        socket.end();
      });
      socket.once('error', reject);
    });
    pem = presented;
    expect(new X509Certificate(pem).fingerprint256).toBe(health.body.https.sha256);
  });

  it('after setup, plain http refuses a login with https_required and redirects GETs; health still answers', async () => {
    const login = await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
      body: { username: 'owner', password: PASSWORD },
    });
    expect([login.status, login.body.error.code]).toEqual([403, 'https_required']);
    for (const path of ['/', '/api/v1/me', '/api/v1/devices?room=x']) {
      const res = await fetch(`${hub.baseUrl}${path}`, { redirect: 'manual' });
      expect(res.status).toBe(308);
      expect(res.headers.get('location')).toBe(`https://127.0.0.1:${hub.https}${path}`);
      expect(res.headers.get('strict-transport-security')).toBeNull();
    }
    expect((await api(hub.baseUrl, 'GET', '/api/v1/health')).status).toBe(200);
    // Setup once done is a plain-http POST like any other: refused before it is looked at.
    const setup = await api(hub.baseUrl, 'POST', '/api/v1/setup', { body: { username: 'x', password: PASSWORD } });
    expect([setup.status, setup.body.error.code]).toEqual([403, 'https_required']);
  });

  it('over https the same login works, with Strict-Transport-Security; the events WebSocket opens over wss only', async () => {
    const login = await pinnedRequest(hub.https, pem, 'POST', '/api/v1/auth/login', {
      body: { username: 'owner', password: PASSWORD },
    });
    expect(login.status).toBe(200);
    expect(login.headers['strict-transport-security']).toBe('max-age=15552000');
    const token = login.body.accessToken as string;
    const ws = new WebSocket(`wss://127.0.0.1:${hub.https}/api/v1/events`, [`bearer.${token}`], { ca: pem });
    expect(JSON.parse(await messageWith(ws, 'ready'))).toEqual({ type: 'ready', role: 'owner' });
    ws.close();
    const plain = new WebSocket(`ws://127.0.0.1:${hub.http}/api/v1/events`, [`bearer.${token}`]);
    const outcome = await new Promise<string>((resolve) => {
      plain.once('open', () => resolve('open'));
      plain.once('unexpected-response', (_req, res) => resolve(`status ${res.statusCode}`));
      plain.once('error', (err) => resolve(err.message));
    });
    plain.terminate();
    expect(outcome).toBe('status 308');
  });
});

/**
 * `mqtt.plainIntegrations` off (issue 17): an integration user logs in only over TLS (8883, or
 * wss://…/mqtt on the HTTPS port); on 1883 or ws:// it gets CONNACK 5 and the log says
 * `tls_required`. Devices are not affected by this setting.
 */
describe('mqtt.plainIntegrations off', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: HubProcess;
  let pem: string;
  let owner: string;
  const user = { username: 'home-assistant', password: '' };

  beforeAll(async () => {
    tmp = tempDir();
    const config = join(tmp.dir, 'hearth.json');
    writeFileSync(config, JSON.stringify({ mqtt: { plainIntegrations: false } }));
    hub = await startHub(join(tmp.dir, 'data'), ['--config', config]);
    owner = await setupOwner(hub, 'owner', PASSWORD);
    pem = (await api(hub.baseUrl, 'GET', '/api/v1/broker/certificate', { token: owner })).body.pem;
    const created = await api(hub.baseUrl, 'POST', '/api/v1/integrations/mqtt-users', {
      token: owner,
      body: { username: user.username, scope: 'readwrite', topics: ['lab/#'] },
    });
    expect(created.status).toBe(201);
    user.password = created.body.password;
  });
  afterAll(async () => {
    await hub?.stop();
    tmp?.cleanup();
  });

  it('refuses an integration on 1883 and ws:// with tls_required; takes it on 8883 and wss://', async () => {
    for (const options of [{ port: hub.mqtt }, { port: hub.http, protocol: 'ws' as const, path: '/mqtt' }]) {
      const err = await connectMqtt(options.port, {
        ...options,
        username: user.username,
        password: user.password,
      }).then(
        (client) => {
          client.end(true);
          return undefined;
        },
        (e: { code?: number }) => e,
      );
      expect(err?.code).toBe(5);
    }
    const refusals = hub.logs.filter((l) => l.msg === 'mqtt connect refused' && l.username === user.username);
    expect(refusals.map((l) => l.reason)).toContain('tls_required');
    for (const options of [
      { port: hub.mqtts, protocol: 'mqtts' as const, servername: 'localhost' },
      { port: hub.https, protocol: 'wss' as const, path: '/mqtt' },
    ]) {
      const client = await connectMqtt(options.port, {
        ...options,
        ca: pem,
        username: user.username,
        password: user.password,
      });
      await client.publishAsync('lab/x', 'encrypted', { qos: 1 });
      client.end(true);
    }
  });

  it('a device still connects on 1883 (plugs move by their own path)', async () => {
    const made = await api(hub.baseUrl, 'POST', '/api/v1/devices', {
      token: owner,
      body: { name: 'Lamp', driver: 'mqtt', capabilities: ['switch'] },
    });
    expect(made.status).toBe(201);
    const client = await connectMqtt(hub.mqtt, {
      clientId: made.body.device.id,
      username: made.body.device.id,
      password: made.body.mqtt.password,
    });
    client.end(true);
  });
});
