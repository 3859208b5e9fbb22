import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface PinnedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  /** SHA-256 fingerprint of the certificate the server presented. */
  peerSha256: string;
}

/**
 * One HTTPS request with Node's client trusting only `ca` (the hub's certificate, as a pinning
 * client would): any other certificate fails the handshake. No redirects are followed.
 */
export function pinnedRequest(
  port: number,
  ca: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; host?: string } = {},
): Promise<PinnedResponse> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        ca,
        // The name checked against the certificate, whatever Host the request carries.
        servername: 'localhost',
        agent: false,
        headers: {
          ...(options.host ? { host: options.host } : {}),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(payload !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        const peerSha256 = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, peerSha256 });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
