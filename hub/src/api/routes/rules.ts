import type { DryRunResult, RuleDiff, RuleSummary, RuleTrace, RuleVersion } from '@hearth/model/api';
import Type from 'typebox';
import { HubError } from '../../core/errors.ts';
import { parseRange } from '../range.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { requirePart } from '../require-part.ts';
import { closed, Id, IdParams } from '../schemas.ts';

/**
 * The rule body is checked by the rules part itself (`validateRule`), item by item, so an error
 * names the exact field (`details.path`: `actions.2.then.0.for`); the route schema only requires
 * a JSON object.
 */
export const RuleBody = Type.Record(Type.String(), Type.Unknown());
const RuleView = Type.Object(
  { id: Type.String(), name: Type.String(), enabled: Type.Boolean(), version: Type.Integer() },
  { additionalProperties: true },
);
const VersionParams = Type.Object({ id: Id, version: Type.Integer({ minimum: 1 }) }, closed);
const TracesQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) }, closed);
const DiffQuery = Type.Object({ from: Type.Integer({ minimum: 1 }), to: Type.Integer({ minimum: 1 }) }, closed);
export const RevertBody = Type.Object({ version: Type.Integer({ minimum: 1 }) }, closed);
const RunQuery = Type.Object({ conditions: Type.Optional(Type.Boolean()) }, closed);
export const DryRunBody = Type.Object(
  {
    /** A saved rule by id, or an unsaved definition. */
    ruleId: Type.Optional(Id),
    rule: Type.Optional(RuleBody),
    from: Type.String({ minLength: 1, maxLength: 40 }),
    to: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
  },
  closed,
);

/** Rules: members read, run and dry-run them; admins change them. */
export const ruleRoutes: ApiPlugin = async (app, { deps }) => {
  app.get(
    '/rules',
    { config: { access: 'member' }, schema: { response: { 200: Type.Array(RuleView) } } },
    async () => requirePart(deps, 'rules').list() satisfies RuleSummary[],
  );

  app.post(
    '/rules',
    { config: { access: 'admin' }, schema: { body: RuleBody, response: { 201: RuleView } } },
    async (request, reply) => {
      return reply
        .code(201)
        .send(requirePart(deps, 'rules').create(request.body, actorOf(request)) satisfies RuleSummary);
    },
  );

  // Replays a rule against recorded history; answers when it would have fired and what it did.
  app.post('/rules/dry-run', { config: { access: 'member' }, schema: { body: DryRunBody } }, async (request) => {
    const body = request.body;
    const rules = requirePart(deps, 'rules');
    if ((body.ruleId === undefined) === (body.rule === undefined)) {
      throw new HubError('validation_failed', "body: give either 'ruleId' or 'rule'", {
        location: 'body',
        path: 'rule',
        field: 'rule',
        rule: 'oneOf',
      });
    }
    const { from, to } = parseRange({ from: body.from, to: body.to }, deps.clock.now());
    return rules.dryRun(
      { ruleId: body.ruleId, rule: body.rule },
      from,
      to,
      actorOf(request),
      deps.history,
    ) satisfies Promise<DryRunResult>;
  });

  app.get(
    '/rules/:id',
    { config: { access: 'member' }, schema: { params: IdParams, response: { 200: RuleView } } },
    async (request) => requirePart(deps, 'rules').get(request.params.id) satisfies RuleSummary,
  );

  app.put(
    '/rules/:id',
    { config: { access: 'admin' }, schema: { params: IdParams, body: RuleBody, response: { 200: RuleView } } },
    async (request) => {
      return requirePart(deps, 'rules').update(request.params.id, request.body, actorOf(request)) satisfies RuleSummary;
    },
  );

  app.delete('/rules/:id', { config: { access: 'admin' }, schema: { params: IdParams } }, async (request, reply) => {
    requirePart(deps, 'rules').remove(request.params.id, actorOf(request));
    return reply.code(204).send();
  });

  for (const [path, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    app.post(
      `/rules/:id/${path}`,
      { config: { access: 'admin' }, schema: { params: IdParams, response: { 200: RuleView } } },
      async (request) => {
        return requirePart(deps, 'rules').setEnabled(request.params.id, enabled, actorOf(request));
      },
    );
  }

  // Starts the actions now (conditions skipped unless `?conditions=true`); 202 with the run id.
  app.post(
    '/rules/:id/run',
    { config: { access: 'member' }, schema: { params: IdParams, querystring: RunQuery } },
    async (request, reply) => {
      return reply
        .code(202)
        .send(requirePart(deps, 'rules').run(request.params.id, actorOf(request), request.query.conditions === true));
    },
  );

  app.get(
    '/rules/:id/traces',
    { config: { access: 'member' }, schema: { params: IdParams, querystring: TracesQuery } },
    async (request) => {
      return requirePart(deps, 'rules').traces(request.params.id, request.query.limit ?? 50) satisfies RuleTrace[];
    },
  );

  app.get(
    '/rules/:id/versions',
    { config: { access: 'member' }, schema: { params: IdParams } },
    async (request) => requirePart(deps, 'rules').versions(request.params.id) satisfies RuleVersion[],
  );

  app.get(
    '/rules/:id/versions/:version',
    { config: { access: 'member' }, schema: { params: VersionParams } },
    async (request) => {
      return requirePart(deps, 'rules').version(request.params.id, request.params.version);
    },
  );

  app.get(
    '/rules/:id/diff',
    { config: { access: 'member' }, schema: { params: IdParams, querystring: DiffQuery } },
    async (request) => {
      return requirePart(deps, 'rules').diff(
        request.params.id,
        request.query.from,
        request.query.to,
      ) satisfies RuleDiff;
    },
  );

  app.post(
    '/rules/:id/revert',
    { config: { access: 'admin' }, schema: { params: IdParams, body: RevertBody, response: { 200: RuleView } } },
    async (request) => {
      return requirePart(deps, 'rules').revert(request.params.id, request.body.version, actorOf(request));
    },
  );
};
