import type { ScriptKey } from '@hearth/model/api';
import Type from 'typebox';
import { MAX_API_TOKEN_DEVICES, MAX_API_TOKEN_NAME } from '../../auth/api-tokens.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { closed, Id, IdParams } from '../schemas.ts';

const Scope = Type.Union([Type.Literal('read'), Type.Literal('control'), Type.Literal('admin')]);

export const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: MAX_API_TOKEN_NAME }),
    scope: Scope,
    devices: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: MAX_API_TOKEN_DEVICES })),
  },
  closed,
);

const ApiToken = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scope: Scope,
  devices: Type.Union([Type.Array(Type.String()), Type.Null()]),
  createdAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
});

/**
 * Keys for scripts (hub/src/auth/api-tokens.ts): each person makes, lists and revokes their own.
 * Any role may (a guest only `read`); a key itself never reaches these routes (api/token-access.ts).
 * The secret is in the 201 answer only.
 */
export const apiTokenRoutes: ApiPlugin = async (app, { deps }) => {
  app.post(
    '/me/tokens',
    {
      config: { access: 'guest' },
      schema: { body: CreateBody, response: { 201: Type.Object({ ...ApiToken.properties, token: Type.String() }) } },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      // A key reaches only devices its person sees now: an unknown or hidden one is device_not_found.
      for (const id of request.body.devices ?? []) deps.registry.get(id, actor);
      return reply.code(201).send(deps.auth.apiTokens.create(actor, request.body));
    },
  );

  app.get(
    '/me/tokens',
    { config: { access: 'guest' }, schema: { response: { 200: Type.Array(ApiToken) } } },
    async (request) => deps.auth.apiTokens.list(actorOf(request).userId) satisfies ScriptKey[],
  );

  app.delete(
    '/me/tokens/:id',
    { config: { access: 'guest' }, schema: { params: IdParams } },
    async (request, reply) => {
      deps.auth.apiTokens.revoke(actorOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
};
