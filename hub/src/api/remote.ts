import type { FastifyInstance } from 'fastify';
import { HubError } from '../core/errors.ts';
import { parseRange } from './range.ts';
import type { ApiRemote } from './deps.ts';

/** The header the relay part sets on requests it injects; a LAN request carrying it is refused. */
export const REMOTE_HEADER = 'x-hearth-remote';
/** Answers that open a session: through the relay they also carry the sealed home key. */
const SESSION_ROUTES = new Set([
  '/api/v1/auth/login',
  '/api/v1/auth/refresh',
  '/api/v1/me/password',
  '/api/v1/me/totp/enable',
]);
/**
 * Recordings a remote device may fetch one minute at a time (the hub makes a file of the range and
 * sends it through the tunnel; longer exports are for the home network): `remote_range_too_long`.
 */
const REMOTE_RANGE_ROUTES = new Set(['/api/v1/cameras/:id/playback', '/api/v1/cameras/:id/clip']);
export const REMOTE_RANGE_MAX_MS = 60_000;

export interface RemoteCaller {
  deviceId: string;
  userId: string;
  username: string;
  /** The caller holds an invite link's key, not an enrolled one: it may only redeem it. */
  invite: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served only on the LAN: through the relay it answers 403 `local_only`. */
    localOnly?: boolean;
    /** The one route an invite link's key may call through the relay (all others: `invite_only`). */
    inviteRedeem?: boolean;
  }
  interface FastifyRequest {
    /** Set when the request came through the relay (hub/src/relay), with the device it came from. */
    remote: RemoteCaller | null;
  }
}

/**
 * Marks remote requests and enforces what they may do. Runs before the access check, so a
 * local-only route answers `local_only` whatever the token. After it (preHandler), a remote
 * request's token must belong to the user the device is enrolled for, and a remote login may
 * only log in that user: a stolen phone key cannot be used with someone else's password.
 */
export function installRemote(app: FastifyInstance, remote: ApiRemote | undefined, now: () => number = Date.now): void {
  app.decorateRequest('remote', null);
  app.addHook('onRequest', async (request) => {
    const marker = request.headers[REMOTE_HEADER];
    if (marker === undefined) return;
    const device = typeof marker === 'string' ? remote?.callerOf(marker) : null;
    if (!device) throw new HubError('forbidden', 'not a remote request of this hub');
    delete request.headers[REMOTE_HEADER];
    request.remote = {
      deviceId: device.id,
      userId: device.userId,
      username: device.username,
      invite: device.invite === true,
    };
    if (request.routeOptions.config.localOnly)
      throw new HubError('local_only', 'this can only be done on the home network');
    if (device.invite && !request.routeOptions.config.inviteRedeem)
      throw new HubError('invite_only', 'an invite link can only enrol a device');
  });
  // A remote login or refresh answers the session and the home key sealed to the device
  // (docs/relay-protocol.md "Keys"): the key reaches a device only once its user's password (and
  // code) or refresh token were checked, never with an invite link alone.
  app.addHook('onSend', async (request, reply, payload) => {
    const caller = request.remote;
    if (!caller || caller.invite || reply.statusCode !== 200 || typeof payload !== 'string') return payload;
    if (!SESSION_ROUTES.has(request.routeOptions.url ?? '')) return payload;
    const session = JSON.parse(payload) as { accessToken?: unknown };
    if (typeof session.accessToken !== 'string') return payload;
    return JSON.stringify({
      ...session,
      homeKey: remote?.sessionHomeKey(caller.deviceId, session.accessToken) ?? null,
    });
  });
  app.addHook('preHandler', async (request) => {
    const caller = request.remote;
    if (!caller) return;
    if (request.actor && request.actor.userId !== caller.userId)
      throw new HubError('remote_user_mismatch', 'this device is enrolled for another user');
    if (REMOTE_RANGE_ROUTES.has(request.routeOptions.url ?? '')) {
      // The same defaults as the route (a minute up to now), so what is checked is what it exports.
      const { from, to } = parseRange(request.query as { from?: string; to?: string }, now(), {
        defaultSpan: REMOTE_RANGE_MAX_MS,
      });
      if (to - from > REMOTE_RANGE_MAX_MS)
        throw new HubError(
          'remote_range_too_long',
          `through the relay a recording range may span at most ${REMOTE_RANGE_MAX_MS / 1000} s`,
          { from, to, maxMs: REMOTE_RANGE_MAX_MS },
        );
    }
    if (request.routeOptions.url === '/api/v1/auth/login') {
      const username = (request.body as { username?: unknown } | undefined)?.username;
      if (username !== caller.username)
        throw new HubError('remote_user_mismatch', 'this device is enrolled for another user');
    }
  });
}
