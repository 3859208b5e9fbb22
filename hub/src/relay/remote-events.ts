import type { WebSocket } from 'ws';
import { EventStream, type EventStreamDeps } from '../events/event-stream.ts';
import type { AuthService } from '../auth/service.ts';
import { isHubError } from '../core/errors.ts';
import type { RemoteDevice } from './remote-devices.ts';
import type { EventSink } from './remote-session.ts';

/**
 * A remote event subscription is the LAN's `/api/v1/events` stream (same filtering by role and
 * visibility, same token expiry, same "too slow" cut-off) writing into a tunnel stream instead of
 * a WebSocket: this adapter is the socket it writes to.
 */
class SinkSocket {
  readonly OPEN = 1;
  readyState = 1;
  readonly #sink: EventSink;
  readonly #handlers = new Map<string, () => void>();

  constructor(sink: EventSink) {
    this.#sink = sink;
  }

  get bufferedAmount(): number {
    return this.#sink.queuedBytes();
  }

  send(text: string): void {
    this.#sink.event(text);
  }

  close(_code?: number, reason?: string): void {
    this.#end(reason || 'closed');
  }

  /** The stream calls this when the device stopped reading (no credit). */
  terminate(): void {
    this.#end('too_slow');
  }

  /** The tunnel has its own liveness checks; the stream's pings are answered at once. */
  ping(): void {
    queueMicrotask(() => this.#handlers.get('pong')?.());
  }

  on(event: string, handler: () => void): this {
    this.#handlers.set(event, handler);
    return this;
  }

  #end(code: string): void {
    if (this.readyState !== 1) return;
    this.readyState = 3;
    this.#sink.fail(code);
    this.#handlers.get('close')?.();
  }
}

export function subscribeRemote(
  auth: AuthService,
  deps: EventStreamDeps,
  device: RemoteDevice,
  token: string,
  sink: EventSink,
): () => void {
  let inspected;
  try {
    inspected = auth.inspectAccess(token);
  } catch (err) {
    sink.fail(isHubError(err) ? err.code : 'unauthorized');
    return () => {};
  }
  // Keys for scripts are for the home network (api/token-access.ts), not through the relay.
  if (inspected.actor.token) {
    sink.fail('local_only');
    return () => {};
  }
  if (inspected.actor.userId !== device.userId) {
    sink.fail('remote_user_mismatch');
    return () => {};
  }
  const stream = new EventStream(new SinkSocket(sink) as unknown as WebSocket, inspected.actor, deps);
  stream.start(inspected.expiresAt);
  return () => stream.stop();
}
