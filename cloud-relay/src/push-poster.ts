import { isIP } from 'node:net';
import { fromBase64 } from '@hearth/protocol/encoding';
import { ProtocolError } from '@hearth/protocol/errors';

/** Headers a Web Push request needs (RFC 8030, RFC 8291, RFC 8292); nothing else is passed on. */
const PASSED_HEADERS = new Set([
  'ttl',
  'urgency',
  'topic',
  'content-encoding',
  'content-type',
  'authorization',
  'crypto-key',
  'encryption',
]);
/** 4 KiB of payload plus the aes128gcm header and padding (RFC 8291 section 4). */
const MAX_BODY = 4096 + 256;
const TIMEOUT_MS = 10_000;

export interface PushOptions {
  /** Tests only: allow http:// to loopback addresses (a local push service). */
  allowLoopback: boolean;
}

/**
 * Posts a push request a hub built (already encrypted for the device, VAPID-signed by the hub)
 * and returns the push service's status. The relay must not become an open proxy into its own
 * network: https only, no IP literals, no `localhost` (production should also send this egress
 * through a proxy that refuses private addresses, which a name could still resolve to).
 */
export async function postPush(
  request: { endpoint?: unknown; headers?: unknown; body?: unknown },
  options: PushOptions,
): Promise<number> {
  if (typeof request.endpoint !== 'string' || request.endpoint.length > 2048)
    throw new ProtocolError('push_refused', 'endpoint must be a URL');
  let url: URL;
  try {
    url = new URL(request.endpoint);
  } catch {
    throw new ProtocolError('push_refused', 'endpoint must be a URL');
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === '127.0.0.1' || host === '::1';
  if (
    !(url.protocol === 'https:' && isIP(host) === 0 && host !== 'localhost' && !url.username) &&
    !(options.allowLoopback && loopback && url.protocol === 'http:')
  ) {
    throw new ProtocolError('push_refused', 'push endpoints must be https on a host name');
  }
  const headers: Record<string, string> = {};
  if (request.headers && typeof request.headers === 'object') {
    for (const [name, value] of Object.entries(request.headers as Record<string, unknown>)) {
      if (PASSED_HEADERS.has(name.toLowerCase()) && typeof value === 'string' && value.length < 4096)
        headers[name.toLowerCase()] = value;
    }
  }
  const body = typeof request.body === 'string' ? fromBase64(request.body) : new Uint8Array(0);
  if (body.length > MAX_BODY) throw new ProtocolError('push_refused', 'push body too large');
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body: body as Uint8Array<ArrayBuffer>,
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await res.body?.cancel();
    return res.status;
  } catch {
    throw new ProtocolError('push_failed', 'the push service did not answer');
  }
}
