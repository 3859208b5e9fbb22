import type { DevicePerson, ShareKind } from '@hearth/model/api';
import Type from 'typebox';
import { HubError } from '../../core/errors.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { closed, Id, IdParams } from '../schemas.ts';

const KINDS = ['device', 'room', 'scene', 'camera'] as const satisfies readonly ShareKind[];
const Access = Type.Union([Type.Literal('view'), Type.Literal('control')]);
const Day = Type.Union([
  Type.Literal('mon'),
  Type.Literal('tue'),
  Type.Literal('wed'),
  Type.Literal('thu'),
  Type.Literal('fri'),
  Type.Literal('sat'),
  Type.Literal('sun'),
]);
const Window = Type.Object(
  {
    days: Type.Array(Day, { minItems: 1, maxItems: 7, uniqueItems: true }),
    from: Type.String({ maxLength: 5 }),
    to: Type.String({ maxLength: 5 }),
  },
  closed,
);

export const CreateBody = Type.Object(
  {
    userId: Id,
    device: Type.Optional(Id),
    room: Type.Optional(Id),
    scene: Type.Optional(Id),
    camera: Type.Optional(Id),
    access: Access,
    /** Epoch ms or an ISO 8601 time. */
    until: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1, maxLength: 40 })])),
    windows: Type.Optional(Type.Array(Window, { maxItems: 14 })),
  },
  closed,
);

const ListQuery = Type.Object(
  {
    userId: Type.Optional(Id),
    device: Type.Optional(Id),
    room: Type.Optional(Id),
    scene: Type.Optional(Id),
    camera: Type.Optional(Id),
  },
  closed,
);

const ShareView = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  kind: Type.String(),
  targetId: Type.String(),
  access: Type.String(),
  until: Type.Union([Type.String(), Type.Null()]),
  windows: Type.Array(Window),
  active: Type.Boolean(),
  createdAt: Type.String(),
});

/** The one of device / room / scene / camera a body or query names; more than one is a 400. */
function targetOf(input: Partial<Record<ShareKind, string>>): { kind: ShareKind; targetId: string } | undefined {
  const named = KINDS.filter((k) => input[k] !== undefined);
  if (named.length > 1)
    throw new HubError('validation_failed', 'name one of device, room, scene or camera', { field: named[1] });
  const kind = named[0];
  return kind ? { kind, targetId: input[kind]! } : undefined;
}

/**
 * Sharing (hub/src/devices/sharing.ts): owners and admins share a device, a room, a scene or a
 * camera with a member or a guest, list and end shares; each person reads their own; per device,
 * who reaches it and how.
 */
export const shareRoutes: ApiPlugin = async (app, { deps }) => {
  const { sharing } = deps.registry;

  app.post(
    '/shares',
    { config: { access: 'admin' }, schema: { body: CreateBody, response: { 201: ShareView } } },
    async (request, reply) => {
      const { userId, access, windows } = request.body;
      const target = targetOf(request.body);
      if (!target) throw new HubError('validation_failed', 'name a device, room, scene or camera', { field: 'device' });
      const raw = request.body.until;
      const until = typeof raw === 'number' || raw === undefined ? raw : Date.parse(raw);
      if (until !== undefined && !Number.isSafeInteger(until))
        throw new HubError('validation_failed', "'until' must be epoch milliseconds or an ISO 8601 time", {
          location: 'body',
          field: 'until',
          rule: 'format',
        });
      const share = sharing.create(
        { userId, ...target, access, ...(until !== undefined ? { until } : {}), ...(windows ? { windows } : {}) },
        actorOf(request),
      );
      return reply.code(201).send(share);
    },
  );

  app.get(
    '/shares',
    { config: { access: 'admin' }, schema: { querystring: ListQuery, response: { 200: Type.Array(ShareView) } } },
    async (request) => {
      const target = targetOf(request.query);
      return sharing.list({
        ...(request.query.userId ? { userId: request.query.userId } : {}),
        ...(target ? { kind: target.kind, targetId: target.targetId } : {}),
      });
    },
  );

  app.delete('/shares/:id', { config: { access: 'admin' }, schema: { params: IdParams } }, async (request, reply) => {
    sharing.remove(request.params.id, actorOf(request));
    return reply.code(204).send();
  });

  // What is shared with the caller (a guest's "shared with you, until …").
  app.get(
    '/me/shares',
    { config: { access: 'guest' }, schema: { response: { 200: Type.Array(ShareView) } } },
    async (request) => sharing.list({ userId: actorOf(request).userId }),
  );

  // Per device, who reaches it: everyone at member or above by their role, and each share (of the
  // device or its room) with the person it is for.
  app.get(
    '/devices/:id/people',
    {
      config: { access: 'admin' },
      schema: {
        params: IdParams,
        response: {
          200: Type.Array(
            Type.Object({
              userId: Type.String(),
              username: Type.String(),
              role: Type.String(),
              access: Type.String(),
              via: Type.String(),
              share: Type.Union([ShareView, Type.Null()]),
            }),
          ),
        },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      deps.registry.get(request.params.id, actor);
      const users = deps.auth.users.list();
      const people: DevicePerson[] = users
        .filter((u) => u.role !== 'guest')
        .map((u) => ({
          userId: u.id,
          username: u.username,
          role: u.role,
          access: 'control',
          via: 'role',
          share: null,
        }));
      for (const share of sharing.forDevice(request.params.id)) {
        const user = users.find((u) => u.id === share.userId);
        if (!user) continue;
        people.push({
          userId: user.id,
          username: user.username,
          role: user.role,
          access: share.access,
          via: share.kind,
          share,
        });
      }
      return people;
    },
  );
};
