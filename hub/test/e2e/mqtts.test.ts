import { readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.ts';
import { loadHubCertificate } from '../../src/tls/hub-certificate.ts';
import { plainIntegrationsArgs, startHub, type HubProcess } from '../helpers/hub-process.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { connectMqtt, mosquitto, nextMessage } from '../helpers/mqtt.ts';
import { tempDir } from '../helpers/temp.ts';
import { wireTap } from '../helpers/wire-tap.ts';

/**
 * MQTT over TLS for integrations (issue 17): the real hub listens on its TLS port with its own
 * certificate, serves that certificate for pinning, and a client that pins it talks MQTT with
 * nothing readable on the wire; a client pinning another certificate never gets to CONNECT.
 */
describe('MQTT over TLS with the hub certificate', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: HubProcess;
  let owner: string;
  let pem: string;
  const user = { username: 'node-red', password: '' };

  beforeAll(async () => {
    tmp = tempDir();
    hub = await startHub(join(tmp.dir, 'data'), plainIntegrationsArgs(tmp.dir));
    owner = await setupOwner(hub);
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

  it('serves its certificate and fingerprint to signed-in users; the port is in ports.json', async () => {
    expect(hub.mqtts).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(hub.dataDir, 'ports.json'), 'utf8'))).toMatchObject({ mqtts: hub.mqtts });
    const res = await api(hub.baseUrl, 'GET', '/api/v1/broker/certificate', { token: owner });
    expect(res.status).toBe(200);
    expect(res.body.port).toBe(hub.mqtts);
    expect(res.body.sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(res.body.pem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    pem = res.body.pem;
    const anonymous = await api(hub.baseUrl, 'GET', '/api/v1/broker/certificate');
    expect([anonymous.status, anonymous.body.error.code]).toEqual([401, 'unauthorized']);
  });

  it('mosquitto pinning the certificate publishes; mqtt.js pinning it receives; the wire shows nothing', async () => {
    const cafile = join(tmp.dir, 'hub.pem');
    writeFileSync(cafile, pem);
    const tap = await wireTap(hub.mqtts);
    try {
      const client = await connectMqtt(tap.port, {
        protocol: 'mqtts',
        ca: pem,
        servername: 'localhost',
        username: user.username,
        password: user.password,
      });
      await client.subscribeAsync('lab/#', { qos: 1 });
      const got = nextMessage(client, (topic) => topic === 'lab/secret-reading');
      const pub = await mosquitto('mosquitto_pub', [
        '-p',
        String(hub.mqtts),
        '--cafile',
        cafile,
        '-u',
        user.username,
        '-P',
        user.password,
        '-q',
        '1',
        '-t',
        'lab/secret-reading',
        '-m',
        'temperature 21.5',
      ]);
      expect(pub.code, pub.stderr).toBe(0);
      expect((await got).payload.toString()).toBe('temperature 21.5');
      await client.publishAsync('lab/secret-reading', 'from mqtt.js 42.42', { qos: 1 });
      client.end(true);
      const wire = tap.seen();
      expect(wire.length).toBeGreaterThan(500);
      for (const secret of [user.password, user.username, 'lab/secret-reading', '42.42'])
        expect(wire.includes(secret)).toBe(false);
    } finally {
      tap.close();
    }
  });

  it('the same session on plain 1883 is readable on the wire (the sniffer sees what it should)', async () => {
    const tap = await wireTap(hub.mqtt);
    try {
      const client = await connectMqtt(tap.port, { username: user.username, password: user.password });
      await client.publishAsync('lab/secret-reading', 'from mqtt.js 42.42', { qos: 1 });
      client.end(true);
      const wire = tap.seen();
      for (const secret of [user.password, 'lab/secret-reading', '42.42']) expect(wire.includes(secret)).toBe(true);
    } finally {
      tap.close();
    }
  });

  it('a client pinning another hub is refused in the handshake; garbage on the port ends only that socket', async () => {
    const other = tempDir();
    const otherStore = Store.open(other.dir);
    const stranger = loadHubCertificate(otherStore.settings, 'hearth');
    otherStore.close();
    other.cleanup();
    await expect(
      connectMqtt(hub.mqtts, {
        protocol: 'mqtts',
        ca: stranger.certPem,
        servername: 'localhost',
        username: user.username,
        password: user.password,
      }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_VERIFY|SIGNATURE/) });
    const cafile = join(tmp.dir, 'stranger.pem');
    writeFileSync(cafile, stranger.certPem);
    const pub = await mosquitto('mosquitto_pub', [
      '-p',
      String(hub.mqtts),
      '--cafile',
      cafile,
      '-u',
      user.username,
      '-P',
      user.password,
      '-t',
      'lab/x',
      '-m',
      'x',
    ]);
    expect(pub.code).not.toBe(0);

    // Plain MQTT bytes to the TLS port: the handshake fails, the hub goes on.
    const raw = connectTcp(hub.mqtts, '127.0.0.1');
    raw.on('error', () => {});
    raw.write(Buffer.from('101000044d5154540402003c0000', 'hex'));
    await once(raw, 'close');
    const health = await api(hub.baseUrl, 'GET', '/api/v1/health');
    expect(health.status).toBe(200);
    const client = await connectMqtt(hub.mqtts, {
      protocol: 'mqtts',
      ca: pem,
      servername: 'localhost',
      username: user.username,
      password: user.password,
    });
    client.end(true);
  });
});
