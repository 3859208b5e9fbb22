import type { BrokerCertificate as BrokerCertificateView, MqttUser, MqttUserCreated } from '@hearth/model/api';
import Type from 'typebox';
import { HubError } from '../../core/errors.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { closed } from '../schemas.ts';

// Same rule as the broker's own check; repeated here so the API rejects early with a field name.
const Username = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.@-]+$' });
const Scope = Type.Union([Type.Literal('read'), Type.Literal('readwrite')]);
// An MQTT topic filter: no NUL, bounded (MQTT 3.1.1 allows 65535 bytes; nobody needs that).
const TopicFilter = Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\u0000]+$' });

export const CreateBody = Type.Object(
  { username: Username, scope: Scope, topics: Type.Array(TopicFilter, { minItems: 1, maxItems: 32 }) },
  closed,
);
const BrokerCertificate = Type.Object({ pem: Type.String(), sha256: Type.String(), port: Type.Integer() });
const IntegrationUser = Type.Object({
  username: Type.String(),
  scope: Type.String(),
  topics: Type.Array(Type.String()),
  createdAt: Type.String(),
});

/**
 * MQTT users for outside integrations (Home Assistant, Node-RED, scripts). The password is
 * returned once at creation; listings never include secrets.
 */
export const integrationRoutes: ApiPlugin = async (app, { deps }) => {
  const { broker, clock } = deps;
  const audit = (
    request: Parameters<typeof actorOf>[0],
    action: string,
    target: string,
    details?: Record<string, unknown>,
  ) => deps.audit.record({ actor: actorOf(request), action, target, ...(details ? { details } : {}), at: clock.now() });

  app.post(
    '/integrations/mqtt-users',
    {
      config: { access: 'admin' },
      schema: {
        body: CreateBody,
        response: { 201: Type.Object({ username: Type.String(), password: Type.String() }) },
      },
    },
    async (request, reply) => {
      const created = await broker.credentials.createIntegrationUser(request.body);
      audit(request, 'mqtt_user.add', created.username, { scope: request.body.scope, topics: request.body.topics });
      return reply.code(201).send(created satisfies MqttUserCreated);
    },
  );

  app.get(
    '/integrations/mqtt-users',
    { config: { access: 'admin' }, schema: { response: { 200: Type.Array(IntegrationUser) } } },
    async () => {
      const users = await broker.credentials.listIntegrationUsers();
      // Copy field by field: whatever else the broker keeps (hashes) never reaches the response.
      return users.map((u) => ({
        username: u.username,
        scope: u.scope,
        topics: u.topics,
        createdAt: new Date(u.createdAt).toISOString(),
      })) satisfies MqttUser[];
    },
  );

  // The certificate MQTT over TLS presents, so an integration can pin it (mosquitto's --cafile,
  // Home Assistant's broker certificate). Nothing secret: any TLS client on the LAN gets it in
  // the handshake; served to any signed-in user so it can be checked over an authenticated path.
  app.get(
    '/broker/certificate',
    { config: { access: 'guest' }, schema: { response: { 200: BrokerCertificate } } },
    async () => {
      const certificate = broker.certificate();
      if (!certificate)
        throw new HubError('tls_unavailable', 'MQTT over TLS is off: the hub has no certificate (see its log)');
      return certificate satisfies BrokerCertificateView;
    },
  );

  app.delete(
    '/integrations/mqtt-users/:username',
    { config: { access: 'admin' }, schema: { params: Type.Object({ username: Username }, closed) } },
    async (request, reply) => {
      if (!(await broker.credentials.deleteIntegrationUser(request.params.username))) {
        throw new HubError('mqtt_user_not_found', `no integration user ${request.params.username}`);
      }
      audit(request, 'mqtt_user.remove', request.params.username);
      return reply.code(204).send();
    },
  );
};
