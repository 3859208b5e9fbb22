import { once } from 'node:events';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.ts';
import { loadHubCertificate } from '../../src/tls/hub-certificate.ts';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { connectMqtt } from '../helpers/mqtt.ts';
import { tempDir } from '../helpers/temp.ts';
import { HAVE_SIM, IN_NETNS, startSim, waitFor, type SimProcess } from './helpers.ts';
import { wireTap } from '../helpers/wire-tap.ts';

const P = { id: 'plug-7157e57e57e5', setupCode: '24681357' };

/**
 * A plug paired with a hub that has TLS talks MQTT only over TLS with its PSK (issue 17,
 * docs/plug-protocol.md "MQTT over TLS"): the C simulator with libmosquitto against the real hub.
 * The plug dials what it stored at pairing, so the test points that stored port at a relay.
 */
describe.skipIf(!IN_NETNS || !HAVE_SIM)('a plug on MQTT over TLS with its PSK', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: HubProcess;
  let token: string;
  let sim: SimProcess | undefined;
  const stateDir = () => join(tmp.dir, 'sims', P.id);
  const device = async () => (await api(hub.baseUrl, 'GET', `/api/v1/devices/${P.id}`, { token })).body;
  /** Restarts the simulator with its stored TLS port changed: its "flash", as the plug keeps it. */
  const restartDialing = async (port: number) => {
    await sim?.kill9();
    writeFileSync(join(stateDir(), 'mq_tls_port'), String(port));
    sim = await startSim({ ...P, stateDir: stateDir(), loadWatts: 1234 });
  };

  beforeAll(async () => {
    tmp = tempDir();
    hub = await startHub(join(tmp.dir, 'hub'), ['--mdns', 'lo']);
    token = await setupOwner(hub);
    sim = await startSim({ ...P, stateDir: stateDir(), loadWatts: 1234 });
  }, 180_000);
  afterAll(async () => {
    await sim?.stop();
    await hub?.stop();
    tmp?.cleanup();
  });

  it('pairs and stores the TLS port from the claim; comes online through TLS', async () => {
    await waitFor(
      async () =>
        ((await api(hub.baseUrl, 'GET', '/api/v1/plugs/discovered', { token })).body as { id: string }[]).some(
          (p) => p.id === P.id,
        ) || undefined,
      'the plug discovered',
      60_000,
    );
    const paired = await api(hub.baseUrl, 'POST', `/api/v1/plugs/${P.id}/pair`, {
      token,
      body: { setupCode: P.setupCode, name: 'Oven' },
    });
    expect(paired.status).toBe(201);
    expect(paired.body.available).toBe(true);
    expect(readFileSync(join(stateDir(), 'mq_tls_port'), 'utf8')).toBe(String(hub.mqtts));
  }, 120_000);

  it('a command, its confirmation and telemetry cross the wire with no password, topic or value in clear', async () => {
    const password = readFileSync(join(stateDir(), 'mq_pass'), 'utf8');
    const tap = await wireTap(hub.mqtts);
    try {
      await restartDialing(tap.port);
      await waitFor(
        async () => (tap.seen().length > 0 && (await device()).available === true ? true : undefined),
        'online through the relay',
        60_000,
      );
      const res = await api(hub.baseUrl, 'POST', `/api/v1/devices/${P.id}/commands`, {
        token,
        body: { capability: 'switch', value: true },
      });
      expect([res.status, res.body.state.switch]).toEqual([200, true]);
      await waitFor(async () => ((await device()).state.power > 1000 ? true : undefined), 'telemetry: 1234 W', 30_000);
      const wire = tap.seen();
      expect(wire.length).toBeGreaterThan(1000);
      // The PSK identity (the plug's id, public anyway: it is its mDNS name) travels in the
      // ClientHello, as TLS 1.3 has it; the topics that carry it do not.
      for (const secret of [password, 'hearth/', 'telemetry', 'power', '1234', 'online', 'switch', 'sig']) {
        expect(wire.includes(Buffer.from(secret)), `"${secret}" on the wire`).toBe(false);
      }
    } finally {
      tap.close();
    }
  }, 120_000);

  it('a man in the middle with its own certificate is refused by the plug before any MQTT byte', async () => {
    const store = Store.open(join(tmp.dir, 'mitm'));
    const cert = loadHubCertificate(store.settings, 'localhost');
    store.close();
    const decrypted: Buffer[] = [];
    const failures: string[] = [];
    const mitm = createTlsServer({ key: cert.keyPem, cert: cert.certPem }, (socket) =>
      socket.on('data', (d: Buffer) => decrypted.push(d)),
    );
    mitm.on('tlsClientError', (err: NodeJS.ErrnoException) => failures.push(err.code ?? err.message));
    mitm.listen(0, '127.0.0.1');
    await once(mitm, 'listening');
    try {
      await restartDialing((mitm.address() as AddressInfo).port);
      await waitFor(() => (failures.length >= 2 ? true : undefined), 'the plug to give up on two handshakes', 60_000);
      expect(decrypted).toEqual([]);
      expect((await device()).available).toBe(false);
    } finally {
      mitm.close();
    }
    // Back to the real hub: online again, no re-pairing.
    await restartDialing(hub.mqtts);
    await waitFor(
      async () => ((await device()).available === true ? true : undefined),
      'online again on the hub',
      60_000,
    );
  }, 180_000);

  it("the plug's password, sniffed or read from its flash, no longer opens cleartext MQTT (tls_required)", async () => {
    const password = readFileSync(join(stateDir(), 'mq_pass'), 'utf8');
    const err = await connectMqtt(hub.mqtt, { clientId: `${P.id}-probe`, username: P.id, password }).then(
      (c) => (c.end(true), undefined),
      (e: { code?: number }) => e,
    );
    expect(err?.code).toBe(5);
  });

  it('a plug still on cleartext (paired before TLS) is moved by a signed command, without re-pairing', async () => {
    // Make this plug one paired before TLS: the hub forgets it ever came in with its PSK, the
    // plug forgets the TLS port (its firmware has the TLS code, its stored config predates it).
    await sim?.stop();
    sim = undefined;
    const { http, mqtt, mqtts } = hub;
    expect(await hub.stop()).toBe(0);
    const store = Store.open(join(tmp.dir, 'hub'));
    store.db.prepare('UPDATE mqtt_credentials SET tls_only = 0 WHERE username = ?').run(P.id);
    store.close();
    rmSync(join(stateDir(), 'mq_tls_port'));
    hub = await startHub(join(tmp.dir, 'hub'), [
      '--mdns',
      'lo',
      '--http-port',
      String(http),
      '--mqtt-port',
      String(mqtt),
      '--mqtts-port',
      String(mqtts),
    ]);
    token = (
      await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
        body: { username: 'owner', password: 'correct horse battery' },
      })
    ).body.accessToken;
    const password = readFileSync(join(stateDir(), 'mq_pass'), 'utf8');
    // The old password works in clear until the move.
    (await connectMqtt(hub.mqtt, { clientId: P.id, username: P.id, password })).end(true);
    sim = await startSim({ ...P, stateDir: stateDir(), loadWatts: 1234 });
    const s = sim;
    await waitFor(
      () => (s.lines.some((l) => l.event === 'moved_to_tls') ? true : undefined),
      'the plug to take the signed mqtts command',
      60_000,
    );
    expect(readFileSync(join(stateDir(), 'mq_tls_port'), 'utf8')).toBe(String(hub.mqtts));
    await waitFor(
      async () => {
        const refused = await connectMqtt(hub.mqtt, { clientId: `${P.id}-probe`, username: P.id, password }).then(
          (c) => (c.end(true), undefined),
          (e: { code?: number }) => e,
        );
        return refused?.code === 5 ? true : undefined;
      },
      'cleartext refused once the plug is on TLS',
      60_000,
    );
    await waitFor(async () => ((await device()).available === true ? true : undefined), 'online on TLS', 60_000);
    const res = await api(hub.baseUrl, 'POST', `/api/v1/devices/${P.id}/commands`, {
      token,
      body: { capability: 'switch', value: false },
    });
    expect([res.status, res.body.state.switch]).toEqual([200, false]);
  }, 180_000);
});
