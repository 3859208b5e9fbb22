import type { HubUpdateView } from '@hearth/model/api';
import type { Readable } from 'node:stream';
import Type from 'typebox';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { requirePart } from '../require-part.ts';
import { closed } from '../schemas.ts';

const Release = Type.Object(
  { manifest: Type.String({ minLength: 2, maxLength: 16_384 }), sig: Type.String({ minLength: 1, maxLength: 200 }) },
  closed,
);
export const StartBody = Type.Object(
  {
    /** The signed release (omitted after a fetch, which staged its own). */
    release: Type.Optional(Release),
    /** An older version, or the same one again, only with this. */
    confirmDowngrade: Type.Optional(Type.Boolean()),
    /** For the backup taken first, as for POST /backups. */
    passphrase: Type.String({ minLength: 8, maxLength: 1024 }),
  },
  closed,
);

/**
 * Hub self-update (docs/update.md). Owner only, and everything that changes something is local
 * only (403 `local_only` through the relay): an update replaces every line of code the hub
 * runs and its start makes a backup with a caller-chosen passphrase, so a stolen phone enrolled
 * for the owner may watch an update's progress but not start one. Even the owner can only
 * install what a trusted release key signed.
 */
export const updateRoutes: ApiPlugin = async (app, { deps }) => {
  // The package arrives as the raw body and is streamed to disk under update.maxPackageMb, never
  // held in memory (this parser is registered in this plugin only).
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

  app.put('/update/package', { config: { access: 'owner', localOnly: true } }, async (request, reply) => {
    const declared = Number(request.headers['content-length']);
    const made = await requirePart(deps, 'update').receivePackage(
      request.body as Readable,
      Number.isFinite(declared) ? declared : undefined,
    );
    deps.audit.record({ actor: actorOf(request), action: 'update.upload', details: made, at: deps.clock.now() });
    return reply.code(201).send(made);
  });

  app.post('/update/fetch', { config: { access: 'owner', localOnly: true } }, async (request) => {
    const got = await requirePart(deps, 'update').fetchRelease();
    deps.audit.record({ actor: actorOf(request), action: 'update.fetch', details: got, at: deps.clock.now() });
    return got;
  });

  app.post(
    '/update',
    { config: { access: 'owner', localOnly: true }, schema: { body: StartBody } },
    async (request, reply) => {
      const started = await requirePart(deps, 'update').start(request.body);
      deps.audit.record({
        actor: actorOf(request),
        action: 'update.start',
        target: started.id,
        details: { from: started.from, to: started.to, backupId: started.backupId },
        at: deps.clock.now(),
      });
      return reply.code(202).send(started);
    },
  );

  app.get(
    '/update',
    { config: { access: 'owner' } },
    async () => requirePart(deps, 'update').view() satisfies HubUpdateView,
  );
};
