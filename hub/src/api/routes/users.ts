import Type from 'typebox';
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX, USERNAME_PATTERN } from '../../auth/policy.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { closed, IdParams, User } from '../schemas.ts';

const Role = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member'), Type.Literal('guest')]);
const Password = Type.String({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX });

export const CreateBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: USERNAME_MAX, pattern: USERNAME_PATTERN }),
    password: Password,
    role: Role,
  },
  closed,
);
// At least one field: an empty change would only leave a misleading audit row.
export const UpdateBody = Type.Object(
  { role: Type.Optional(Role), password: Type.Optional(Password) },
  { ...closed, minProperties: 1 },
);

/**
 * People in the household: owners and admins manage them (rules in hub/src/auth/user-admin.ts).
 * Removing a user or changing their role also revokes their remote devices; without the remote
 * part (API tests) there are none to revoke.
 */
export const userRoutes: ApiPlugin = async (app, { deps }) => {
  const revokeRemote = (userId: string): number => deps.remote?.devices.revokeUser(userId) ?? 0;

  app.get('/users', { config: { access: 'admin' }, schema: { response: { 200: Type.Array(User) } } }, async () =>
    deps.auth.users.list(),
  );

  app.post(
    '/users',
    { config: { access: 'admin' }, schema: { body: CreateBody, response: { 201: User } } },
    async (request, reply) => {
      return reply.code(201).send(await deps.auth.users.create(actorOf(request), request.body));
    },
  );

  app.patch(
    '/users/:id',
    { config: { access: 'admin' }, schema: { params: IdParams, body: UpdateBody, response: { 200: User } } },
    async (request) => deps.auth.users.update(actorOf(request), request.params.id, request.body, revokeRemote),
  );

  app.delete('/users/:id', { config: { access: 'admin' }, schema: { params: IdParams } }, async (request, reply) => {
    deps.auth.users.remove(actorOf(request), request.params.id, revokeRemote);
    return reply.code(204).send();
  });
};
