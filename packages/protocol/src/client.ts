import { AnswerStream, EXTRA_WINDOW, type RemoteResponse } from './answer-stream.ts';
import { type E2eSession, clientHandshake, sealedCounter } from './e2e.ts';
import { fromBase64, fromUtf8, toBase64 } from './encoding.ts';
import { ProtocolError } from './errors.ts';
import { deviceKeysFromSeed, hubKeyOfId, relayAuthMessage, type DeviceKeys } from './keys.ts';
import {
  MUX,
  MediaAssembler,
  WINDOW,
  decodeMux,
  encodeCredit,
  encodeMux,
  encodeMuxJson,
  muxJson,
  type MediaMessage,
} from './mux.ts';
import type { ControlMessage } from './relay-messages.ts';
import nacl from 'tweetnacl';
import { openFromHub, openState, type StateSnapshot } from './state-blob.ts';

/**
 * The remote side of the protocol, for the command-line client and the browser alike: only the
 * standard WebSocket, TextEncoder and tweetnacl (no Node APIs). Connects to a relay with the
 * device key, opens the end-to-end session with the hub, then runs requests and event
 * subscriptions as streams.
 */
export interface EnrolledDevice {
  /** The device's 32-byte secret seed, base64. */
  seed: string;
  deviceId: string;
  username: string;
  hubId: string;
  relayUrls: string[];
  /**
   * The home key sealed to this device: null for guests, and until the first remote login of a
   * device enrolled by invite. Login and refresh answers through the relay carry the current one
   * (it rotates when a device or user is removed); the client keeps it here (`RemoteClient`
   * updates this object, its owner saves it).
   */
  homeKey: string | null;
}

export type { RemoteResponse };

export interface LastState {
  snapshot: StateSnapshot | null;
  /**
   * Why a stored snapshot could not be opened: `home_key_missing` (no home key yet: log in
   * through the relay; guests never get one), `state_unreadable` (the key rotated since: log in
   * or refresh to get the new one). null when it opened or the relay has none.
   */
  snapshotError: string | null;
  storedAt: number | null;
  hubOnline: boolean;
  offlineSince: number | null;
}

/** The home's off-site backups at the relay (docs/relay-protocol.md "Off-site backups"). */
export type OffsiteBackups = Omit<Extract<ControlMessage, { type: 'backup_list'; backups: unknown }>, 'type'>;

/** The one off-site backup request in flight on a connection: gets the relay's answers. */
interface OffsiteRequest {
  message(m: ControlMessage): void;
  fail(err: ProtocolError): void;
}

interface Subscription {
  onEvent(event: Record<string, unknown>): void;
  onEnd(err: ProtocolError): void;
}

/** A credit frame the relay dropped (rate_limited) goes again after this long. */
const CREDIT_RETRY_MS = 250;
/** Answers that carry the device's sealed home key (login, refresh, password change). */
const SESSION_PATHS = new Set(['/api/v1/auth/login', '/api/v1/auth/refresh', '/api/v1/me/password']);

interface LiveView {
  assembler: MediaAssembler;
  autoCredit: boolean;
  /** Bytes received and not yet credited back. */
  owed: number;
  started: boolean;
  resolve(): void;
  onMessage(message: MediaMessage): void;
  /** null: the hub ended the stream (the camera stopped); else why it failed. */
  onEnd(err: ProtocolError | null): void;
}

export interface LiveOptions {
  /** `main` (default) or `sub`. */
  stream?: 'main' | 'sub';
  /** false leaves flow control to `credit()` (tests: a device that stops reading). */
  autoCredit?: boolean;
}

export class RemoteClient {
  readonly #ws: WebSocket;
  readonly #keys: DeviceKeys;
  readonly #device: EnrolledDevice;
  #session: E2eSession | null = null;
  #nextStream = 1;
  readonly #requests = new Map<number, AnswerStream>();
  readonly #subscriptions = new Map<number, Subscription>();
  readonly #lives = new Map<number, LiveView>();
  readonly #credits = new Map<string, { stream: number; bytes: number }>();
  #stateWaiter: ((state: LastState) => void) | null = null;
  #offsite: OffsiteRequest | null = null;
  #failure: ProtocolError | null = null;
  readonly #onFailure: ((err: ProtocolError) => void)[] = [];
  hubOnline = false;
  offlineSince: number | null = null;

