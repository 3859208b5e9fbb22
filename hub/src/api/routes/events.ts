import Type from 'typebox';
import { HubError } from '../../core/errors.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { EventStream } from '../../events/event-stream.ts';
import { closed } from '../schemas.ts';

/** Queued bytes allowed per events client: seconds of a busy home's traffic, then it is dropped. */
const DEFAULT_MAX_BUFFERED = 1024 * 1024;

/** WebSocket /api/v1/events: live bus events the user may see. */
export const eventRoutes: ApiPlugin = async (app, { deps }) => {
  app.route({
    method: 'GET',
    url: '/events',
    config: { access: 'guest' },
    // `token` is how browsers authenticate (they cannot set headers on a WebSocket).
    schema: { querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 2048 })) }, closed) },
    handler: async () => {
      throw new HubError('upgrade_required', 'this endpoint speaks WebSocket');
    },
    wsHandler: (socket, request) => {
      const stream = new EventStream(socket, actorOf(request), {
        bus: deps.bus,
        clock: deps.clock,
        log: deps.log,
        registry: deps.registry,
        maxBufferedBytes: deps.eventsMaxBufferedBytes ?? DEFAULT_MAX_BUFFERED,
      });
      stream.start(request.accessExpiresAt);
    },
  });
};
