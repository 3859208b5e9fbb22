import type {
  Session,
  HandoverAccept,
  LoginBody,
  PasswordChange,
  RefreshBody,
  SetupBody,
  TotpEnable,
} from '@hearth/model/api';
import { ApiError } from './errors.ts';
import { hubFetch } from './transport.ts';

/**
 * The one way the UI talks to the hub's REST API. The access token lives only in memory; the
 * refresh token (rotating, single use) is kept in localStorage so a reload stays logged in.
 * A 401 triggers one refresh and one retry. Refreshes are serialised across tabs with a Web Lock
 * and always use the newest stored token: presenting an already rotated token would make the hub
 * revoke the whole session family (reuse detection).
 */
const REFRESH_KEY = 'hearth.refreshToken';
const BASE = '/api/v1';

type Listener = (loggedIn: boolean) => void;

let accessToken: string | null = null;
// When the access token stops working (ms since epoch), less a margin for the trip to the hub.
let accessUntil = 0;
const EXPIRY_MARGIN_MS = 10_000;
let refreshing: Promise<boolean> | null = null;
// A password change in flight in this tab: a refresh waits for it (see changePassword).
let adopting: Promise<unknown> | null = null;
const listeners = new Set<Listener>();

function storedRefresh(): string | null {
  try {
    return localStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function store(session: Session | null): void {
  accessToken = session?.accessToken ?? null;
  accessUntil = session ? Date.now() + session.expiresIn * 1000 - EXPIRY_MARGIN_MS : 0;
  if (session) localStorage.setItem(REFRESH_KEY, session.refreshToken);
  else localStorage.removeItem(REFRESH_KEY);
  for (const listener of listeners) listener(session !== null);
}

// Logging out in one tab logs out the others at once (they would otherwise keep working until
// their access token expired). Another tab's rotation changes the value, not its presence.
addEventListener('storage', (event) => {
  if (event.key === REFRESH_KEY && event.newValue === null && accessToken !== null) {
    accessToken = null;
    accessUntil = 0;
    for (const listener of listeners) listener(false);
  }
});

export function onAuthChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function hasSession(): boolean {
  return accessToken !== null || storedRefresh() !== null;
}

export function currentAccessToken(): string | null {
  return accessToken;
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  return locks ? locks.request('hearth-refresh', fn) : fn();
}

/** Exchanges the stored refresh token for a new session; false when there is none or it is dead. */
export function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    if (adopting) await adopting;
    return withLock(refreshNow);
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function refreshNow(): Promise<boolean> {
  const token = storedRefresh();
  if (!token) return false;
  const res = await rawFetch('POST', '/auth/refresh', { refreshToken: token } satisfies RefreshBody);
  if (res.ok) {
    store((await res.json()) as Session);
    return true;
  }
  // Only a definite "no" ends the session; a hub that is down keeps the token for later.
  if (res.status === 401 || res.status === 400) store(null);
  return false;
}

/** A valid access token, refreshing first if memory has none (after a reload) or it expired. */
export async function ensureAccess(): Promise<string | null> {
  if (accessToken && Date.now() < accessUntil) return accessToken;
  return (await refresh()) ? accessToken : null;
}

// On the LAN a fetch; away from home (LAN silent, this browser enrolled) the same request through
// the relay's end-to-end session: the switch is in api/transport.ts, invisible to the pages.
function rawFetch(method: string, path: string, body?: unknown, token?: string | null): Promise<Response> {
  return hubFetch(method, BASE + path, body, token ?? null);
}

async function fail(res: Response): Promise<never> {
  let error: { code?: string; message?: string; details?: Record<string, unknown> } = {};
  try {
    error = ((await res.json()) as { error?: typeof error }).error ?? {};
  } catch {
    // not JSON (a proxy's page): keep the status
  }
  throw new ApiError(res.status, error.code ?? `http_${res.status}`, error.message ?? res.statusText, error.details);
}

/** Calls the API; answers the parsed JSON (undefined for 204) or throws an ApiError. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res = await rawFetch(method, path, body, accessToken);
  if (res.status === 401 && (await refresh())) res = await rawFetch(method, path, body, accessToken);
  if (res.status === 401) store(null);
  if (!res.ok) return fail(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** Public calls that need no session (health, setup, login). */
export async function publicApi<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await rawFetch(method, path, body);
  if (!res.ok) return fail(res);
  return (await res.json()) as T;
}

/**
 * Logs in. With two-step login on, the hub answers `totp_required` to the password alone; the
 * page then asks for the app's code (`totp`) or a recovery code and calls again with it.
 */
export async function login(
  username: string,
  password: string,
  second: { totp?: string; recoveryCode?: string } = {},
): Promise<void> {
  store(await publicApi<Session>('POST', '/auth/login', { username, password, ...second } satisfies LoginBody));
}

/** First run: the owner account, with the one-time setup code only the person at the hub can read. */
/** First run: the owner, or (`installer`) the account that sets the home up and hands it over later. */
export async function createOwner(
  username: string,
  password: string,
  setupCode: string,
  role: 'owner' | 'installer' = 'owner',
): Promise<void> {
  store(
    await publicApi<Session>('POST', '/setup', {
      username,
      password,
      setupCode,
      ...(role === 'installer' ? { role } : {}),
    } satisfies SetupBody),
  );
}

/**
 * First run: "Restore from a backup" (`POST /setup/restore`, LAN only, before setup). The file
 * goes as the raw body; the passphrase percent-encoded in a header (headers are ASCII). On
 * success the hub restarts on the restored home.
 */
export async function restoreFromBackup(
  file: Blob,
  passphrase: string,
  setupCode: string,
): Promise<{ home: string; createdAt: number; counts: Record<string, number> }> {
  let res: Response;
  try {
    res = await fetch(`${BASE}/setup/restore`, {
      method: 'POST',
      headers: {
        'content-type': 'application/octet-stream',
        'x-setup-code': setupCode,
        'x-backup-passphrase': encodeURIComponent(passphrase),
      },
      body: file,
    });
  } catch {
    throw new ApiError(0, 'network', 'the hub cannot be reached');
  }
  if (!res.ok) return fail(res);
  return (await res.json()) as { home: string; createdAt: number; counts: Record<string, number> };
}

/** The homeowner creates the owner account with the installer's one-time invite (LAN only). */
export async function acceptOwnerInvite(code: string, username: string, password: string): Promise<void> {
  store(await publicApi<Session>('POST', '/handover/accept', { code, username, password } satisfies HandoverAccept));
}

/** Takes over a session the hub handed out to a signed-in page (after a password change). */
export function adoptSession(session: Session): void {
  store(session);
}

/**
 * Changes the signed-in person's own password. The hub ends every other session of theirs and
 * answers with a fresh one for this page, adopted here. The request holds the refresh lock (and
 * this tab's refreshes wait for it): the old session ending closes the events socket with 4401,
 * and the refresh that follows must present the new refresh token, not the revoked one, whose
 * refusal would log this page (and every tab sharing the token) out.
 */
export async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
  await replaceSession('/me/password', { currentPassword, newPassword } satisfies PasswordChange);
}

