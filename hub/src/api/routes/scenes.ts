import type { Scene, SceneActivation } from '@hearth/model/api';
import Type from 'typebox';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { requirePart } from '../require-part.ts';
import { IdParams } from '../schemas.ts';

/** Checked by the rules part (`validateScene`) so errors name the field (`states.1.value`). */
const SceneBody = Type.Record(Type.String(), Type.Unknown());

/** Saved scenes: members list and activate them (commands as themselves); admins change them. */
export const sceneRoutes: ApiPlugin = async (app, { deps }) => {
  app.get(
    '/scenes',
    { config: { access: 'member' } },
    async () => requirePart(deps, 'rules').listScenes() satisfies Scene[],
  );

  app.post('/scenes', { config: { access: 'admin' }, schema: { body: SceneBody } }, async (request, reply) => {
    return reply.code(201).send(requirePart(deps, 'rules').saveScene(undefined, request.body, actorOf(request)));
  });

  app.get('/scenes/:id', { config: { access: 'member' }, schema: { params: IdParams } }, async (request) =>
    requirePart(deps, 'rules').getScene(request.params.id),
  );

  app.put(
    '/scenes/:id',
    { config: { access: 'admin' }, schema: { params: IdParams, body: SceneBody } },
    async (request) => {
      return requirePart(deps, 'rules').saveScene(request.params.id, request.body, actorOf(request));
    },
  );

  app.delete('/scenes/:id', { config: { access: 'admin' }, schema: { params: IdParams } }, async (request, reply) => {
    requirePart(deps, 'rules').removeScene(request.params.id, actorOf(request));
    return reply.code(204).send();
  });

  // Answers once every device confirmed or failed, with each outcome (200 even if some failed).
  app.post('/scenes/:id/activate', { config: { access: 'member' }, schema: { params: IdParams } }, async (request) => {
    return requirePart(deps, 'rules').activateScene(
      request.params.id,
      actorOf(request),
    ) satisfies Promise<SceneActivation>;
  });
};
