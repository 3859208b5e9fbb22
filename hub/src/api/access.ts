import { ERROR_STATUS } from '@hearth/model/errors';
import type { Role } from '@hearth/model/values';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { AuthService, UserActor } from '../auth/service.ts';
import { WS_CLOSE_FORBIDDEN, WS_CLOSE_UNAUTHORIZED } from '../auth/ws-close.ts';
import { HubError, isHubError } from '../core/errors.ts';
import { hasRole } from '../devices/access.ts';
import { checkApiToken } from './token-access.ts';
import { tokenFromSubprotocols } from './websocket.ts';

/**
 * Who may call a route, declared on the route itself: `config: { access: 'member' }`.
 * `public` needs no token; a role needs a valid bearer token of at least that role
 * (owner > admin > member > guest). A route that declares nothing is refused to everyone, so
 * forgetting the declaration can never open a route.
 */
export type Access = 'public' | Role;

export interface RouteEntry {
  method: string;
  url: string;
  access: Access | undefined;
  beforeSetup: boolean;
  websocket: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** Served before the first owner exists (health, setup, the UI, MQTT); all else is 409. */
    beforeSetup?: boolean;
    /** Set by `installAccess` on WebSocket routes; refused upgrades close with 4401/4403. */
    websocket?: boolean;
  }
  interface FastifyRequest {
    actor: UserActor | null;
    /** When the bearer token stops being valid (ms), for connections that outlive a request. */
    accessExpiresAt: number;
    /** A WebSocket upgrade that failed authentication: the socket is closed with a 44xx code. */
    wsRefusal: HubError | null;
  }
  interface FastifyInstance {
    /** Every route with its declared access; the route-walk test checks them all. */
    routeTable: RouteEntry[];
  }
}

export { WS_CLOSE_FORBIDDEN, WS_CLOSE_UNAUTHORIZED };

type WsHandler = (this: unknown, socket: WebSocket, request: FastifyRequest) => unknown;

/**
 * Installs the one access check on the root instance. Must run before any route is registered
 * (and before @fastify/websocket, so WebSocket handlers are wrapped first).
 */
export function installAccess(app: FastifyInstance, auth: Pick<AuthService, 'setupRequired' | 'inspectAccess'>): void {
  const table: RouteEntry[] = [];
  app.decorate('routeTable', table);
  app.decorateRequest('actor', null);
  app.decorateRequest('accessExpiresAt', 0);
  app.decorateRequest('wsRefusal', null);

  app.addHook('onRoute', (route) => {
    const websocket = route.websocket === true || typeof route.wsHandler === 'function';
    if (websocket) {
      route.config = { ...route.config, websocket: true };
      const inner = (route.wsHandler ?? route.handler) as unknown as WsHandler;
      // A browser cannot read the HTTP status of a refused upgrade, so the upgrade completes and
      // the socket is closed at once with a code the client can act on.
      const guarded: WsHandler = function (socket, request) {
        if (request.wsRefusal) {
          socket.close(
            ERROR_STATUS[request.wsRefusal.code] === 403 ? WS_CLOSE_FORBIDDEN : WS_CLOSE_UNAUTHORIZED,
            request.wsRefusal.code,
          );
          return undefined;
        }
        return inner.call(this, socket, request);
      };
      if (route.wsHandler) route.wsHandler = guarded as unknown as typeof route.wsHandler;
      else route.handler = guarded as unknown as typeof route.handler;
    }
    for (const method of [route.method].flat()) {
      table.push({
        method,
        url: route.url,
        access: route.config?.access,
        beforeSetup: route.config?.beforeSetup === true,
        websocket,
      });
    }
  });

  app.addHook('onRequest', async (request) => {
    if (request.is404) return; // unknown routes answer 404 to everyone
    const config = request.routeOptions.config;
    if (!config.beforeSetup && auth.setupRequired())
      throw new HubError('setup_required', 'create the owner first: POST /api/v1/setup');
    if (config.access === 'public') return;
    const upgrade = config.websocket === true && request.headers.upgrade?.toLowerCase() === 'websocket';
    try {
      const token = bearerToken(request, upgrade);
      if (!token) throw new HubError('unauthorized', 'a bearer token is required');
      const { actor, expiresAt } = auth.inspectAccess(token);
      if (!config.access) throw new HubError('forbidden', 'this route declares no access');
      // A key for scripts: its own limits first (token-access.ts), then the role as for everyone.
      if (actor.token) checkApiToken(request, actor.token, config.access);
      if (!hasRole(actor, config.access)) throw new HubError('forbidden', `this needs the ${config.access} role`);
      request.actor = actor;
      request.accessExpiresAt = expiresAt;
    } catch (err) {
      if (upgrade && isHubError(err)) {
        request.wsRefusal = err;
        return;
      }
      throw err;
    }
  });
}

/** The authenticated actor of a route that declared a role (never null there). */
export function actorOf(request: FastifyRequest): UserActor {
  if (!request.actor) throw new HubError('unauthorized', 'a bearer token is required');
  return request.actor;
}

/**
 * `Authorization: Bearer <token>`. WebSocket upgrades may also carry it as `?token=` or as a
 * `bearer.<token>` subprotocol, because browsers cannot set headers on a WebSocket; plain HTTP
 * requests may not (a token in a URL ends up in logs and history).
 */
function bearerToken(request: FastifyRequest, upgrade: boolean): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    return m?.[1];
  }
  if (!upgrade) return undefined;
  const query = (request.query as Record<string, unknown> | undefined)?.token;
  if (typeof query === 'string' && query) return query;
  return tokenFromSubprotocols(request.headers['sec-websocket-protocol']);
}
