import { createServer, type Server } from 'node:https';
import type { FastifyInstance } from 'fastify';

/**
 * HTTPS for the web UI and API on the LAN (`--https-port`, default 8443), with the hub's own
 * certificate. A Fastify instance serves one protocol, so this is a second server in front of
 * the same app: every decrypted request and WebSocket upgrade is handed to the app's own HTTP
 * server, which routes it exactly like a plain one (same routes, host check, access check,
 * `/api/v1/events` and `/mqtt` as `wss://`). `request.protocol` is `https` for these, since
 * their socket is a TLSSocket; `api/https-policy.ts` decides on that.
 */
export async function listenHttps(
  app: FastifyInstance,
  host: string,
  port: number,
  identity: { keyPem: string; certPem: string },
): Promise<Server> {
  const server = createServer({ key: identity.keyPem, cert: identity.certPem, minVersion: 'TLSv1.2' });
  server.on('request', (req, res) => app.server.emit('request', req, res));
  server.on('upgrade', (req, socket, head) => app.server.emit('upgrade', req, socket, head));
  // Same idle limit as the app's own server, so a keep-alive connection ends the same way.
  server.keepAliveTimeout = app.server.keepAliveTimeout;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/**
 * Stops the HTTPS listener beside `app.close()`: no new connection, idle ones closed now, the
 * rest once the app has answered what it had (its WebSockets are closed by the app's own
 * preClose, whichever server they came through).
 */
export async function closeHttps(server: Server, closeApp: () => Promise<void>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  try {
    await closeApp();
  } finally {
    server.closeAllConnections();
    await closed;
  }
}
