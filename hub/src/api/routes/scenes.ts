import Type from 'typebox';
import { HubError } from '../../core/errors.ts';
import type { RulesService } from '../../rules/service.ts';
import { actorOf } from '../access.ts';
import type { ApiDeps, ApiPlugin } from '../deps.ts';
import { IdParams } from '../schemas.ts';

/** Checked by the rules part (`validateScene`) so errors name the field (`states.1.value`). */
const SceneBody = Type.Record(Type.String(), Type.Unknown());

function rulesOf(deps: ApiDeps): RulesService {
  if (!deps.rules) throw new HubError('not_ready', 'rules are not running');
  return deps.rules;
}

/** Saved scenes: members list and activate them (commands as themselves); admins change them. */
export const sceneRoutes: ApiPlugin = async (app, { deps }) => {
  app.get('/scenes', { config: { access: 'member' } }, async () => rulesOf(deps).listScenes());

  app.post('/scenes', { config: { access: 'admin' }, schema: { body: SceneBody } }, async (request, reply) => {
    return reply.code(201).send(rulesOf(deps).saveScene(undefined, request.body, actorOf(request)));
  });

  app.get('/scenes/:id', { config: { access: 'member' }, schema: { params: IdParams } }, async (request) => rulesOf(deps).getScene(request.params.id));

  app.put('/scenes/:id', { config: { access: 'admin' }, schema: { params: IdParams, body: SceneBody } }, async (request) => {
    return rulesOf(deps).saveScene(request.params.id, request.body, actorOf(request));
  });

  app.delete('/scenes/:id', { config: { access: 'admin' }, schema: { params: IdParams } }, async (request, reply) => {
    rulesOf(deps).removeScene(request.params.id, actorOf(request));
    return reply.code(204).send();
  });

  // Answers once every device confirmed or failed, with each outcome (200 even if some failed).
  app.post('/scenes/:id/activate', { config: { access: 'member' }, schema: { params: IdParams } }, async (request) => {
    return rulesOf(deps).activateScene(request.params.id, actorOf(request));
  });
};
