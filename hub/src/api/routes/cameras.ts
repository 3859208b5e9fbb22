import type { Camera as CameraView, CameraStorage, Recordings as RecordingsView } from '@hearth/model/api';
import { createReadStream } from 'node:fs';
import Type from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { UserActor } from '../../auth/service.ts';
import { HubError } from '../../core/errors.ts';
import { hasRole } from '../../devices/access.ts';
import { parseByteRange } from '../../recorder/byte-range.ts';
import { cameraForViewer, type CameraViewer, recordingsForViewer } from '../../recorder/views.ts';
import { parseRange } from '../range.ts';
import { actorOf, WS_CLOSE_UNAUTHORIZED } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { requirePart } from '../require-part.ts';
import { REMOTE_RANGE_MAX_MS } from '../remote.ts';
import { closed, IdParams, Name } from '../schemas.ts';

const Mode = Type.Union([Type.Literal('continuous'), Type.Literal('events'), Type.Literal('off')]);
const TriggerLink = Type.Object(
  {
    device: Type.String({ minLength: 1, maxLength: 64 }),
    capability: Type.String({ minLength: 1, maxLength: 64 }),
    value: Type.Optional(Type.Union([Type.Boolean(), Type.Number(), Type.String({ maxLength: 64 })])),
  },
  closed,
);
const Days = Type.Integer({ minimum: 1, maximum: 3650 });
const Settings = Type.Object(
  {
    continuousDays: Days,
    eventDays: Days,
    preRollS: Type.Integer({ minimum: 0, maximum: 120 }),
    postRollS: Type.Integer({ minimum: 1, maximum: 600 }),
    triggers: Type.Array(TriggerLink, { maxItems: 32 }),
    motion: Type.Boolean(),
    motionThreshold: Type.Number({ minimum: 0.001, maximum: 1 }),
  },
  closed,
);
const SettingsPatch = Type.Partial(Settings, closed);
const Url = Type.String({ minLength: 1, maxLength: 2048 });
export const CameraBody = Type.Object(
  {
    name: Name,
    url: Url,
    subUrl: Type.Optional(Url),
    mode: Type.Optional(Mode),
    settings: Type.Optional(SettingsPatch),
  },
  closed,
);
/** `subUrl: null` removes the sub stream. */
export const CameraPatch = Type.Object(
  {
    name: Type.Optional(Name),
    subUrl: Type.Optional(Type.Union([Url, Type.Null()])),
    mode: Type.Optional(Mode),
    settings: Type.Optional(SettingsPatch),
  },
  closed,
);
/** Which stream live view and HLS carry: the recorded main stream (default) or the sub stream. */
const StreamQuery = Type.Optional(Type.Union([Type.Literal('main'), Type.Literal('sub')]));
const Alert = Type.Union([Type.Object({ code: Type.String(), since: Type.String() }), Type.Null()]);
const Camera = Type.Object({
  id: Type.String(),
  name: Type.String(),
  /** Password masked as `***`; only admins get it (recorder/views.ts cameraForViewer). */
  url: Type.Optional(Type.String()),
  codec: Type.String(),
  width: Type.Integer(),
  height: Type.Integer(),
  fps: Type.Number(),
  sub: Type.Union([
    Type.Object({
      url: Type.Optional(Type.String()),
      codec: Type.String(),
      width: Type.Integer(),
      height: Type.Integer(),
      fps: Type.Number(),
    }),
    Type.Null(),
  ]),
  mode: Mode,
  /** Not for guests. */
  settings: Type.Optional(Settings),
  /** recording | starting | unavailable | off | storage_full */
  state: Type.String(),
  available: Type.Boolean(),
  alert: Alert,
  createdAt: Type.String(),
});
const Clip = Type.Object({
  id: Type.Integer(),
  cameraId: Type.String(),
  at: Type.String(),
  start: Type.String(),
  end: Type.String(),
  source: Type.String(),
});
export const ClipBody = Type.Object({ seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 600 })) }, closed);
const Storage = Type.Object({
  usedBytes: Type.Integer(),
  freeBytes: Type.Integer(),
  budgetBytes: Type.Integer(),
  minFreeBytes: Type.Integer(),
  reservedBytes: Type.Integer(),
  exportBytes: Type.Integer(),
  exportBudgetBytes: Type.Integer(),
  alert: Alert,
});
const RangeQuery = Type.Object(
  { from: Type.Optional(Type.String({ maxLength: 40 })), to: Type.Optional(Type.String({ maxLength: 40 })) },
  closed,
);
const Recordings = Type.Object({
  cameraId: Type.String(),
  from: Type.String(),
  to: Type.String(),
  segments: Type.Array(
    Type.Object({ start: Type.String(), end: Type.String(), bytes: Type.Integer(), kind: Type.String() }),
  ),
  clips: Type.Array(Clip),
  events: Type.Array(
    Type.Object({
      at: Type.String(),
      kind: Type.String(),
      details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    }),
  ),
});

