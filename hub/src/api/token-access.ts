import type { FastifyRequest } from 'fastify';
import type { ApiTokenActor, Role } from '@hearth/model/values';
import { scopeReaches } from '../auth/api-tokens.ts';
import { HubError } from '../core/errors.ts';

/**
 * Routes a key for scripts never calls, whatever its scope: managing keys (a key cannot make
 * more), people, passwords and two-step login, backups (they hold every key of the home), the
 * installer handover, remote enrolment (a key cannot enrol a phone), hub updates and MQTT
 * integration users (another kind of standing credential). Matched on whole path segments.
 */
export const TOKEN_REFUSED_PREFIXES = [
  '/api/v1/me/tokens',
  '/api/v1/users',
  '/api/v1/me/password',
  '/api/v1/me/totp',
  '/api/v1/backups',
  '/api/v1/handover',
  '/api/v1/remote',
  '/api/v1/update',
  '/api/v1/integrations',
] as const;

/**
 * The only routes a key with a device subset calls: its devices, their history and energy, and the
 * events stream (which shows only them). Rules, scenes, rooms, cameras and the audit log speak of
 * other devices, so for such a key they are `api_token_scope`.
 */
export const DEVICE_SUBSET_ROUTES = new Set([
  'GET /api/v1/me',
  'GET /api/v1/devices',
  'GET /api/v1/devices/:id',
  'POST /api/v1/devices/:id/commands',
  'GET /api/v1/history',
  'GET /api/v1/history/events',
  'GET /api/v1/energy',
  'GET /api/v1/events',
]);

/**
 * What a request made with a key may reach, after the key was verified and before the route's
 * own role check (which the key's actor, its role cut to the scope, then also passes through).
 */
export function checkApiToken(request: FastifyRequest, token: ApiTokenActor, access: Role): void {
  const url = request.routeOptions.url ?? '';
  // Through the relay a key is not taken: keys are for scripts on the home network, and a remote
  // device is already enrolled for its own person with their session.
  if (request.remote) throw new HubError('local_only', 'keys for scripts work on the home network only');
  if (TOKEN_REFUSED_PREFIXES.some((p) => url === p || url.startsWith(`${p}/`))) {
    throw new HubError('api_token_refused', 'a key for scripts cannot do this; log in as the person');
  }
  if (token.scope === 'read' && request.method !== 'GET' && request.method !== 'HEAD') {
    throw new HubError('api_token_scope', 'this key may only read', { scope: token.scope });
  }
  if (!scopeReaches(token.scope, access))
    throw new HubError('api_token_scope', `this needs a key of a higher scope than ${token.scope}`, {
      scope: token.scope,
    });
  if (token.devices && !DEVICE_SUBSET_ROUTES.has(`${request.method} ${url}`)) {
    throw new HubError('api_token_scope', 'a key for some devices reaches only those devices', { scope: token.scope });
  }
}
