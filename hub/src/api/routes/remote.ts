import type { Enrolment, IssuedInvite, OpenInvite, PushKey, PushTest, RemoteStatus } from '@hearth/model/api';
import Type from 'typebox';
import { HubError } from '../../core/errors.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { requirePart } from '../require-part.ts';
import { closed } from '../schemas.ts';

const Key = Type.String({ minLength: 40, maxLength: 60, description: 'base64 of a 32-byte key' });
export const EnrolBody = Type.Object(
  { publicKey: Key, boxPublicKey: Key, name: Type.String({ minLength: 1, maxLength: 100 }) },
  closed,
);
const IdParams = Type.Object({ id: Type.String({ maxLength: 100 }) }, closed);
const B64Url = Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_=-]+$' });
export const InviteBody = Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) }, closed);
export const Subscription = Type.Object(
  {
    endpoint: Type.String({ minLength: 8, maxLength: 2048 }),
    expirationTime: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
    keys: Type.Object({ p256dh: B64Url, auth: B64Url }, closed),
  },
  closed,
);
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
  // Whether remote access works right now (the UI's settings page shows it). Guests too: they
  // enrol their own devices and invite them, and need to know whether there is a relay.
  app.get(
    '/remote/status',
    { config: { access: 'guest' } },
    async () => requirePart(deps, 'remote').status() satisfies RemoteStatus,
  );

  app.post(
    '/remote/devices',
    { config: { access: 'guest', localOnly: true }, schema: { body: EnrolBody } },
    async (request, reply) =>
      reply.code(201).send(requirePart(deps, 'remote').enroll(actorOf(request), request.body) satisfies Enrolment),
  );

  // One-time invite links (docs/relay-protocol.md "Enrolment by invite"): issued on the LAN only.
  app.post(
    '/remote/invites',
    {
      config: { access: 'guest', localOnly: true },
      schema: { body: InviteBody },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          requirePart(deps, 'remote').invite(
            actorOf(request),
            request.body.name ?? 'Invited device',
          ) satisfies IssuedInvite,
        ),
  );

  app.get(
    '/remote/invites',
    { config: { access: 'guest' } },
    async (request) =>
      requirePart(deps, 'remote')
        .invites.list(actorOf(request))
        .map(({ id, name, userId, username, role, createdAt, expiresAt }) => ({
          id,
          name,
          userId,
          username,
          role,
          createdAt,
          expiresAt,
        })) satisfies OpenInvite[],
  );

  app.delete(
    '/remote/invites/:id',
    { config: { access: 'guest' }, schema: { params: IdParams } },
    async (request, reply) => {
      requirePart(deps, 'remote').withdrawInvite(actorOf(request), request.params.id);
      return reply.code(204).send();
    },
  );

  // Called through the relay by the holder of an invite link's key, with no token: the key is
  // the credential, once. Anyone else (LAN, or an enrolled device) gets invite_only.
  app.post(
    '/remote/invites/redeem',
    { config: { access: 'public', inviteRedeem: true }, schema: { body: EnrolBody } },
    async (request, reply) => {
      if (!request.remote?.invite) throw new HubError('invite_only', 'only an invite link redeems an invite');
      return reply.code(201).send(requirePart(deps, 'remote').redeem(request.remote.deviceId, request.body));
    },
  );

  app.get(
    '/remote/devices',
    { config: { access: 'guest' }, schema: { response: { 200: Type.Array(RemoteDeviceView) } } },
    async (request) => requirePart(deps, 'remote').devices.list(actorOf(request)),
  );

  // The VAPID key a browser passes to pushManager.subscribe (applicationServerKey).
  app.get(
    '/remote/push-key',
    { config: { access: 'guest' } },
    async () => ({ publicKey: requirePart(deps, 'remote').push.publicKey }) satisfies PushKey,
  );

  app.put(
    '/remote/devices/:id/push',
    { config: { access: 'guest' }, schema: { params: IdParams, body: Subscription } },
    async (request, reply) => {
      requirePart(deps, 'remote').devices.setPush(actorOf(request), request.params.id, request.body);
      return reply.code(204).send();
    },
  );

  app.delete(
    '/remote/devices/:id/push',
    { config: { access: 'guest' }, schema: { params: IdParams } },
    async (request, reply) => {
      requirePart(deps, 'remote').devices.setPush(actorOf(request), request.params.id, null);
      return reply.code(204).send();
    },
  );

  // "Send a test notification": what each push service answered, so a broken setup shows.
  app.post(
    '/remote/devices/:id/push/test',
    { config: { access: 'guest' }, schema: { params: IdParams } },
    async (request) => {
      const device = requirePart(deps, 'remote').devices.manageable(actorOf(request), request.params.id);
      return {
        results: await requirePart(deps, 'remote').notify(
          { title: 'Hearth', body: 'Test notification' },
          { deviceId: device.id },
        ),
      } satisfies PushTest;
    },
  );

  app.delete(
    '/remote/devices/:id',
    { config: { access: 'guest' }, schema: { params: Type.Object({ id: Type.String({ maxLength: 100 }) }, closed) } },
    async (request, reply) => {
      requirePart(deps, 'remote').devices.revoke(actorOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
};
