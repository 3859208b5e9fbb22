import Type from 'typebox';
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX, USERNAME_PATTERN } from '../../auth/policy.ts';
import type { ApiPlugin } from '../deps.ts';
import { closed, Session, User } from '../schemas.ts';

export const SetupBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: USERNAME_MAX, pattern: USERNAME_PATTERN }),
    password: Type.String({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX }),
    // Optional in the schema so a missing code is the stable `setup_code_invalid`, not a 400.
    setupCode: Type.Optional(Type.String({ maxLength: 64 })),
    // `installer`: the first account sets the home up and invites the owner later (handover.ts).
    role: Type.Optional(Type.Union([Type.Literal('owner'), Type.Literal('installer')])),
  },
  closed,
);

/**
 * First run: creates the owner (or, with `role: "installer"`, the installer) and logs them in, given the one-time setup code from the hub's
 * data dir (403 `setup_code_invalid` otherwise). 409 `already_set_up` ever after.
 */
export const setupRoutes: ApiPlugin = async (app, { deps }) => {
  app.post(
    '/setup',
    {
      config: { access: 'public', beforeSetup: true, localOnly: true },
      schema: { body: SetupBody, response: { 201: Type.Intersect([Session, Type.Object({ user: User })]) } },
    },
    async (request, reply) => {
      const result = await deps.auth.setup(request.body, request.ip);
      return reply.code(201).send(result);
    },
  );
};