  private constructor(ws: WebSocket, device: EnrolledDevice) {
    this.#ws = ws;
    this.#device = device;
    this.#keys = deviceKeysFromSeed(fromBase64(device.seed));
  }

  /**
   * Connects and authenticates at the relay; if the hub is online, also opens the end-to-end
   * session. Rejects with the relay's code (`device_not_enrolled`, `device_revoked`, ...).
   */
  static async connect(device: EnrolledDevice, relayUrl = device.relayUrls[0]): Promise<RemoteClient> {
    if (!relayUrl) throw new ProtocolError('no_relay', 'no relay URL');
    const ws = new WebSocket(relayUrl);
    ws.binaryType = 'arraybuffer';
    const client = new RemoteClient(ws, device);
    await client.#open();
    return client;
  }

  /** One API call through the tunnel. `autoCredit: false` leaves flow control to `credit()`. */
  request(
    method: string,
    path: string,
    options: { body?: unknown; token?: string; autoCredit?: boolean } = {},
  ): { stream: number; response: Promise<RemoteResponse> } {
    const stream = this.#newStream();
    const response = new Promise<RemoteResponse>((resolve, reject) => {
      this.#requests.set(stream, new AnswerStream(resolve, reject, options.autoCredit ?? true));
    });
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const frame = this.#send(
      encodeMuxJson(MUX.REQUEST, stream, {
        method,
        path,
        headers,
        ...(options.body !== undefined ? { body: options.body } : {}),
      }),
    );
    const pending = this.#requests.get(stream);
    if (pending) pending.frame = frame;
    return { stream, response };
  }

  async call(method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<RemoteResponse> {
    const response = await this.request(method, path, options).response;
    this.#keepHomeKey(path, response);
    return response;
  }

  /** Stops a request's answer (the hub stops making it); its promise rejects with `cancelled`. */
  cancel(stream: number): void {
    const pending = this.#requests.get(stream);
    if (!pending) return;
    this.#requests.delete(stream);
    pending.reject(new ProtocolError('cancelled', 'the request was cancelled'));
    if (!this.#failure) this.#send(encodeMux(MUX.CANCEL, stream));
  }

  credit(stream: number, bytes: number): void {
    const frame = this.#send(encodeCredit(stream, bytes));
    // Remembered for a while: a credit frame the relay drops (rate_limited) is sent again, or
    // the stream's window would shrink for good.
    if (frame === null) return;
    this.#credits.set(frame, { stream, bytes });
    if (this.#credits.size > 256) this.#credits.delete(this.#credits.keys().next().value!);
  }

  /** The hub's event stream for the user of `token`; resolves once the hub says it is live. */
  subscribe(
    token: string,
    onEvent: (event: Record<string, unknown>) => void,
    onEnd: (err: ProtocolError) => void = () => {},
  ): Promise<{ close(): void }> {
    const stream = this.#newStream();
    return new Promise((resolve, reject) => {
      let live = false;
      this.#subscriptions.set(stream, {
        onEvent: (event) => {
          if (!live && event.type === 'ready') {
            live = true;
            resolve({
              close: () => {
                this.#subscriptions.delete(stream);
                this.#send(encodeMux(MUX.CANCEL, stream));
              },
            });
          }
          onEvent(event);
        },
        onEnd: (err) => (live ? onEnd(err) : reject(err)),
      });
      this.#send(encodeMuxJson(MUX.SUBSCRIBE, stream, { token }));
    });
  }

  /**
   * A camera's live view (docs/relay-protocol.md "Live view"): resolves once the hub accepted it
   * (rejects with the hub's code: `forbidden`, `unauthorized`, `camera_not_found`, ...). Then
   * `onMessage` gets the init segment, then whole fMP4 fragments (moof + mdat), as on the LAN's
   * live WebSocket; `onEnd(null)` when the hub ends it, `onEnd(err)` when it fails.
   */
  live(
    token: string,
    camera: string,
    onMessage: (message: MediaMessage) => void,
    onEnd: (err: ProtocolError | null) => void = () => {},
    options: LiveOptions = {},
  ): Promise<{ stream: number; close(): void }> {
    const stream = this.#newStream();
    return new Promise((resolve, reject) => {
      const handle = {
        stream,
        close: () => {
          if (this.#lives.delete(stream) && !this.#failure) this.#send(encodeMux(MUX.CANCEL, stream));
        },
      };
      const view: LiveView = {
        assembler: new MediaAssembler(),
        autoCredit: options.autoCredit ?? true,
        owed: 0,
        started: false,
        resolve: () => resolve(handle),
        onMessage,
        onEnd: (err) =>
          view.started ? onEnd(err) : reject(err ?? new ProtocolError('live_ended', 'the live view ended')),
      };
      this.#lives.set(stream, view);
      this.#send(
        encodeMuxJson(MUX.LIVE, stream, { camera, token, ...(options.stream ? { stream: options.stream } : {}) }),
      );
    });
  }

  /** The relay's last-known sealed state, opened with the home key. Works with the hub offline. */
  async lastState(): Promise<LastState> {
    const answer = await new Promise<LastState>((resolve, reject) => {
      this.#stateWaiter = resolve;
      this.#onFailure.push(reject);
      this.#ws.send(JSON.stringify({ type: 'get_state' } satisfies ControlMessage));
    });
    return answer;
  }

  /**
   * The home's off-site backups at the relay: an owner's device only (`not_owner` otherwise, from
   * the hub's signed list). Talks to the relay alone, so it works with the hub offline or gone.
   */
  offsiteBackups(): Promise<OffsiteBackups> {
    return this.#offsiteRequest({ type: 'backup_list' }, (m, done) => {
      if (m.type === 'backup_list' && 'backups' in m) done({ backups: m.backups, quota: m.quota });
    });
  }

  /**
   * Off-site backup `id`'s sealed bytes (a `.hbk`, opened only by its passphrase), piece by piece
   * in order to `onPiece` (each at most 64 KiB; the relay sends the next once this one left its
   * socket). Resolves with the byte count; rejects with the relay's code (`not_owner`,
   * `backup_not_found`, `rate_limited`) or `bad_message` for pieces out of order.
   */
  offsiteBackup(id: string, onPiece: (data: Uint8Array) => void): Promise<number> {
    let bytes = 0;
    let expect = 0;
    return this.#offsiteRequest({ type: 'backup_get', id }, (m, done) => {
      if (m.type !== 'backup_data' || m.id !== id) return;
      if (m.n !== expect++) throw new ProtocolError('bad_message', 'backup pieces out of order');
      const data = fromBase64(m.data);
      bytes += data.length;
      onPiece(data);
      if (m.final) done(bytes);
    });
  }

  /** One off-site request at a time per connection (the relay sends one download at a time too). */
  #offsiteRequest<T>(
    request: ControlMessage,
    onMessage: (m: ControlMessage, done: (value: T) => void) => void,
  ): Promise<T> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#offsite) return Promise.reject(new ProtocolError('rate_limited', 'one backup request at a time'));
    return new Promise<T>((resolve, reject) => {
      const finish = (err: ProtocolError | null, value?: T) => {
        if (this.#offsite !== current) return;
        this.#offsite = null;
        if (err) reject(err);
        else resolve(value as T);
      };
      const current: OffsiteRequest = {
        message: (m) => {
          try {
            onMessage(m, (value) => finish(null, value));
          } catch (err) {
            finish(err instanceof ProtocolError ? err : new ProtocolError('bad_message', String(err)));
          }
        },
        fail: (err) => finish(err),
      };
      this.#offsite = current;
      this.#ws.send(JSON.stringify(request));
    });
  }

  close(): void {
    this.#ws.close();
  }

  get failure(): ProtocolError | null {
    return this.#failure;
  }

  #newStream(): number {
    if (!this.#session) throw new ProtocolError('hub_offline', 'the hub is not connected to the relay');
    const id = this.#nextStream;
    this.#nextStream += 2;
    return id;
  }

  /** Seals and sends; returns the frame's counter. */
  #send(plain: Uint8Array): string | null {
    if (this.#failure) throw this.#failure;
    if (!this.#session) throw new ProtocolError('hub_offline', 'the hub is not connected to the relay');
    const frame = this.#session.seal(plain);
    this.#ws.send(frame as Uint8Array<ArrayBuffer>);
    return sealedCounter(frame);
  }

  #fail(err: ProtocolError): void {
    if (this.#failure) return;
    this.#failure = err;
    for (const pending of this.#requests.values()) pending.reject(err);
    this.#requests.clear();
    for (const sub of this.#subscriptions.values()) sub.onEnd(err);
    this.#subscriptions.clear();
    for (const view of this.#lives.values()) view.onEnd(err);
    this.#lives.clear();
    for (const reject of this.#onFailure.splice(0)) reject(err);
    this.#offsite?.fail(err);
  }

  #open(): Promise<void> {
    const hubPublic = hubKeyOfId(this.#device.hubId);
    let handshake: ReturnType<typeof clientHandshake> | null = null;
    return new Promise<void>((resolve, reject) => {
      this.#onFailure.push(reject);
      this.#ws.addEventListener('error', () =>
        this.#fail(new ProtocolError('relay_unreachable', 'cannot reach the relay')),
      );
      // The close reason is the relay's code (docs/relay-protocol.md "Relay").
      this.#ws.addEventListener('close', (event) =>
        this.#fail(
          event.reason
            ? ProtocolError.received(event.reason, 'the relay closed the connection')
            : new ProtocolError('connection_closed', 'the relay closed the connection'),
        ),
      );
      this.#ws.addEventListener('message', (event) => {
        try {
          if (typeof event.data === 'string') {
            const message = JSON.parse(event.data) as ControlMessage;
            if (message.type === 'challenge') {
              const sig = nacl.sign.detached(
                relayAuthMessage('device', fromBase64(message.nonce), this.#device.hubId),
                this.#keys.sign.secretKey,
              );
              this.#ws.send(
                JSON.stringify({
                  type: 'hello',
                  role: 'device',
                  hubId: this.#device.hubId,
                  key: toBase64(this.#keys.sign.publicKey),
                  sig: toBase64(sig),
                } satisfies ControlMessage),
              );
            } else if (message.type === 'ready') {
              this.hubOnline = message.hubOnline === true;
              this.offlineSince = message.offlineSince ?? null;
              if (!this.hubOnline) return this.#resolveOpen(resolve);
              handshake = clientHandshake(this.#keys.sign, hubPublic);
              this.#ws.send(handshake.hello as Uint8Array<ArrayBuffer>);
            } else if (message.type === 'state' && 'hubOnline' in message) {
              const waiter = this.#stateWaiter;
              this.#stateWaiter = null;
              const opened = this.#openSnapshot(message.blob);
              waiter?.({
                ...opened,
                storedAt: message.storedAt,
                hubOnline: message.hubOnline,
                offlineSince: message.offlineSince,
              });
            } else if (message.type === 'backup_list' || message.type === 'backup_data') {
              this.#offsite?.message(message);
            } else if (message.type === 'error') {
              const err = ProtocolError.received(message.code, message.message ?? message.code);
              // A refused frame (rate limit) fails what is waiting; a fatal error ends everything.
              // An error naming no frame while an off-site request waits is the relay's answer to it.
              if (message.fatal) this.#fail(err);
              else if (message.frame === undefined && this.#offsite) this.#offsite.fail(err);
              else this.#failFrame(err, message.frame);
            }
            return;
          }
          const frame = new Uint8Array(event.data as ArrayBuffer);
          if (!this.#session) {
            if (!handshake) throw new ProtocolError('e2e_bad_frame', 'frame before the handshake');
            this.#session = handshake.finish(frame);
            this.#resolveOpen(resolve);
            return;
          }
          this.#onPlain(this.#session.open(frame));
        } catch (err) {
          this.#fail(err instanceof ProtocolError ? err : new ProtocolError('bad_message', String(err)));
          this.#ws.close();
        }
      });
    });
  }

  #openSnapshot(blob: string | null): { snapshot: StateSnapshot | null; snapshotError: string | null } {
    if (!this.#device.homeKey) return { snapshot: null, snapshotError: 'home_key_missing' };
    if (!blob) return { snapshot: null, snapshotError: null };
    try {
      return {
        snapshot: openState(fromBase64(blob), openFromHub(fromBase64(this.#device.homeKey), this.#keys.box.secretKey)),
        snapshotError: null,
      };
    } catch (err) {
      return { snapshot: null, snapshotError: err instanceof ProtocolError ? err.code : 'state_unreadable' };
    }
  }

  /** A login or refresh answer through the relay carries the sealed home key: keep the newest. */
  #keepHomeKey(path: string, response: RemoteResponse): void {
    if (response.status !== 200 || !SESSION_PATHS.has(path.split('?')[0]!)) return;
    try {
      const body = JSON.parse(fromUtf8(response.body)) as { homeKey?: unknown };
      if (typeof body.homeKey === 'string') this.#device.homeKey = body.homeKey;
    } catch {
      // not JSON: nothing to keep
    }
  }

  #resolveOpen(resolve: () => void): void {
    this.#onFailure.length = 0;
    resolve();
  }

  /** The relay refused one frame: fail the request it carried (a credit frame fails nothing). */
  #failFrame(err: ProtocolError, frame: string | undefined): void {
    const credit = frame === undefined ? undefined : this.#credits.get(frame);
    if (credit) {
      this.#credits.delete(frame!);
      const retry = setTimeout(() => {
        if (!this.#failure && (this.#requests.has(credit.stream) || this.#lives.has(credit.stream)))
          this.credit(credit.stream, credit.bytes);
      }, CREDIT_RETRY_MS);
      (retry as { unref?: () => void }).unref?.();
      return;
    }
    for (const [stream, pending] of this.#requests) {
      if (frame !== undefined && pending.frame !== frame) continue;
      this.#requests.delete(stream);
      pending.reject(err);
      return;
    }
  }

  #onPlain(plain: Uint8Array): void {
    const message = decodeMux(plain);
    const pending = this.#requests.get(message.stream);
    const sub = this.#subscriptions.get(message.stream);
    const view = this.#lives.get(message.stream);
    switch (message.kind) {
      case MUX.RESPONSE:
        if (pending) pending.head(muxJson(message.body));
        if (view && !view.started) {
          view.started = true;
          if (view.autoCredit) this.credit(message.stream, EXTRA_WINDOW);
          view.resolve();
        }
        return;
      case MUX.MEDIA: {
        if (!view) return;
        view.owed += message.body.length;
        if (view.autoCredit && view.owed >= 2 * WINDOW) {
          this.credit(message.stream, view.owed);
          view.owed = 0;
        }
        const media = view.assembler.push(message.body);
        if (media) view.onMessage(media);
        return;
      }
      case MUX.DATA: {
        const credit = pending?.data(message.body) ?? 0;
        if (credit > 0) this.credit(message.stream, credit);
        return;
      }
      case MUX.END: {
        if (view) {
          this.#lives.delete(message.stream);
          view.onEnd(null);
          return;
        }
        const response = pending?.end();
        if (!pending || !response) return;
        this.#requests.delete(message.stream);
        pending.resolve(response);
        return;
      }
      case MUX.EVENT:
        if (!sub) return;
        this.credit(message.stream, message.body.length);
        sub.onEvent(JSON.parse(fromUtf8(message.body)) as Record<string, unknown>);
        return;
      case MUX.ERROR: {
        const { code } = muxJson<{ code: string }>(message.body);
        const err = ProtocolError.received(code, code);
        if (pending) {
          this.#requests.delete(message.stream);
          pending.reject(err);
        }
        if (sub) {
          this.#subscriptions.delete(message.stream);
          sub.onEnd(err);
        }
        if (view) {
          this.#lives.delete(message.stream);
          view.onEnd(err);
        }
        return;
      }
      default:
        return;
    }
  }
}
