import type { TransportSecurity } from '@hearth/model/api';
import Type from 'typebox';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { requirePart } from '../require-part.ts';
import { closed } from '../schemas.ts';

const View = Type.Object({ httpStrict: Type.Boolean(), plainIntegrations: Type.Boolean(), httpsPort: Type.Integer() });
export const Patch = Type.Object(
  { httpStrict: Type.Optional(Type.Boolean()), plainIntegrations: Type.Optional(Type.Boolean()) },
  { ...closed, minProperties: 1 },
);

/**
 * The owner's switches for cleartext on the LAN (hub/src/tls/README.md): `http.strict` (plain
 * http only for first contact) and `mqtt.plainIntegrations` (integrations on 1883 and ws://).
 * Owners and admins read them; only the owner changes them, and only on the LAN (403
 * `local_only` through the relay): each one decides whether passwords may cross the home's
 * Wi-Fi in clear, which a stolen phone enrolled for remote access must not be able to turn back on.
 */
export const transportRoutes: ApiPlugin = async (app, { deps }) => {
  app.get(
    '/settings/transport',
    { config: { access: 'admin' }, schema: { response: { 200: View } } },
    async () => requirePart(deps, 'transport').view() satisfies TransportSecurity,
  );

  app.patch(
    '/settings/transport',
    { config: { access: 'owner', localOnly: true }, schema: { body: Patch, response: { 200: View } } },
    async (request) => {
      const view = requirePart(deps, 'transport').update(request.body);
      deps.audit.record({
        actor: actorOf(request),
        action: 'settings.transport',
        details: { ...request.body },
        at: deps.clock.now(),
      });
      return view satisfies TransportSecurity;
    },
  );
};
