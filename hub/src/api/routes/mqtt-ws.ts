import { createWebSocketStream } from 'ws';
import { HubError } from '../../core/errors.ts';
import type { ApiPlugin } from '../deps.ts';

/**
 * MQTT over WebSocket on the API's port (`/mqtt`, subprotocol `mqtt`). Public at the HTTP level
 * because the broker authenticates every MQTT CONNECT itself, with per-device credentials.
 */
export const mqttWebSocketRoutes: ApiPlugin = async (app, { deps }) => {
  app.route({
    method: 'GET',
    url: '/mqtt',
    config: { access: 'public', beforeSetup: true },
    schema: {},
    handler: async () => {
      throw new HubError('upgrade_required', 'this endpoint speaks MQTT over WebSocket');
    },
    wsHandler: (socket, request) => {
      const stream = createWebSocketStream(socket);
      // The broker owns the connection from here; a broken socket must not throw past us.
      stream.on('error', (err) => request.log.debug({ err }, 'mqtt websocket error'));
      deps.broker.handleWebSocket(stream, request.raw);
    },
  });
};
