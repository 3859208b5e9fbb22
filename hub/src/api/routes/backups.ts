import { createReadStream } from 'node:fs';
import Type from 'typebox';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { requirePart } from '../require-part.ts';
import { closed } from '../schemas.ts';
import { HubError } from '../../core/errors.ts';
import { KEEP_MAX, TIME_PATTERN } from '../../backup/schedule.ts';

const CreateBody = Type.Object(
  {
    /** Chosen by the owner; the only way to open the file. Long, so argon2id has something to hold. */
    passphrase: Type.String({ minLength: 8, maxLength: 1024 }),
  },
  closed,
);
const Backup = Type.Object({ id: Type.String(), bytes: Type.Integer(), createdAt: Type.Number() });
const ScheduleBody = Type.Object(
  {
    enabled: Type.Boolean(),
    /** Local time of the nightly run, HH:MM in the home's time zone. */
    time: Type.String({ pattern: TIME_PATTERN }),
    keep: Type.Integer({ minimum: 1, maximum: KEEP_MAX }),
    /** Also store each one at the relay (sealed; the relay cannot open it). */
    offsite: Type.Optional(Type.Boolean()),
    /** Sets the schedule's passphrase (stored as a derived key, never as text: schedule-key.ts). */
    passphrase: Type.Optional(Type.String({ minLength: 8, maxLength: 1024 })),
  },
  closed,
);

/**
 * Encrypted backups of the whole home (docs/backup.md). Owner only: a backup holds every key
 * the hub has, so even an admin may not take one away (the passphrase protects the file, not
 * the act of making it).
 */
export const backupRoutes: ApiPlugin = async (app, { deps }) => {

  // Local only: a backup holds every key of the home, and its passphrase is the caller's choice,
  // so a stolen phone enrolled for the owner must not make one and carry it off through the relay.
  app.post('/backups', { config: { access: 'owner', localOnly: true }, schema: { body: CreateBody, response: { 201: Backup } } }, async (request, reply) => {
    const made = await requirePart(deps, 'backup').create(request.body.passphrase);
    deps.audit.record({ actor: actorOf(request), action: 'backup.create', target: made.id, details: { bytes: made.bytes }, at: deps.clock.now() });
    return reply.code(201).send(made);
  });

  app.get('/backups', { config: { access: 'owner' }, schema: { response: { 200: Type.Array(Backup) } } }, async () => requirePart(deps, 'backup').list());

  // The nightly schedule (docs/backup.md "Schedule"). Reading it works remotely (the owner
  // checks their backups are fine from anywhere); changing it is local only: a stolen phone
  // must not switch the backups off or set a passphrase of its own choosing.
  const schedule = () => requirePart(deps, 'backup').schedule ?? (() => { throw new HubError('not_ready', 'scheduled backups are not available'); })();
  app.get('/backups/schedule', { config: { access: 'owner' } }, async () => schedule().status());

  app.put('/backups/schedule', { config: { access: 'owner', localOnly: true }, schema: { body: ScheduleBody } }, async (request) => {
    const { passphrase, ...rest } = request.body;
    const status = await schedule().set({ ...rest, ...(passphrase !== undefined ? { passphrase } : {}) });
    deps.audit.record({ actor: actorOf(request), action: 'backup.schedule', target: 'schedule', details: { ...rest, passphraseChanged: passphrase !== undefined }, at: deps.clock.now() });
    return status;
  });

  // A scheduled backup now: sealed with the stored key into backup.dir; nothing leaves the hub.
  app.post('/backups/schedule/run', { config: { access: 'owner' }, schema: { response: { 201: Backup } } }, async (request, reply) => {
    const made = await schedule().runNow();
    deps.audit.record({ actor: actorOf(request), action: 'backup.create', target: made.id, details: { bytes: made.bytes, scheduled: true }, at: deps.clock.now() });
    return reply.code(201).send(made);
  });

  app.get('/backups/:id/file', { config: { access: 'owner', localOnly: true }, schema: { params: Type.Object({ id: Type.String({ maxLength: 100 }) }) } }, async (request, reply) => {
    const file = requirePart(deps, 'backup').file(request.params.id);
    deps.audit.record({ actor: actorOf(request), action: 'backup.download', target: request.params.id, details: {}, at: deps.clock.now() });
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', `attachment; filename="${file.name}"`)
      .header('content-length', file.bytes)
      .send(createReadStream(file.path));
  });
};
