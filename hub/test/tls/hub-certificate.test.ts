import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.ts';
import { loadHubCertificate, type HubCertificate } from '../../src/tls/hub-certificate.ts';
import { tempDir } from '../helpers/temp.ts';

/** A TLS handshake to `cert`'s server from a client that trusts only `pinned`: its error code, or 'ok'. */
async function handshake(cert: HubCertificate, pinned: string, servername: string): Promise<string> {
  const server = createServer({ key: cert.keyPem, cert: cert.certPem }, (socket) => socket.end());
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, ca: pinned, servername }, () => {
        socket.end();
        resolve('ok');
      });
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
  } finally {
    server.close();
  }
}

describe("the hub's TLS certificate", () => {
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

  it('is made once, kept in settings with its key, and names the hub, its mDNS name and loopback', () => {
    const cert = loadHubCertificate(store.settings, 'Kitchen-Pi');
    const x509 = new X509Certificate(cert.certPem);
    expect(x509.subjectAltName).toBe(
      'DNS:kitchen-pi, DNS:kitchen-pi.local, DNS:hearth.local, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    expect(x509.publicKey.asymmetricKeyType).toBe('ec');
    expect(cert.sha256).toBe(x509.fingerprint256);
    expect(cert.sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    // Good for decades: integrations pin it, so it must not expire under them.
    expect(new Date(x509.validTo).getTime() - Date.now()).toBeGreaterThan(20 * 365 * 24 * 3600_000);
    // The same one at the next start (and after a restore, which brings the settings back).
    expect(loadHubCertificate(store.settings, 'other-name')).toEqual(cert);
    // A damaged entry (a key that does not match) is replaced rather than served.
    const otherDir = tempDir();
    const other = Store.open(otherDir.dir);
    const foreign = loadHubCertificate(other.settings, 'x');
    other.close();
    otherDir.cleanup();
    store.settings.set('tls.hubCertificate', { keyPem: foreign.keyPem, certPem: cert.certPem });
    const remade = loadHubCertificate(store.settings, 'Kitchen-Pi');
    expect(remade.sha256).not.toBe(cert.sha256);
    expect(remade.sha256).not.toBe(foreign.sha256);
  });

  it('a client pinning it connects by IP or mDNS name; one pinning another hub is refused', async () => {
    const cert = loadHubCertificate(store.settings, 'hearth');
    expect(await handshake(cert, cert.certPem, 'hearth.local')).toBe('ok');
    expect(await handshake(cert, cert.certPem, 'localhost')).toBe('ok');
    const other = tempDir();
    const otherStore = Store.open(other.dir);
    const stranger = loadHubCertificate(otherStore.settings, 'hearth');
    otherStore.close();
    other.cleanup();
    expect(await handshake(cert, stranger.certPem, 'hearth.local')).toMatch(
      /SELF_SIGNED|UNABLE_TO_VERIFY|CERT_SIGNATURE_FAILURE/,
    );
    // A name the certificate does not carry fails the host check even with the right pin.
    expect(await handshake(cert, cert.certPem, 'evil.example')).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });
});
