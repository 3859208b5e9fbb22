import { RemoteClient, type EnrolledDevice, type LastState } from '@hearth/protocol/client';
import { ProtocolError } from '@hearth/protocol/errors';
import { saveDevice } from './keystore.ts';

/**
 * The page's one end-to-end session with its hub through the relay (the shared `RemoteClient`,
 * the same code `hearth-remote` runs). Loaded with a dynamic import, so tweetnacl and the
 * protocol stay out of the first page of a browser that never goes remote.
 */
export interface SessionHooks {
  /** The relay admitted us and the hub answered the handshake. */
  online(): void;
  /** The relay says the hub is away: its sealed last-known state, opened with the home key. */
  offline(state: LastState): void;
}

export class RelaySession {
  readonly #device: EnrolledDevice;
  readonly #hooks: SessionHooks;
  #client: RemoteClient | null = null;
  #connecting: Promise<RemoteClient> | null = null;

  constructor(device: EnrolledDevice, hooks: SessionHooks) {
    this.#device = device;
    this.#hooks = hooks;
  }

  /** One API call, answered as a fetch `Response` so the API client reads it like a LAN one. */
  async fetch(method: string, url: string, body: unknown, token: string | null): Promise<Response> {
    const client = await this.#connected();
    const homeKey = this.#device.homeKey;
    const res = await client.call(method, url, {
      ...(body !== undefined ? { body } : {}),
      ...(token ? { token } : {}),
    });
    // A login or refresh brought the (first, or rotated) home key: keep it for offline snapshots.
    if (this.#device.homeKey !== homeKey) void saveDevice(this.#device).catch(() => undefined);
    const empty = res.status === 204 || res.status === 304;
    return new Response(empty ? null : (res.body as Uint8Array<ArrayBuffer>), {
      status: res.status,
      headers: res.headers,
    });
  }

  /** The hub's event stream; `onEnd` gets the code when it stops (token expired, hub gone...). */
  async subscribe(
    token: string,
    onEvent: (event: Record<string, unknown>) => void,
    onEnd: (code: string) => void,
  ): Promise<{ close(): void }> {
    const client = await this.#connected();
    return client.subscribe(token, onEvent, (err) => onEnd(err.code));
  }

  /** A camera's live view (init segment, then fragments); `onEnd` gets null when the hub ended it, else the code. */
  async live(
    token: string,
    camera: string,
    onMessage: (data: Uint8Array) => void,
    onEnd: (code: string | null) => void,
    stream?: 'main' | 'sub',
  ): Promise<{ close(): void }> {
    const client = await this.#connected();
    return client.live(
      token,
      camera,
      (m) => onMessage(m.data),
      (err) => onEnd(err?.code ?? null),
      stream ? { stream } : {},
    );
  }

  close(): void {
    this.#client?.close();
    this.#client = null;
  }

  /** The open session, or a new one (after the relay or the hub dropped the last). */
  #connected(): Promise<RemoteClient> {
    if (this.#client && !this.#client.failure) return Promise.resolve(this.#client);
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  async #connect(): Promise<RemoteClient> {
    this.#client = null;
    let client: RemoteClient | null = null;
    let lastError: unknown = new ProtocolError('no_relay', 'no relay URL');
    // The hub's relay list: the first is preferred, the others are fallbacks.
    for (const url of this.#device.relayUrls) {
      try {
        client = await RemoteClient.connect(this.#device, url);
        break;
      } catch (err) {
        lastError = err;
      }
    }
    if (!client) throw lastError;
    if (!client.hubOnline) {
      try {
        this.#hooks.offline(await client.lastState());
      } finally {
        client.close();
      }
      throw new ProtocolError('hub_offline', 'The hub is offline: it is not connected to the relay.');
    }
    this.#client = client;
    this.#hooks.online();
    return client;
  }
}
