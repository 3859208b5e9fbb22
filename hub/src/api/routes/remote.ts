import Type from 'typebox';
import { HubError } from '../../core/errors.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { closed } from '../schemas.ts';

const Key = Type.String({ minLength: 40, maxLength: 60, description: 'base64 of a 32-byte key' });
const EnrolBody = Type.Object({ publicKey: Key, boxPublicKey: Key, name: Type.String({ minLength: 1, maxLength: 100 }) }, closed);
const RemoteDeviceView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  publicKey: Type.String(),
  userId: Type.String(),
  username: Type.String(),
  role: Type.String(),
  createdAt: Type.Number(),
});

/**
 * Remote access devices (docs/relay-protocol.md "Enrolment"). Enrolling is LAN-only; listing and
 * revoking also work remotely (a lost phone is revoked from another one).
 */
export const remoteRoutes: ApiPlugin = async (app, { deps }) => {
  const remote = () => {
    if (!deps.remote) throw new HubError('not_ready', 'remote access is not running');
    return deps.remote;
  };

  // Whether remote access works right now (the UI's settings page shows it).
  app.get('/remote/status', { config: { access: 'member' } }, async () => remote().status());

  app.post(
    '/remote/devices',
    { config: { access: 'guest', localOnly: true }, schema: { body: EnrolBody } },
    async (request, reply) => reply.code(201).send(remote().enroll(actorOf(request), request.body)),
  );

  app.get('/remote/devices', { config: { access: 'guest' }, schema: { response: { 200: Type.Array(RemoteDeviceView) } } }, async (request) =>
    remote().devices.list(actorOf(request)),
  );

  app.delete(
    '/remote/devices/:id',
    { config: { access: 'guest' }, schema: { params: Type.Object({ id: Type.String({ maxLength: 100 }) }, closed) } },
    async (request, reply) => {
      remote().devices.revoke(actorOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
};
