import type { Role, StateValue } from './values.ts';

/**
 * What the hub's REST API answers (/api/v1, the contract in DESIGN.md), as the UI reads it. The
 * hub builds devices and rooms as these types (hub/src/devices/views.ts); its response schemas
 * (hub/src/api/schemas.ts, routes/health.ts) are checked against them at compile time
 * (hub/test/api/model-types.test.ts), so the two cannot drift apart silently.
 */

/** POST /auth/login, /auth/refresh, /setup. */
export interface Session {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

/** GET /users, /me. */
export interface User {
  id: string;
  username: string;
  role: Role;
  createdAt: string;
  /** Two-step login on (only in GET /me, the person's own account). */
  totp?: boolean;
}

/** GET /devices, /devices/:id; the device.added / device.updated events. */
export interface Device {
  id: string;
  name: string;
  roomId: string | null;
  driver: string;
  model: string;
  capabilities: string[];
  available: boolean;
  state: Record<string, StateValue>;
  updatedAt: string;
}

/** GET /rooms. */
export interface Room {
  id: string;
  name: string;
  homeId: string;
  createdAt: string;
}

/** GET /health: no token needed. */
export interface Health {
  status: 'ok' | 'degraded' | 'starting';
  version: string;
  uptimeS: number;
  /** Each part's state: ok, starting, failed or stopped. */
  parts: Record<string, string>;
  /** True until the first owner exists; the UI shows its setup form then. */
  setupRequired: boolean;
  /**
   * The HTTPS port, its certificate's SHA-256 fingerprint (`AB:CD:…`) and whether plain http
   * sends everything but first contact to it (`http.strict`); null without a certificate.
   */
  https: { port: number; sha256: string; strict: boolean } | null;
}

/** What can be shared with a person (POST /shares names one of them). */
export type ShareKind = 'device' | 'room' | 'scene' | 'camera';

/** How far a share reaches: `view` sees it (state, history, live view), `control` also commands it. */
export type ShareAccess = 'view' | 'control';

/** A weekly window a share is open in, in the home's time zone: `days` of the week, `from` to `to` (HH:MM, `to` later). */
export interface ShareWindow {
  days: ('mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun')[];
  from: string;
  to: string;
}

/** POST /shares, GET /shares. */
export interface Share {
  id: string;
  userId: string;
  kind: ShareKind;
  targetId: string;
  access: ShareAccess;
  /** When it ends by itself (ISO), or null. */
  until: string | null;
  /** Open only in these weekly windows; empty: always (until `until`). */
  windows: ShareWindow[];
  /** Whether it gives access right now (not ended, inside a window if it has any). */
  active: boolean;
  createdAt: string;
}
