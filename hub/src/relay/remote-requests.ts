import type { FastifyInstance } from 'fastify';
import { ProtocolError } from '../../../cloud-relay/src/protocol/encoding.ts';
import type { RemoteDevice } from './remote-devices.ts';

export interface RemoteRequest {
  method?: unknown;
  path?: unknown;
  headers?: unknown;
  body?: unknown;
}

export interface RemoteResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** Headers a remote device may set; everything else (cookies, forwarding, our own marker) is not passed. */
const PASSED_HEADERS = ['authorization', 'accept', 'content-type', 'if-none-match'];
const RETURNED_HEADERS = ['content-type', 'content-disposition', 'etag', 'cache-control', 'location'];

/**
 * Runs one remote request through the same fastify instance as LAN requests (`inject`: same
 * routes, validation, roles and errors). `remoteHeader` marks it remote: only this process
 * knows the secret in it, so the API's remote hook can trust it and refuse local-only routes.
 */
export async function runRemoteRequest(app: FastifyInstance, device: RemoteDevice, remoteHeader: string, request: RemoteRequest): Promise<RemoteResponse> {
  const method = typeof request.method === 'string' ? request.method.toUpperCase() : '';
  const path = request.path;
  if (!METHODS.has(method)) throw new ProtocolError('bad_request', 'method not allowed remotely');
  // An absolute path on this hub only: no scheme, no host, no protocol-relative URL.
  if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//') || path.length > 4096) throw new ProtocolError('bad_request', 'path must start with one /');
  const headers: Record<string, string> = { 'x-hearth-remote': remoteHeader };
  if (request.headers && typeof request.headers === 'object') {
    for (const name of PASSED_HEADERS) {
      const value = (request.headers as Record<string, unknown>)[name];
      if (typeof value === 'string' && value.length <= 8192) headers[name] = value;
    }
  }
  let payload: string | undefined;
  if (request.body !== undefined && request.body !== null) {
    payload = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await app.inject({
    method: method as 'GET',
    url: path,
    headers,
    // The login limiter counts per source address: a remote device is its own source.
    remoteAddress: `remote:${device.id}`,
    ...(payload !== undefined ? { payload } : {}),
  });
  const out: Record<string, string> = {};
  for (const name of RETURNED_HEADERS) {
    const value = response.headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  return { status: response.statusCode, headers: out, body: new Uint8Array(response.rawPayload) };
}
