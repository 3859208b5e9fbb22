import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { plugPsk, plugPskFromDigest } from '../../src/broker/plug-psk.ts';
import { Store } from '../../src/store/store.ts';
import { loadHubCertificate } from '../../src/tls/hub-certificate.ts';
import { connectMqtt, nextMessage } from '../helpers/mqtt.ts';
import { tempDir } from '../helpers/temp.ts';
import { startBroker, type Harness } from './harness.ts';

const vectors = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../firmware/test/vectors/plug-vectors.json', import.meta.url)), 'utf8'),
);

/** What a plug does: TLS with only its PSK (no CA, so any certificate fails), then MQTT CONNECT. */
function connectWithPsk(
  port: number,
  identity: string,
  key: Buffer,
  login: { username: string; password: string; clientId: string },
  tls: Record<string, unknown> = {},
): Promise<MqttClient> {
  return connectMqtt(port, {
    protocol: 'mqtts',
    host: '127.0.0.1',
    rejectUnauthorized: true,
    checkServerIdentity: () => undefined,
    pskCallback: () => ({ psk: key, identity }),
    ciphers: 'TLS_AES_128_GCM_SHA256',
    ...tls,
    ...login,
    clean: true,
  } as Parameters<typeof connectMqtt>[1]);
}

/** Only the TLS handshake, as a plug makes it: 'ok' or the client's error code. */
function pskHandshake(port: number, identity: string, key: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect(
      {
        host: '127.0.0.1',
        port,
        pskCallback: () => ({ psk: key, identity }),
        ciphers: 'TLS_AES_128_GCM_SHA256',
        checkServerIdentity: () => undefined,
      },
      () => {
        socket.destroy();
        resolve('ok');
      },
    );
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const tlsOf = (client: MqttClient) => client.stream as unknown as import('node:tls').TLSSocket;

describe('plugs on MQTT over TLS with a PSK derived from their MQTT password', () => {
  let h: Harness;
  let certDir: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    certDir = tempDir();
    const store = Store.open(certDir.dir);
    const cert = loadHubCertificate(store.settings, 'localhost');
    store.close();
    h = await startBroker({ tls: { keyPem: cert.keyPem, certPem: cert.certPem } });
  });
  afterAll(async () => {
    await h?.close();
    certDir?.cleanup();
  });

  it('derives the PSK of the shared C/TS vectors', () => {
    const v = vectors.mqttPsk;
    expect(plugPsk(v.password).toString('hex')).toBe(v.psk);
    expect(plugPskFromDigest(Buffer.from(v.passwordSha256, 'hex')).toString('hex')).toBe(v.psk);
  });

  it('a plug holding its PSK connects over TLS 1.3 (no certificate involved) and talks MQTT as itself', async () => {
    const plug = h.device('plug-tls1');
    const client = await connectWithPsk(h.broker.tlsPort, plug.username, plugPsk(plug.password), plug);
    try {
      expect(tlsOf(client).getProtocol()).toBe('TLSv1.3');
      expect(tlsOf(client).getCipher().name).toBe('TLS_AES_128_GCM_SHA256');
      expect(tlsOf(client).getPeerCertificate()).toEqual({});
      await client.subscribeAsync('hearth/plug-tls1/cmd', { qos: 1 });
      const got = nextMessage(client, (topic) => topic === 'hearth/plug-tls1/cmd');
      await client.publishAsync('hearth/plug-tls1/cmd', 'hello', { qos: 1 });
      expect((await got).payload.toString()).toBe('hello');
    } finally {
      client.end(true);
    }
  });

  it('TLS 1.2 with ECDHE-PSK-CHACHA20-POLY1305 (what mbedTLS offers in 1.2) works too', async () => {
    const plug = h.device('plug-tls12');
    const client = await connectWithPsk(h.broker.tlsPort, plug.username, plugPsk(plug.password), plug, {
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-PSK-CHACHA20-POLY1305',
    });
    expect(tlsOf(client).getCipher().name).toBe('ECDHE-PSK-CHACHA20-POLY1305');
    client.end(true);
  });

  it('a wrong PSK fails the handshake, and an unknown identity gets only the certificate, which a plug refuses', async () => {
    const plug = h.device('plug-tls2');
    expect(await pskHandshake(h.broker.tlsPort, plug.username, plugPsk(plug.password))).toBe('ok');
    expect(await pskHandshake(h.broker.tlsPort, plug.username, plugPsk(`${plug.password}x`))).toBe(
      'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR',
    );
  });

  it('a man in the middle is refused by the hub: no PSK, no handshake; the sniffed password over the certificate, CONNACK 5', async () => {
    // Someone who cut the plug's link (with a certificate and key of its own, which the plug
    // refuses: hub/test/plug-e2e/tls.test.ts) and now dials the hub as the plug. It holds the
    // password the plug showed before it moved, but not a PSK the hub takes for it.
    const plug = h.device('plug-mitm');
    (await connectWithPsk(h.broker.tlsPort, plug.username, plugPsk(plug.password), plug)).end(true);
    expect(h.store.mqttCredentials.byUsername('plug-mitm')?.tlsOnly).toBe(true);
    expect(await pskHandshake(h.broker.tlsPort, plug.username, plugPsk('a guess'))).toBe(
      'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR',
    );
    const viaCertificate = await connectMqtt(h.broker.tlsPort, {
      protocol: 'mqtts',
      host: '127.0.0.1',
      rejectUnauthorized: false,
      ...plug,
      clean: true,
    }).then(
      (c) => (c.end(true), undefined),
      (e: { code?: number }) => e,
    );
    expect(viaCertificate?.code).toBe(5);
  });

  it('an identity that is not a device gets no PSK', async () => {
    expect(await pskHandshake(h.broker.tlsPort, 'no-such-plug', plugPsk('x'))).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it("a plug's PSK session cannot log in as another plug, even with that plug's password", async () => {
    const a = h.device('plug-tls3');
    const b = h.device('plug-tls4');
    const err = await connectWithPsk(h.broker.tlsPort, a.username, plugPsk(a.password), b).then(
      (c) => (c.end(true), undefined),
      (e: { code?: number }) => e,
    );
    expect(err?.code).toBe(5); // CONNACK: not authorized
  });

  it("a replaced credential's old PSK no longer completes a handshake", async () => {
    const old = h.device('plug-tls5');
    h.device('plug-tls5'); // re-paired: a new password, so a new PSK
    expect(await pskHandshake(h.broker.tlsPort, old.username, plugPsk(old.password))).toBe(
      'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR',
    );
  });

  it('once a plug has connected with its PSK, its password is refused on cleartext (tls_required), also after a restart', async () => {
    const plug = h.device('plug-moved');
    // Before the move: cleartext works (a plug paired before TLS).
    const before = await connectMqtt(h.port, { ...plug, clean: true });
    before.end(true);
    const tls = await connectWithPsk(h.broker.tlsPort, plug.username, plugPsk(plug.password), plug);
    tls.end(true);
    const refusedBefore = h.broker.stats().refusedConnects ?? 0;
    const err = await connectMqtt(h.port, { ...plug, clean: true }).then(
      (c) => (c.end(true), undefined),
      (e: { code?: number }) => e,
    );
    expect(err?.code).toBe(5); // CONNACK: not authorized
    expect(h.broker.stats().refusedConnects).toBe(refusedBefore + 1);
    expect(h.store.mqttCredentials.byUsername('plug-moved')?.tlsOnly).toBe(true);
    await h.restart();
    const afterRestart = await connectMqtt(h.port, { ...plug, clean: true }).then(
      (c) => (c.end(true), undefined),
      (e: { code?: number }) => e,
    );
    expect(afterRestart?.code).toBe(5);
    // On TLS with the PSK it still connects; a plug that never moved still connects in clear.
    (await connectWithPsk(h.broker.tlsPort, plug.username, plugPsk(plug.password), plug)).end(true);
    const other = h.device('plug-unmoved');
    (await connectMqtt(h.port, { ...other, clean: true })).end(true);
  });

  it('a password change: the new secret only under <id>/next until it connects, then the old one is refused everywhere', async () => {
    const plug = h.device('plug-change');
    const creds = h.broker.credentials;
    // Seen in clear, then moved: its password is to be changed.
    (await connectMqtt(h.port, { ...plug, clean: true })).end(true);
    expect(creds.needsNewSecret('plug-change')).toBe(false);
    (await connectWithPsk(h.broker.tlsPort, plug.username, plugPsk(plug.password), plug)).end(true);
    expect(creds.needsNewSecret('plug-change')).toBe(true);
    const fresh = creds.beginNewSecret('plug-change');
    const next = `${plug.username}/next`;
    const code = (p: Promise<MqttClient>) =>
      p.then(
        (c) => (c.end(true), 0),
        (e: { code?: unknown }) => e.code,
      );
    // Both work while the change is under way; the new one not in clear, nor under the plain identity.
    expect(await pskHandshake(h.broker.tlsPort, next, plugPsk(fresh))).toBe('ok');
    expect(await pskHandshake(h.broker.tlsPort, plug.username, plugPsk(plug.password))).toBe('ok');
    expect(await code(connectMqtt(h.port, { ...plug, password: fresh, clean: true }))).toBe(4);
    expect(
      await code(connectWithPsk(h.broker.tlsPort, plug.username, plugPsk(plug.password), { ...plug, password: fresh })),
    ).toBe(4);
    // Another plug's /next identity gets no key of this one.
    expect(await pskHandshake(h.broker.tlsPort, 'plug-other/next', plugPsk(fresh))).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    // An old connection is closed when the new secret connects.
    const old = await connectWithPsk(h.broker.tlsPort, plug.username, plugPsk(plug.password), plug);
    const closed = new Promise<void>((resolve) => old.once('close', () => resolve()));
    const confirmed = await connectWithPsk(h.broker.tlsPort, next, plugPsk(fresh), { ...plug, password: fresh });
    await closed;
    confirmed.end(true);
    expect(h.store.mqttCredentials.byUsername('plug-change')).toMatchObject({
      exposed: false,
      nextSecretHash: null,
      tlsOnly: true,
    });
    expect(creds.needsNewSecret('plug-change')).toBe(false);
    // The old one: its PSK fails the handshake under either identity, its password is wrong.
    expect(await pskHandshake(h.broker.tlsPort, plug.username, plugPsk(plug.password))).toBe(
      'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR',
    );
    expect(await pskHandshake(h.broker.tlsPort, next, plugPsk(plug.password))).toBe(
      'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR',
    );
    expect(await code(connectMqtt(h.port, { ...plug, clean: true }))).toBe(4);
    // The new one under either identity (a plug that lost power before storing it dials /next).
    await h.restart();
    (await connectWithPsk(h.broker.tlsPort, plug.username, plugPsk(fresh), { ...plug, password: fresh })).end(true);
    (await connectWithPsk(h.broker.tlsPort, next, plugPsk(fresh), { ...plug, password: fresh })).end(true);
  });

  it('re-pairing makes a new credential that starts on whatever transport the plug is given', async () => {
    const plug = h.device('plug-repaired');
    (await connectWithPsk(h.broker.tlsPort, plug.username, plugPsk(plug.password), plug)).end(true);
    const again = h.device('plug-repaired');
    (await connectMqtt(h.port, { ...again, clean: true })).end(true);
  });
});
