import Type from 'typebox';
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX, USERNAME_PATTERN } from '../../auth/policy.ts';
import type { ApiPlugin } from '../deps.ts';
import { closed, Session, User } from '../schemas.ts';

const SetupBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: USERNAME_MAX, pattern: USERNAME_PATTERN }),
    password: Type.String({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX }),
  },
  closed,
);

/** First run: creates the owner and logs them in. 409 `already_set_up` ever after. */
export const setupRoutes: ApiPlugin = async (app, { deps }) => {
  app.post(
    '/setup',
    {
      config: { access: 'public', beforeSetup: true, localOnly: true },
      schema: { body: SetupBody, response: { 201: Type.Intersect([Session, Type.Object({ user: User })]) } },
    },
    async (request, reply) => {
      const result = await deps.auth.setup(request.body);
      return reply.code(201).send(result);
    },
  );
};
