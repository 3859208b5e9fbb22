import { createServer, type Server, type Socket } from 'node:net';
import { constants } from 'node:crypto';
import { createServer as createTlsServer, DEFAULT_CIPHERS, type TLSSocket } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Aedes } from 'aedes';
import type { Logger } from '../../core/logger.ts';
import type { HearthClient } from '../client-state.ts';
import type { BrokerCounters } from '../counters.ts';
import { batchWrites } from './write-batcher.ts';

export interface ConnectionLimits {
  /** Largest MQTT packet (remaining length) accepted; a bigger one closes that connection. */
  maxPacketBytes: number;
  /** Messages a client may have waiting beyond its socket buffer before it is disconnected. */
  maxClientQueue: number;
  /** Largest packet once the client is known to be a device (before CONNECT completes, maxPacketBytes). */
  devicePacketBytes: number;
  /** Bytes a client may have waiting in its send buffer before it is disconnected. */
  sendBufferBytes: number;
}

interface Tracked {
  /** Where bytes are counted: the TCP socket (for WebSocket, the HTTP upgrade's socket). */
  bytes: Socket | undefined;
}

/**
 * Every MQTT connection, TCP or WebSocket, enters aedes here, gets the per-connection limits,
 * and is tracked so `stop()` can close connections that never completed a CONNECT.
 */
export class Connections {
  readonly #aedes: Aedes;
  readonly #counters: BrokerCounters;
  readonly #log: Logger;
  readonly #limits: ConnectionLimits;
  readonly #live = new Map<Duplex, Tracked>();

  constructor(aedes: Aedes, counters: BrokerCounters, log: Logger, limits: ConnectionLimits) {
    this.#aedes = aedes;
    this.#counters = counters;
    this.#log = log;
    this.#limits = limits;
  }

  get size(): number {
    return this.#live.size;
  }

  handle(conn: Duplex, req?: IncomingMessage, bytes?: Socket): void {
    const tracked: Tracked = { bytes };
    this.#live.set(conn, tracked);
    conn.once('close', () => {
      this.#live.delete(conn);
      this.#counters.closedBytesIn += tracked.bytes?.bytesRead ?? 0;
      this.#counters.closedBytesOut += tracked.bytes?.bytesWritten ?? 0;
    });
    batchWrites(conn);
    const client = this.#aedes.handle(conn, req) as HearthClient;
    this.#limitPacketSize(client);
    this.#boundOutgoing(client, conn);
  }

  bytes(): { in: number; out: number } {
    let bytesIn = this.#counters.closedBytesIn;
    let bytesOut = this.#counters.closedBytesOut;
    for (const { bytes } of this.#live.values()) {
      bytesIn += bytes?.bytesRead ?? 0;
      bytesOut += bytes?.bytesWritten ?? 0;
    }
    return { in: bytesIn, out: bytesOut };
  }

  destroyAll(): void {
    for (const conn of this.#live.keys()) conn.destroy();
  }

  /**
   * aedes 1.2 gives its packet parser no size limit, so the parser would buffer a huge packet
   * whole before looking at it. We check the length as soon as the fixed header is decoded and
   * fail the parse, which makes aedes close only this connection. Devices get a smaller limit
   * than integrations once they are authenticated.
   */
  #limitPacketSize(client: HearthClient): void {
    const parser = client._parser;
    const parseLength = parser._parseLength;
    const anyone = this.#limits.maxPacketBytes;
    const device = this.#limits.devicePacketBytes;
    const counters = this.#counters;
    parser._parseLength = function limitedParseLength(this: typeof parser): boolean {
      const complete = parseLength.call(this);
      const max = client.hearth?.principal?.kind === 'device' ? device : anyone;
      if (complete && this.packet.length > max) {
        counters.oversizedPackets++;
        this._emitError(new Error(`packet of ${this.packet.length} bytes exceeds the limit of ${max}`));
        return false;
      }
      return complete;
    };
  }

  /**
   * By default aedes waits for a full socket to drain before it acknowledges the delivery to its
   * message router, so one stuck subscriber holds up routing for every client (until the 60 s
   * drain timeout). Instead a delivery completes at once and the message waits in the client's
   * own socket buffer; a client with more than `maxClientQueue` messages or `sendBufferBytes`
   * bytes waiting is disconnected, which bounds the memory a stuck client can hold.
   */
  #boundOutgoing(client: HearthClient, conn: Duplex): void {
    const limit = this.#limits.maxClientQueue;
    const maxBytes = this.#limits.sendBufferBytes;
    let waiting = 0;
    let over = false;
    conn.on('drain', () => {
      waiting = 0;
    });
    client.waitForDrain = (done) => {
      // Only writes that reached the stream itself get here: gathered ones report success
      // (write-batcher.ts), so this counts messages waiting beyond a full stream buffer, and
      // bounds the bytes there (a few big messages hold as much as thousands of small ones).
      if (++waiting > limit || conn.writableLength > maxBytes || over) {
        if (!over) {
          over = true;
          this.#counters.slowClientDisconnects++;
          this.#log.warn(
            { clientId: client.id, waiting, bytes: conn.writableLength, reason: 'send_queue_full' },
            'mqtt client too slow: send queue over its limit, disconnecting',
          );
        }
        setImmediate(done, new Error('client send queue over its limit'), client);
        return;
      }
      setImmediate(done, null, client);
    };
  }
}

