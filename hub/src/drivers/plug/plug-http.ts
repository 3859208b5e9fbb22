import { request } from 'node:http';
import { HubError } from '../../core/errors.ts';

export interface PlugAddress {
  address: string;
  port: number;
}

export interface PlugResponse {
  status: number;
  body: unknown;
  /** The hub's own address on the connection: where the plug can reach the hub's broker. */
  localAddress: string | undefined;
}

/** Bodies of a pairing endpoint are small; more than this is not a plug speaking protocol v1. */
const MAX_BODY_BYTES = 16 * 1024;

/**
 * One HTTP/1.1 exchange with a plug's pairing server. Network failures (refused, reset, no
 * answer within `timeoutMs`) are `plug_unreachable`: the plug vanished or is not where mDNS said.
 */
export function plugRequest(
  to: PlugAddress,
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
  timeoutMs: number,
): Promise<PlugResponse> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const unreachable = (reason: string, cause?: unknown) =>
      reject(
        new HubError(
          'plug_unreachable',
          `plug at ${to.address}:${to.port} did not answer: ${reason}`,
          { address: to.address, port: to.port },
          { cause },
        ),
      );
    const req = request(
      {
        host: to.address,
        port: to.port,
        method,
        path,
        agent: false,
        headers: {
          connection: 'close',
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            req.destroy();
            reject(new HubError('plug_protocol_error', `plug answered more than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => unreachable(err.message, err));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({
            status: res.statusCode ?? 0,
            body: parsed,
            localAddress: req.socket?.localAddress ?? localAddress,
          });
        });
      },
    );
    let localAddress: string | undefined;
    req.on('socket', (socket) =>
      socket.once('connect', () => {
        localAddress = socket.localAddress;
      }),
    );
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      unreachable(`no answer within ${timeoutMs} ms`);
    });
    req.on('error', (err) => unreachable((err as NodeJS.ErrnoException).code ?? err.message, err));
    req.end(payload);
  });
}

/** The `error` string of a plug's JSON error answer, e.g. `{"error":"wrong_code"}`. */
export function plugError(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | undefined)?.error;
  return typeof error === 'string' ? error : undefined;
}
