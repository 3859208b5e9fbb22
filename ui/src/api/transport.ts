import type { EnrolledDevice } from '@hearth/protocol/client';
import type { ProtocolErrorCode } from '@hearth/protocol/errors';
import type { StateSnapshot } from '@hearth/protocol/state-blob';
import { ApiError } from './errors.ts';
import { createStore } from '../store.ts';
import { loadDevice } from './keystore.ts';
import type { RelaySession } from './relay-session.ts';

/**
 * The one switch between the LAN and the relay. Pages and the API client call `hubFetch` and
 * `openEventSocket` the same way in both modes: on the LAN they are fetch and WebSocket to this
 * origin; once the hub's LAN address stops answering (a network error, not an HTTP error) and
 * this browser is enrolled for remote access, the same calls go through the end-to-end session.
 * Back on the LAN: the events stream's reconnects in remote mode check the LAN first.
 */
export interface Connection {
  mode: 'lan' | 'remote';
  /** Set while the relay says the hub is away: since when, and the last-known state it kept. */
  offline: { since: number | null; snapshot: StateSnapshot | null } | null;
  /** The relay refused this device (`device_revoked`, `device_not_enrolled`): it must enrol again. */
  refused: string | null;
}

/**
 * Loaded from the relay's web origin (the relay marks index.html, cloud-relay/src/web-app.ts),
 * not from the hub: there is no LAN to try, every call goes through the relay.
 */
export const onRelayOrigin =
  typeof document !== 'undefined' &&
  document.querySelector('meta[name="hearth-origin"]')?.getAttribute('content') === 'relay';

export const connection = createStore<Connection>({
  mode: onRelayOrigin ? 'remote' : 'lan',
  offline: null,
  refused: null,
});

const REFUSED = new Set<string>(['device_revoked', 'device_not_enrolled'] satisfies ProtocolErrorCode[]);

/** How long the first LAN check of a page waits (an address on another network can hang). */
const LAN_PROBE_MS = 4000;
const HEALTH = '/api/v1/health';

let enrolled: Promise<EnrolledDevice | null> | null = null;
let probed: Promise<void> | null = null;
let relay: Promise<RelaySession> | null = null;

function enrolment(): Promise<EnrolledDevice | null> {
  enrolled ??= loadDevice();
  return enrolled;
}

/** After enrolling (or forgetting) this browser: read IndexedDB again on the next need. */
export function enrolmentChanged(): void {
  enrolled = null;
  dropRelay();
  if (connection.get().refused) connection.set({ ...connection.get(), refused: null });
}

function dropRelay(): void {
  const old = relay;
  relay = null;
  void old?.then(
    (session) => session.close(),
    () => undefined,
  );
}

async function goRemote(): Promise<boolean> {
  if (!(await enrolment())) return false;
  if (connection.get().mode !== 'remote') connection.set({ mode: 'remote', offline: null, refused: null });
  return true;
}

/** Does the hub answer on the LAN? If not, and this browser is enrolled, switch to the relay. */
async function checkLan(timeoutMs?: number): Promise<void> {
  try {
    await fetch(HEALTH, timeoutMs ? { signal: AbortSignal.timeout(timeoutMs) } : {});
  } catch {
    await goRemote();
  }
}

/** An enrolled browser checks the LAN once per page before its first call (with a time limit). */
function firstCheck(): Promise<void> {
  probed ??= enrolment().then((device) => (device && !onRelayOrigin ? checkLan(LAN_PROBE_MS) : undefined));
  return probed;
}

export function relaySession(): Promise<RelaySession> {
  relay ??= (async () => {
    const device = await enrolment();
    if (!device) throw new ApiError(0, 'network', 'The hub cannot be reached.');
    const { RelaySession } = await import('./relay-session.ts');
    return new RelaySession(device, {
      online: () => connection.set({ mode: 'remote', offline: null, refused: null }),
      offline: (state) =>
        connection.set({
          mode: 'remote',
          offline: { since: state.offlineSince, snapshot: state.snapshot },
          refused: null,
        }),
    });
  })();
  relay.catch(() => {
    relay = null;
  });
  return relay;
}

/** What to do about a refused device: enable it again at home, or (on the relay's origin) get a new invite. */
export const ENROL_AGAIN = onRelayOrigin
  ? 'Ask for a new invite link at home (Settings → Away from home).'
  : 'Enable remote access again in Settings, on the home network.';