export function listenTcp(host: string, port: number, onConnection: (socket: Socket) => void): Promise<Server> {
  // noDelay: MQTT packets are small and latency matters more than packing (each connection's
  // writes of a turn already go out as one, see write-batcher.ts).
  const server = createServer({ noDelay: true }, onConnection);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/**
 * Server cipher order for the TLS listener. TLS 1.3: TLS_AES_128_GCM_SHA256 first, because an
 * external PSK is bound to SHA-256 (OpenSSL's PSK callback) and a server that picks a SHA-384
 * suite silently ignores the PSK and falls back to its certificate. TLS 1.2: Node's defaults
 * (ECDHE + AEAD first), whose `!PSK` would also delete the one PSK suite plugs may use there,
 * ECDHE-PSK-CHACHA20-POLY1305 (forward secret, AEAD; what mbedTLS offers in 1.2), so the other
 * PSK suites (no forward secrecy, or CBC) are removed one by one and that one added back last.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_256_GCM_SHA384',
  ...DEFAULT_CIPHERS.split(':')
    .filter((c) => !c.startsWith('TLS_'))
    .map((c) => (c === '!PSK' ? '-kECDHEPSK:!kPSK:!kDHEPSK:!kRSAPSK' : c)),
  'ECDHE-PSK-CHACHA20-POLY1305',
].join(':');

/**
 * True when a client's bytes cross the network readable: plain TCP (1883), or a WebSocket on
 * the plain http port (`ws://…/mqtt`). TLS (8883) and `wss://…/mqtt` (the HTTPS port, whose
 * upgrade request came on a TLS socket) are not.
 */
export function isCleartext(conn: object, req?: IncomingMessage): boolean {
  const encrypted = (socket: unknown): boolean => (socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  return !encrypted(conn) && !encrypted(req?.socket);
}

/** The PSK identity each TLS connection was accepted with (set only once the handshake used it). */
const pskIdentities = new WeakMap<object, string>();

/**
 * The PSK identity a TLS connection authenticated with (a plug's id), or undefined for plain
 * TCP, WebSocket and certificate-only TLS. An identity whose PSK the handshake ended up not
 * using (a client offering only SHA-384 suites, answered with the certificate) is not kept.
 */
export function pskIdentityOf(conn: object): string | undefined {
  return pskIdentities.get(conn);
}

/**
 * MQTT over TLS (8883) for integrations (the hub's own certificate, pinned) and plugs (a TLS
 * 1.3 external PSK per plug, `psk`; docs/plug-protocol.md). TLS 1.2 is the floor (what mbedTLS
 * and Home Assistant's Python speak), AEAD suites only for 1.3 and ECDHE+AEAD first for 1.2. A
 * PSK handshake (psk_dhe_ke: ECDHE, so forward secret) authenticates both sides: a client
 * without the plug's key fails it, and a plug refuses any certificate. Session tickets are off:
 * resumption would let a client that offered a plug's identity and failed to use its key
 * look like a PSK connection (pskIdentityOf), and plugs do not resume anyway. A failed
 * handshake (a client pinning another certificate, a wrong PSK, a port scanner) only ends that
 * socket. The decrypted stream goes to aedes like a TCP socket, so every limit of
 * `Connections` applies; bytes are counted as plaintext.
 */
export function listenTls(
  host: string,
  port: number,
  identity: { keyPem: string; certPem: string },
  onConnection: (socket: Socket) => void,
  psk?: (identity: string) => Buffer | undefined,
): Promise<Server> {
  const offered = new WeakMap<object, string>();
  const server = createTlsServer(
    {
      key: identity.keyPem,
      cert: identity.certPem,
      minVersion: 'TLSv1.2',
      ciphers: TLS_CIPHERS,
      honorCipherOrder: true,
      secureOptions: constants.SSL_OP_NO_TICKET,
      noDelay: true,
      handshakeTimeout: 10_000,
      pskCallback: (socket: TLSSocket, id: string) => {
        const key = psk?.(id);
        if (!key) return null;
        offered.set(socket, id);
        return key;
      },
    },
    (socket: TLSSocket) => {
      const id = offered.get(socket);
      if (id !== undefined && usedPsk(socket)) pskIdentities.set(socket, id);
      onConnection(socket);
    },
  );
  server.on('tlsClientError', () => {});
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** TLS 1.3 reports an external PSK handshake as a resumption (tickets are off, so only that); 1.2 by its suite. */
function usedPsk(socket: TLSSocket): boolean {
  if (socket.getProtocol() === 'TLSv1.3') return socket.isSessionReused();
  return socket.getCipher()?.name.includes('PSK') ?? false;
}
