import type { HandoverInvite, HandoverStatus } from '@hearth/model/api';
import Type from 'typebox';
import { SUPPORT_DAYS_MAX } from '../../auth/handover.ts';
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX, USERNAME_PATTERN } from '../../auth/policy.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { closed, IdParams, Session, User } from '../schemas.ts';

export const InviteBody = Type.Object(
  { supportDays: Type.Optional(Type.Integer({ minimum: 0, maximum: SUPPORT_DAYS_MAX })) },
  closed,
);
export const AcceptBody = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 64 }),
    username: Type.String({ minLength: 1, maxLength: USERNAME_MAX, pattern: USERNAME_PATTERN }),
    password: Type.String({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX }),
  },
  closed,
);
export const SupportBody = Type.Object({ days: Type.Integer({ minimum: 1, maximum: SUPPORT_DAYS_MAX }) }, closed);

/**
 * Installer → owner handover (hub/src/auth/handover.ts): the installer makes the one-time owner
 * invite, the homeowner accepts it on the LAN, the owner sees, extends and revokes the
 * installer's support grant. Admins and the installer may read the status.
 */
export const handoverRoutes: ApiPlugin = async (app, { deps }) => {
  app.get(
    '/handover',
    { config: { access: 'admin' } },
    async () => deps.auth.handover.status() satisfies HandoverStatus,
  );

  // Declared for admin rank; the service refuses anyone but the installer (`forbidden`).
  app.post(
    '/handover/owner-invite',
    { config: { access: 'admin' }, schema: { body: InviteBody } },
    async (request, reply) => {
      return reply
        .code(201)
        .send(deps.auth.handover.inviteOwner(actorOf(request), request.body ?? {}) satisfies HandoverInvite);
    },
  );

  app.post(
    '/handover/accept',
    {
      // Also before any account exists: `hearth-admin invite-owner` may invite on a fresh hub.
      config: { access: 'public', beforeSetup: true, localOnly: true },
      schema: { body: AcceptBody, response: { 201: Type.Intersect([Session, Type.Object({ user: User })]) } },
    },
    async (request, reply) => reply.code(201).send(await deps.auth.acceptOwnerInvite(request.body, request.ip)),
  );

  app.put(
    '/handover/support/:id',
    { config: { access: 'owner' }, schema: { params: IdParams, body: SupportBody } },
    async (request) => deps.auth.handover.extendSupport(actorOf(request), request.params.id, request.body.days),
  );

  app.delete(
    '/handover/support/:id',
    { config: { access: 'owner' }, schema: { params: IdParams } },
    async (request, reply) => {
      deps.auth.handover.revokeSupport(actorOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
};
