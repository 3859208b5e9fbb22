import type { Scene, SceneActivation } from '@hearth/model/api';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { HubError } from '../../core/errors.ts';
import { hasRole } from '../../devices/access.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { requirePart } from '../require-part.ts';
import { IdParams } from '../schemas.ts';

/** Checked by the rules part (`validateScene`) so errors name the field (`states.1.value`). */
const SceneBody = Type.Record(Type.String(), Type.Unknown());

/**
 * Saved scenes: members list and activate them (commands as themselves); admins change them. A
 * guest reaches only scenes shared with them (devices/sharing.ts; others are `scene_not_found`),
 * sees only the states of devices they reach, and activates one shared to control: its devices are
 * then commanded as the scene (`system` actor `scene:<id>`), the activation audited as the guest.
 */
export const sceneRoutes: ApiPlugin = async (app, { deps }) => {
  const { sharing } = deps.registry;
  const reach = (request: FastifyRequest, id: string, need: 'view' | 'control' = 'view'): void => {
    const got = sharing.reach(actorOf(request), { kind: 'scene', id });
    if (got === 'none') throw new HubError('scene_not_found', `no scene ${id}`);
    if (need === 'control' && got !== 'control')
      throw new HubError('share_view_only', `scene ${id} is shared to view only`);
  };
  // What a guest sees of a scene: the states of devices they reach, nothing of the others.
  const forViewer = <S extends { states: { device: string }[] }>(request: FastifyRequest, scene: S): S => {
    const actor = actorOf(request);
    if (hasRole(actor, 'member')) return scene;
    return { ...scene, states: scene.states.filter((st) => deps.registry.canSee(actor, st.device)) };
  };

  app.get(
    '/scenes',
    { config: { access: 'guest' } },
    async (request) =>
      requirePart(deps, 'rules')
        .listScenes()
        .filter((sc) => sharing.sees(actorOf(request), { kind: 'scene', id: sc.id }))
        .map((sc) => forViewer(request, sc)) satisfies Scene[],
  );

  app.post('/scenes', { config: { access: 'admin' }, schema: { body: SceneBody } }, async (request, reply) => {
    return reply.code(201).send(requirePart(deps, 'rules').saveScene(undefined, request.body, actorOf(request)));
  });

  app.get('/scenes/:id', { config: { access: 'guest' }, schema: { params: IdParams } }, async (request) => {
    reach(request, request.params.id);
    return forViewer(request, requirePart(deps, 'rules').getScene(request.params.id));
  });

  app.put(
    '/scenes/:id',
    { config: { access: 'admin' }, schema: { params: IdParams, body: SceneBody } },
    async (request) => {
      return requirePart(deps, 'rules').saveScene(request.params.id, request.body, actorOf(request));
    },
  );

  app.delete('/scenes/:id', { config: { access: 'admin' }, schema: { params: IdParams } }, async (request, reply) => {
    requirePart(deps, 'rules').removeScene(request.params.id, actorOf(request));
    sharing.forget('scene', request.params.id);
    return reply.code(204).send();
  });

  // Answers once every device confirmed or failed, with each outcome (200 even if some failed).
  app.post('/scenes/:id/activate', { config: { access: 'guest' }, schema: { params: IdParams } }, async (request) => {
    const actor = actorOf(request);
    const rules = requirePart(deps, 'rules');
    if (hasRole(actor, 'member'))
      return rules.activateScene(request.params.id, actor) satisfies Promise<SceneActivation>;
    reach(request, request.params.id, 'control');
    return rules.activateScene(request.params.id, actor, {
      kind: 'system',
      part: `scene:${request.params.id}`,
    }) satisfies Promise<SceneActivation>;
  });
};