/**
 * Turns two-step login on with the app's code and the password. Like a password change, the hub
 * ends every other session and answers a fresh one (adopted the same way) with the recovery codes.
 */
export async function enableTwoStep(code: string, password: string): Promise<string[]> {
  const answer = await replaceSession<{ recoveryCodes: string[] }>('/me/totp/enable', {
    code,
    password,
  } satisfies TotpEnable);
  return answer.recoveryCodes;
}

/** A call whose answer is a new session for this page (the old one ends): see changePassword. */
async function replaceSession<T = unknown>(path: string, body: unknown): Promise<T & Session> {
  const token = await ensureAccess();
  if (!token) throw new ApiError(401, 'unauthorized', 'log in again');
  const change = withLock(async () => {
    const res = await rawFetch('POST', path, body, token);
    const answer = res.ok ? ((await res.json()) as T & Session) : null;
    if (answer) adoptSession(answer);
    return { res, answer };
  });
  adopting = change.catch(() => undefined);
  let outcome: { res: Response; answer: (T & Session) | null };
  try {
    outcome = await change;
  } finally {
    adopting = null;
  }
  if (outcome.res.status === 401) store(null);
  if (!outcome.answer) return fail(outcome.res);
  return outcome.answer;
}

export async function logout(): Promise<void> {
  const token = storedRefresh();
  store(null);
  if (token)
    await rawFetch('POST', '/auth/logout', { refreshToken: token } satisfies RefreshBody).catch(() => undefined);
}

/** A ws:// or wss:// URL on this hub carrying the access token (browsers cannot set headers). */
export function socketUrl(path: string, token: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${BASE}${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}