const HlsGrant = Type.Object({ playlist: Type.String(), expiresAt: Type.String() });
const HlsParams = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64 }),
    ticket: Type.String({ minLength: 1, maxLength: 64 }),
    file: Type.String({ minLength: 1, maxLength: 32 }),
  },
  closed,
);
/** How long a first playlist request waits for the window to hold two segments. */
const HLS_READY_MS = 10_000;

/** Queued bytes a live viewer may have (a few seconds of a 4 Mbit/s camera), then it is dropped. */
const LIVE_MAX_BUFFERED = 4 * 1024 * 1024;

/**
 * Cameras: members watch and play back; admins add and remove them. A guest reaches only cameras
 * shared with them (devices/sharing.ts): the others answer like unknown ones (`camera_not_found`),
 * and a live view closes when the share ends. Making a clip needs a share to control.
 */
export const cameraRoutes: ApiPlugin = async (app, { deps }) => {
  const guestTickets = new GuestTickets(() => deps.clock.now());
  const reach = (request: FastifyRequest, id: string, need: 'view' | 'control' = 'view'): void => {
    const got = deps.registry.sharing.reach(actorOf(request), { kind: 'camera', id });
    if (got === 'none') throw new HubError('camera_not_found', `no camera ${id}`, { id });
    if (need === 'control' && got !== 'control')
      throw new HubError('share_view_only', `camera ${id} is shared to view only`);
  };
  // Source URLs are for those who configure cameras; guests get only what watching needs.
  const viewer = (request: FastifyRequest): CameraViewer => {
    const actor = actorOf(request);
    return hasRole(actor, 'admin') ? 'admin' : hasRole(actor, 'member') ? 'member' : 'guest';
  };

  app.get(
    '/cameras',
    { config: { access: 'guest' }, schema: { response: { 200: Type.Array(Camera) } } },
    async (request) =>
      requirePart(deps, 'recorder')
        .list()
        .filter((c) => deps.registry.sharing.sees(actorOf(request), { kind: 'camera', id: c.id }))
        .map((c) => cameraForViewer(c, viewer(request))) satisfies CameraView[],
  );

  app.post(
    '/cameras',
    { config: { access: 'admin' }, schema: { body: CameraBody, response: { 201: Camera } } },
    async (request, reply) => {
      return reply.code(201).send(await requirePart(deps, 'recorder').add(request.body, actorOf(request)));
    },
  );

  // Storage figures and the floor alert (static path: matched before /cameras/:id).
  app.get(
    '/cameras/storage',
    { config: { access: 'member' }, schema: { response: { 200: Storage } } },
    async () => requirePart(deps, 'recorder').storageView() satisfies CameraStorage,
  );

  app.get(
    '/cameras/:id',
    { config: { access: 'guest' }, schema: { params: IdParams, response: { 200: Camera } } },
    async (request) => {
      reach(request, request.params.id);
      return cameraForViewer(
        requirePart(deps, 'recorder').get(request.params.id),
        viewer(request),
      ) satisfies CameraView;
    },
  );

  app.patch(
    '/cameras/:id',
    { config: { access: 'admin' }, schema: { params: IdParams, body: CameraPatch, response: { 200: Camera } } },
    async (request) => {
      return requirePart(deps, 'recorder').update(request.params.id, request.body, actorOf(request));
    },
  );

  // An event clip now ("record this"), as a rule action or a linked sensor would make one.
  app.post(
    '/cameras/:id/clips',
    { config: { access: 'guest' }, schema: { params: IdParams, body: ClipBody, response: { 201: Clip } } },
    async (request, reply) => {
      reach(request, request.params.id, 'control');
      const actor = actorOf(request);
      const clip = requirePart(deps, 'recorder').clip(request.params.id, {
        ...request.body,
        source: 'user',
        details: actor.kind === 'user' ? { user: actor.username } : {},
      });
      return reply.code(201).send(clip);
    },
  );

  app.delete('/cameras/:id', { config: { access: 'admin' }, schema: { params: IdParams } }, async (request, reply) => {
    await requirePart(deps, 'recorder').remove(request.params.id, actorOf(request));
    deps.registry.sharing.forget('camera', request.params.id);
    return reply.code(204).send();
  });

  app.get(
    '/cameras/:id/recordings',
    {
      config: { access: 'guest' },
      schema: { params: IdParams, querystring: RangeQuery, response: { 200: Recordings } },
    },
    async (request) => {
      reach(request, request.params.id);
      const { from, to } = parseRange(request.query, deps.clock.now());
      const recordings = requirePart(deps, 'recorder').recordings(request.params.id, from, to);
      return recordingsForViewer(recordings, viewer(request)) satisfies RecordingsView;
    },
  );

  // Playback and export: the same stream-copied file, served with Range support so a player
  // seeks in it; the export adds a download name. Each ffmpeg run counts against the user's
  // export bound (429 too_many_exports); through the relay a range is at most a minute.
  for (const [path, download] of [
    ['/cameras/:id/playback', false],
    ['/cameras/:id/clip', true],
  ] as const) {
    app.get(
      path,
      { config: { access: 'guest' }, schema: { params: IdParams, querystring: RangeQuery } },
      async (request, reply) => {
        reach(request, request.params.id);
        const { from, to } = parseRange(request.query, deps.clock.now(), { defaultSpan: 60_000 });
        const file = await requirePart(deps, 'recorder').exportRange(request.params.id, from, to, {
          user: actorOf(request).userId,
          // The remote hook refuses longer ones first (remote_range_too_long); this holds anyway.
          ...(request.remote ? { maxMs: REMOTE_RANGE_MAX_MS } : {}),
        });
        const range = parseByteRange(request.headers.range, file.bytes);
        reply.type('video/mp4').header('accept-ranges', 'bytes').header('cache-control', 'private, no-store');
        if (download) reply.header('content-disposition', `attachment; filename="${fileName(file.cameraName, from)}"`);
        if (!range) return reply.header('content-length', file.bytes).send(createReadStream(file.path));
        return reply
          .code(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${file.bytes}`)
          .header('content-length', range.end - range.start + 1)
          .send(createReadStream(file.path, { start: range.start, end: range.end }));
      },
    );
  }

  app.get(
    '/cameras/:id/snapshot',
    { config: { access: 'guest' }, schema: { params: IdParams } },
    async (request, reply) => {
      reach(request, request.params.id);
      const jpeg = await requirePart(deps, 'recorder').snapshot(request.params.id);
      return reply.type('image/jpeg').header('cache-control', 'no-store').send(jpeg);
    },
  );

  // HLS fallback for browsers without MSE. A session gets a ticket (see RecorderService.hlsTicket);
  // the playlist and its segments are fetched with it, by players that cannot send headers.
  app.post(
    '/cameras/:id/hls',
    {
      config: { access: 'guest' },
      schema: {
        params: IdParams,
        querystring: Type.Object({ stream: StreamQuery }, closed),
        response: { 201: HlsGrant },
      },
    },
    async (request, reply) => {
      reach(request, request.params.id);
      const { ticket, expiresAt } = requirePart(deps, 'recorder').hlsTicket(
        request.params.id,
        request.accessExpiresAt,
        request.query.stream ?? 'main',
      );
      // A guest's ticket is good only while the camera is still shared with them.
      const actor = actorOf(request);
      if (!hasRole(actor, 'member')) guestTickets.hold(ticket, expiresAt, actor);
      return reply.code(201).send({
        playlist: `/api/v1/cameras/${encodeURIComponent(request.params.id)}/hls/${ticket}/index.m3u8`,
        expiresAt: new Date(expiresAt).toISOString(),
      });
    },
  );

  app.get(
    '/cameras/:id/hls/:ticket/:file',
    { config: { access: 'public' }, schema: { params: HlsParams } },
    async (request, reply) => {
      const { id, ticket, file } = request.params;
      const guest = guestTickets.of(ticket);
      if (guest && !deps.registry.sharing.sees(guest, { kind: 'camera', id }))
        throw new HubError('camera_not_found', `no camera ${id}`, { id });
      const hls = requirePart(deps, 'recorder').hls(id, ticket);
      reply.header('cache-control', 'no-store');
      if (file === 'index.m3u8') {
        // A window just opened fills within two GOPs; a player asking meanwhile waits for it.
        if (!(await hls.ready(2, HLS_READY_MS))) throw new HubError('live_not_ready', 'no live video yet', { id });
        return reply.type('application/vnd.apple.mpegurl').send(hls.playlist());
      }
      const media =
        file === 'init.mp4'
          ? hls.init
          : /^seg-(\d{1,12})\.m4s$/.test(file)
            ? hls.segment(Number(/\d+/.exec(file)![0]))
            : undefined;
      if (!media) throw new HubError('recording_not_found', 'no such HLS part (segments last a few seconds)', { file });
      return reply.type(file === 'init.mp4' ? 'video/mp4' : 'video/iso.segment').send(media);
    },
  );

  // Live view: fragmented MP4 over a WebSocket, binary messages: the init segment (ftyp + moov)
  // first, then one moof + mdat per message, ready for a Media Source Extensions SourceBuffer.
  app.route({
    method: 'GET',
    url: '/cameras/:id/live',
    config: { access: 'guest' },
    schema: {
      params: IdParams,
      querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 2048 })), stream: StreamQuery }, closed),
    },
    handler: async () => {
      throw new HubError('upgrade_required', 'this endpoint speaks WebSocket');
    },
    wsHandler: (socket, request) => {
      let unwatch: () => void = () => {};
      try {
        reach(request, request.params.id);
        unwatch = requirePart(deps, 'recorder').watch(
          request.params.id,
          {
            send: (data) => {
              if (socket.bufferedAmount > LIVE_MAX_BUFFERED) return false;
              socket.send(data, { binary: true });
              return true;
            },
            close: () => socket.close(1013, 'too slow or stopped'),
          },
          request.query.stream ?? 'main',
        );
      } catch (err) {
        socket.close(4404, err instanceof HubError ? err.code : 'internal_error');
        return;
      }
      // The session ends with its access token, as on the events socket, and at once when the
      // user is removed, re-roled or has their password reset.
      const expiry = deps.clock.setTimeout(
        () => socket.close(WS_CLOSE_UNAUTHORIZED, 'token_expired'),
        Math.max(0, request.accessExpiresAt - deps.clock.now()),
      );
      const { userId } = actorOf(request);
      const unlisten = deps.bus.on('api.camera-live', 'user.sessions_ended', (ended) => {
        if (ended.userId === userId) socket.close(WS_CLOSE_UNAUTHORIZED, 'unauthorized');
      });
      // Opened with a key for scripts: it ends when the key is revoked.
      const keyId = actorOf(request).token?.id;
      const unlistenKey = keyId
        ? deps.bus.on('api.camera-live', 'api_token.revoked', (revoked) => {
            if (revoked.tokenIds.includes(keyId)) socket.close(WS_CLOSE_UNAUTHORIZED, 'unauthorized');
          })
        : () => {};
      // A guest's share of this camera ended (its time, its window, or removed): the view ends.
      const cameraId = request.params.id;
      const unlistenShare = deps.bus.on('api.camera-live', 'share.changed', (changed) => {
        if (changed.userId !== userId) return;
        if (!deps.registry.sharing.sees(actorOf(request), { kind: 'camera', id: cameraId }))
          socket.close(4404, 'camera_not_found');
      });
      socket.on('close', () => {
        unwatch();
        expiry.cancel();
        unlisten();
        unlistenKey();
        unlistenShare();
      });
    },
  });
};

/** `porch-2026-11-23T12-00-00Z.mp4`: the camera's name made safe for a header and a file system. */
function fileName(cameraName: string, from: number): string {
  const base =
    cameraName
      .normalize('NFKD')
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .toLowerCase() || 'camera';
  return `${base}-${new Date(from).toISOString().slice(0, 19).replace(/:/g, '-')}Z.mp4`;
}

/**
 * HLS tickets handed to guests, with whom they were for: the playlist and segments are fetched
 * without a token, so the share is checked again on each fetch. Expired tickets are dropped at
 * each new one; there are never more than the recorder's own live tickets.
 */
class GuestTickets {
  readonly #now: () => number;
  readonly #tickets = new Map<string, { expiresAt: number; actor: UserActor }>();
  constructor(now: () => number) {
    this.#now = now;
  }
  hold(ticket: string, expiresAt: number, actor: UserActor): void {
    const now = this.#now();
    for (const [t, held] of this.#tickets) if (held.expiresAt <= now) this.#tickets.delete(t);
    this.#tickets.set(ticket, { expiresAt, actor });
  }
  of(ticket: string): UserActor | undefined {
    return this.#tickets.get(ticket)?.actor;
  }
}
