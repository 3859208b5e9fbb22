import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ProtocolError } from '@hearth/protocol/errors';
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

/**
 * A remote answer as it is made: its head, and its body as a stream the session reads only as
 * fast as the device takes it (remote-answer.ts). The route writing it waits meanwhile (a file
 * read stream pauses), so a long playback never sits whole in the hub's memory.
 */
export interface StreamedResponse {
  status: number;
  headers: Record<string, string>;
  body: Readable;
  /** Stops the route's answer (the device cancelled, the session ended or the bound was hit). */
  cancel(): void;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** Headers a remote device may set; everything else (cookies, forwarding, our own marker) is not passed. */
const PASSED_HEADERS = ['authorization', 'accept', 'content-type', 'if-none-match'];
const RETURNED_HEADERS = ['content-type', 'content-disposition', 'etag', 'cache-control', 'location'];

/**
 * Runs one remote request through the same fastify instance as LAN requests (`inject`: same
 * routes, validation, roles and errors). `remoteHeader` marks it remote: only this process
 * knows the secret in it, so the API's remote hook can trust it and refuse local-only routes.
 * Resolves at the answer's head; its body streams (`payloadAsStream`: a write the device has not
 * taken yet holds the route back, like a slow socket on the LAN).
 */
export async function startRemoteRequest(
  app: FastifyInstance,
  device: RemoteDevice,
  remoteHeader: string,
  request: RemoteRequest,
): Promise<StreamedResponse> {
  const method = typeof request.method === 'string' ? request.method.toUpperCase() : '';
  const path = request.path;
  if (!METHODS.has(method)) throw new ProtocolError('bad_request', 'method not allowed remotely');
  // An absolute path on this hub only: no scheme, no host, no protocol-relative URL.
  if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//') || path.length > 4096)
    throw new ProtocolError('bad_request', 'path must start with one /');
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
    payloadAsStream: true,
    ...(payload !== undefined ? { payload } : {}),
  });
  const out: Record<string, string> = {};
  for (const name of RETURNED_HEADERS) {
    const value = response.headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  const body = response.stream();
  // The stream is destroyed with an error when the answer is cut; the session reports that itself.
  body.on('error', () => {});
  // Closing the route's response makes fastify destroy what it was sending (a file stream).
  const raw = (response.raw as { res?: { destroy(): void } }).res;
  return {
    status: response.statusCode,
    headers: out,
    body,
    cancel: () => {
      raw?.destroy();
      body.destroy();
    },
  };
}

/** The same, with the whole body collected (tests and small in-process callers). */
export async function runRemoteRequest(
  app: FastifyInstance,
  device: RemoteDevice,
  remoteHeader: string,
  request: RemoteRequest,
): Promise<RemoteResponse> {
  const streamed = await startRemoteRequest(app, device, remoteHeader, request);
  const chunks: Buffer[] = [];
  for await (const chunk of streamed.body) chunks.push(chunk as Buffer);
  return { status: streamed.status, headers: streamed.headers, body: new Uint8Array(Buffer.concat(chunks)) };
}
