import type { BackupFile, BackupRecordings, BackupSchedule } from '@hearth/model/api';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import Type from 'typebox';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { requireBackupPart, requirePart } from '../require-part.ts';
import { closed } from '../schemas.ts';
import { HubError } from '../../core/errors.ts';
import { KEEP_MAX, TIME_PATTERN } from '../../backup/schedule.ts';

export const CreateBody = Type.Object(
  {
    /** Chosen by the owner; the only way to open the file. Long, so argon2id has something to hold. */
    passphrase: Type.String({ minLength: 8, maxLength: 1024 }),
    /** Also the camera recordings (closed segments): off unless asked; their size is GET /backups/recordings. */
    recordings: Type.Optional(Type.Boolean()),
  },
  closed,
);
const Size = Type.Object({ files: Type.Integer(), bytes: Type.Integer() });
const Backup = Type.Object({
  id: Type.String(),
  bytes: Type.Integer(),
  createdAt: Type.Number(),
  recordings: Type.Optional(Size),
});
export const ScheduleBody = Type.Object(
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
  app.post(
    '/backups',
    { config: { access: 'owner', localOnly: true }, schema: { body: CreateBody, response: { 201: Backup } } },
    async (request, reply) => {
      const made = await requirePart(deps, 'backup').create(request.body.passphrase, {
        recordings: request.body.recordings === true,
      });
      deps.audit.record({
        actor: actorOf(request),
        action: 'backup.create',
        target: made.id,
        details: { bytes: made.bytes, ...(made.recordings ? { recordings: made.recordings } : {}) },
        at: deps.clock.now(),
      });
      return reply.code(201).send(made satisfies BackupFile);
    },
  );

  // What the recordings would add, for the owner to see before opting in. Reading it remotely
  // tells no more than the camera pages do; making the backup stays local only.
  app.get(
    '/backups/recordings',
    {
      config: { access: 'owner' },
      schema: {
        response: { 200: Type.Object({ files: Type.Integer(), bytes: Type.Integer(), maxBytes: Type.Integer() }) },
      },
    },
    async () => requirePart(deps, 'backup').recordings() satisfies BackupRecordings,
  );

  app.get(
    '/backups',
    { config: { access: 'owner' }, schema: { response: { 200: Type.Array(Backup) } } },
    async () => requirePart(deps, 'backup').list() satisfies BackupFile[],
  );

  // The nightly schedule (docs/backup.md "Schedule"). Reading it works remotely (the owner
  // checks their backups are fine from anywhere); changing it is local only: a stolen phone
  // must not switch the backups off or set a passphrase of its own choosing.
  const schedule = () => requireBackupPart(deps, 'schedule');
  app.get(
    '/backups/schedule',
    { config: { access: 'owner' } },
    async () => schedule().status() satisfies BackupSchedule,
  );

  app.put(
    '/backups/schedule',
    { config: { access: 'owner', localOnly: true }, schema: { body: ScheduleBody } },
    async (request) => {
      const { passphrase, ...rest } = request.body;
      const status = await schedule().set({ ...rest, ...(passphrase !== undefined ? { passphrase } : {}) });
      deps.audit.record({
        actor: actorOf(request),
        action: 'backup.schedule',
        target: 'schedule',
        details: { ...rest, passphraseChanged: passphrase !== undefined },
        at: deps.clock.now(),
      });
      return status satisfies BackupSchedule;
    },
  );

  // A scheduled backup now: sealed with the stored key into backup.dir; nothing leaves the hub.
  app.post(
    '/backups/schedule/run',
    { config: { access: 'owner' }, schema: { response: { 201: Backup } } },
    async (request, reply) => {
      const made = await schedule().runNow();
      deps.audit.record({
        actor: actorOf(request),
        action: 'backup.create',
        target: made.id,
        details: { bytes: made.bytes, scheduled: true },
        at: deps.clock.now(),
      });
      return reply.code(201).send(made);
    },
  );

  // "Restore from a backup" on a new hub (docs/backup.md "First-run restore"): before setup only,
  // with the setup code (only someone at the hub can read it, so a guest on the Wi-Fi cannot put
  // a home of their own onto a new hub), on the home network. The .hbk is the raw body, streamed
  // to disk; the passphrase comes percent-encoded in a header (headers are ASCII).
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
  app.post(
    '/setup/restore',
    { config: { access: 'public', beforeSetup: true, localOnly: true } },
    async (request, reply) => {
      const firstRun = requireBackupPart(deps, 'firstRun');
      const header = (name: string): string | undefined => {
        const value = request.headers[name];
        return typeof value === 'string' && value.length > 0 && value.length <= 4096 ? value : undefined;
      };
      await deps.auth.requireSetupCode(header('x-setup-code'), request.ip);
      let passphrase: string | undefined;
      try {
        passphrase =
          header('x-backup-passphrase') === undefined ? undefined : decodeURIComponent(header('x-backup-passphrase')!);
      } catch {
        passphrase = undefined;
      }
      if (!passphrase)
        throw new HubError(
          'validation_failed',
          "the backup's passphrase is missing (header x-backup-passphrase, percent-encoded)",
          { field: 'passphrase' },
        );
      if (typeof request.body !== 'object' || request.body === null || !('pipe' in request.body))
        throw new HubError('validation_failed', 'send the .hbk file as the body (application/octet-stream)', {
          field: 'file',
        });
      const manifest = await firstRun.accept(request.body as Readable, passphrase);
      reply.raw.once('finish', () => firstRun.restart());
      return reply
        .code(202)
        .send({ restarting: true, home: manifest.home, createdAt: manifest.createdAt, counts: manifest.counts });
    },
  );

  app.get(
    '/backups/:id/file',
    {
      config: { access: 'owner', localOnly: true },
      schema: { params: Type.Object({ id: Type.String({ maxLength: 100 }) }) },
    },
    async (request, reply) => {
      const file = requirePart(deps, 'backup').file(request.params.id);
      deps.audit.record({
        actor: actorOf(request),
        action: 'backup.download',
        target: request.params.id,
        details: {},
        at: deps.clock.now(),
      });
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-disposition', `attachment; filename="${file.name}"`)
        .header('content-length', file.bytes)
        .send(createReadStream(file.path));
    },
  );
};
