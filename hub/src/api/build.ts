import { fileURLToPath } from 'node:url';
import fastifyWebsocket from '@fastify/websocket';
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { installAccess } from './access.ts';
import type { ApiDeps } from './deps.ts';
import { installErrorHandling } from './errors.ts';
import { installHostCheck } from './host-check.ts';
import { installHttpsPolicy } from './https-policy.ts';
import { installRemote } from './remote.ts';
import { ApiMetrics } from './metrics.ts';
import { apiTokenRoutes } from './routes/api-tokens.ts';
import { auditRoutes } from './routes/audit.ts';
import { backupRoutes } from './routes/backups.ts';
import { updateRoutes } from './routes/update.ts';
import { authRoutes } from './routes/auth.ts';
import { cameraRoutes } from './routes/cameras.ts';
import { deviceRoutes } from './routes/devices.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { energyRoutes } from './routes/energy.ts';
import { historyRoutes } from './routes/history.ts';
import { homeRoutes } from './routes/home.ts';
import { integrationRoutes } from './routes/integrations.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { mqttWebSocketRoutes } from './routes/mqtt-ws.ts';
import { plugRoutes } from './routes/plugs.ts';
import { zigbeeRoutes } from './routes/zigbee.ts';
import { remoteRoutes } from './routes/remote.ts';
import { roomRoutes } from './routes/rooms.ts';
import { capabilityRoutes } from './routes/capabilities.ts';
import { ruleRoutes } from './routes/rules.ts';
import { sceneRoutes } from './routes/scenes.ts';
import { setupRoutes } from './routes/setup.ts';
import { shareRoutes } from './routes/shares.ts';
import { transportRoutes } from './routes/transport.ts';
import { presenceRoutes } from './routes/presence.ts';
import { handoverRoutes } from './routes/handover.ts';
import { uiRoutes } from './routes/ui.ts';
import { userRoutes } from './routes/users.ts';
import { chooseSubprotocol, terminateStragglers } from './websocket.ts';

export type { ApiDeps, ApiBroker } from './deps.ts';

const DEFAULT_UI_DIR = fileURLToPath(new URL('../../../ui/dist/', import.meta.url));

/**
 * Builds the HTTP API (REST under /api/v1, the events and MQTT WebSockets, /metrics, the UI)
 * without listening, so tests drive it with `inject()` and `main` decides where it listens.
 */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // One line per request is too much for an SD card; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.config.http.bodyLimitBytes,
    // No proxy is trusted: request.ip is the peer, which is what the login limiter must count.
    trustProxy: false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // TypeBox checks bodies exactly as declared (no type coercion: "1" is not true) and converts
  // only params and querystrings, which arrive as text.
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  // JSON only: any other body is a 415 rather than a string reaching a handler.
  app.removeContentTypeParser('text/plain');

  installErrorHandling(app);
  // Before the access check: a local-only route refuses remote callers whatever their token.
  installRemote(app, deps.remote, () => deps.clock.now());
  // After it (a tunnelled request is the hub's own), before anything answers: DNS rebinding.
  installHostCheck(app, deps.config.http.allowedHosts);
  // After it (a redirect names only the hub's own names): http.strict sends plain http to https.
  installHttpsPolicy(app, {
    strict: () => deps.transport?.httpStrict ?? deps.config.http.strict,
    httpsPort: () => deps.https?.()?.port ?? 0,
    setupRequired: () => deps.auth.setupRequired(),
    log: deps.log,
  });
  // Before any route and before @fastify/websocket, so every route passes the one access check.
  installAccess(app, deps.auth);

  const metrics = new ApiMetrics();
  app.addHook('onResponse', async (_request, reply) => metrics.countResponse(reply.statusCode));
  app.addHook('onClose', async () => metrics.close());

  await app.register(fastifyWebsocket, {
    options: {
      // An MQTT packet travels in one WebSocket message; the broker's own limit applies inside.
      maxPayload: deps.config.mqtt.maxPacketBytes + 1024,
      handleProtocols: (offered: Set<string>) => chooseSubprotocol(offered),
    },
  });
  // Runs after the plugin's own preClose, which has sent every client a close frame.
  app.addHook('preClose', async () => terminateStragglers(app.websocketServer, 500));

  await app.register(
    async (api) => {
      for (const plugin of [
        healthRoutes,
        setupRoutes,
        authRoutes,
        roomRoutes,
        capabilityRoutes,
        deviceRoutes,
        integrationRoutes,
        transportRoutes,
        auditRoutes,
        eventRoutes,
        homeRoutes,
        plugRoutes,
        zigbeeRoutes,
        historyRoutes,
        energyRoutes,
        ruleRoutes,
        sceneRoutes,
        cameraRoutes,
        remoteRoutes,
        userRoutes,
        apiTokenRoutes,
        shareRoutes,
        presenceRoutes,
        backupRoutes,
        updateRoutes,
        handoverRoutes,
      ]) {
        await api.register(plugin, { deps });
      }
    },
    { prefix: '/api/v1' },
  );
  await app.register(metricsRoutes(metrics), { deps });
  await app.register(mqttWebSocketRoutes, { deps });
  await app.register(uiRoutes(deps.uiDir ?? DEFAULT_UI_DIR), { deps });

  await app.ready();
  return app as unknown as FastifyInstance;
}
