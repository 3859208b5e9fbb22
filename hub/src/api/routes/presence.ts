import type { PresenceView } from '@hearth/model/api';
import Type from 'typebox';
import { HubError } from '../../core/errors.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { closed, Id, StateValue } from '../schemas.ts';

/** Either a state set by hand or by the phone app, or a device whose state says home. */
export const PresenceBody = Type.Union([
  Type.Object(
    {
      state: Type.Union([Type.Literal('home'), Type.Literal('away')]),
      source: Type.Optional(Type.Union([Type.Literal('manual'), Type.Literal('phone')])),
    },
    closed,
  ),
  Type.Object({ device: Id, capability: Type.String({ minLength: 1, maxLength: 64 }), home: StateValue }, closed),
]);

/**
 * Presence (hub/src/devices/presence.ts): who is home. Everyone reads what their role shows
 * (members and up: everyone and the home's state; a guest: themselves) and sets their own: by
 * hand, from the phone app, or by choosing a device they reach whose state means home.
 */
export const presenceRoutes: ApiPlugin = async (app, { deps }) => {
  const { registry } = deps;

  app.get(
    '/presence',
    { config: { access: 'guest' } },
    async (request) => registry.presence.view(actorOf(request)) satisfies PresenceView,
  );

  app.put('/me/presence', { config: { access: 'guest' }, schema: { body: PresenceBody } }, async (request) => {
    const actor = actorOf(request);
    const body = request.body;
    if ('state' in body) registry.presence.set(actor.userId, body.state, body.source ?? 'manual');
    else {
      // Only a device the person reaches, with that capability (404 like an unknown one otherwise).
      const device = registry.get(body.device, actor);
      if (!device.capabilities.includes(body.capability))
        throw new HubError('validation_failed', `device ${body.device} has no capability '${body.capability}'`, {
          field: 'capability',
        });
      registry.presence.follow(actor.userId, body.device, body.capability, body.home);
    }
    return registry.presence.view(actor);
  });

  app.delete('/me/presence', { config: { access: 'guest' } }, async (request, reply) => {
    registry.presence.clear(actorOf(request).userId);
    return reply.code(204).send();
  });
};