/** Plain words for the relay protocol's codes a person meets here (a renamed code fails the type check). */
const RELAY_TEXT: Partial<Record<ProtocolErrorCode, string>> = {
  hub_offline: 'The hub is offline: it is not connected to the relay.',
  device_revoked: `Remote access for this device was turned off. ${ENROL_AGAIN}`,
  device_not_enrolled: `The hub does not know this device. ${ENROL_AGAIN}`,
};

export function relayError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const raw = (err as { code?: unknown }).code;
  const code = typeof raw === 'string' ? raw : 'network';
  if (REFUSED.has(code) && connection.get().refused !== code) connection.set({ ...connection.get(), refused: code });
  return new ApiError(0, code, RELAY_TEXT[code as ProtocolErrorCode] ?? 'The hub cannot be reached through the relay.');
}

/** Sends one API request to the hub (LAN or relay); rejects with an ApiError (status 0) when neither answers. */
export async function hubFetch(method: string, url: string, body: unknown, token: string | null): Promise<Response> {
  await firstCheck();
  if (connection.get().mode === 'lan') {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    try {
      return await fetch(url, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch {
      if (!(await goRemote())) throw new ApiError(0, 'network', 'the hub cannot be reached');
    }
  }
  try {
    return await (await relaySession()).fetch(method, url, body, token);
  } catch (err) {
    throw relayError(err);
  }
}

/** The part of a WebSocket the events stream uses; the relay's subscription fills the same shape. */
export interface EventSocket {
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number }) => void) | null;
  close(): void;
}

/** What the LAN stream's close code would have been, so the caller handles both alike. */
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_ABNORMAL = 1006;
const closeCode = (code: string) =>
  code === 'token_expired' || code === 'unauthorized' ? CLOSE_UNAUTHORIZED : CLOSE_ABNORMAL;

/** Opens the events stream: `lanUrl` (with its token) on the LAN, a SUBSCRIBE through the relay otherwise. */
export function openEventSocket(lanUrl: string, token: string): EventSocket {
  let closed = false;
  let inner: { close(): void } | null = null;
  const socket: EventSocket = {
    onmessage: null,
    onclose: null,
    close: () => {
      closed = true;
      inner?.close();
    },
  };
  void (async () => {
    // Every reconnect in remote mode first asks whether the LAN is back (home again, or the hub
    // restarted while the internet is down): the LAN is preferred whenever it answers.
    if (connection.get().mode === 'remote' && !onRelayOrigin && (await lanAnswers())) backToLan();
    if (closed) return;
    inner = connection.get().mode === 'lan' ? openLan(lanUrl, socket) : openRemote(token, socket, () => closed);
  })();
  return socket;
}

async function lanAnswers(): Promise<boolean> {
  try {
    return (await fetch(HEALTH, { signal: AbortSignal.timeout(LAN_PROBE_MS) })).ok;
  } catch {
    return false;
  }
}

function backToLan(): void {
  connection.set({ mode: 'lan', offline: null, refused: null });
  dropRelay();
}

function openLan(url: string, socket: EventSocket): { close(): void } {
  const ws = new WebSocket(url);
  let answered = false;
  ws.onmessage = (message) => {
    answered = true;
    socket.onmessage?.(message);
  };
  ws.onclose = (close) => {
    // A socket that never got a word: maybe the LAN is gone (no API call may be due to notice).
    if (!answered) void checkLan().finally(() => socket.onclose?.(close));
    else socket.onclose?.(close);
  };
  return ws;
}

function openRemote(token: string, socket: EventSocket, isClosed: () => boolean): { close(): void } {
  let handle: { close(): void } | null = null;
  let closed = false;
  const end = (code: string) => {
    if (!closed && !isClosed()) socket.onclose?.({ code: closeCode(code) });
  };
  relaySession()
    .then((session) => session.subscribe(token, (event) => socket.onmessage?.({ data: JSON.stringify(event) }), end))
    .then(
      (h) => {
        if (closed || isClosed()) h.close();
        else handle = h;
      },
      (err: unknown) => end(relayError(err).code),
    );
  return {
    close: () => {
      closed = true;
      handle?.close();
    },
  };
}
