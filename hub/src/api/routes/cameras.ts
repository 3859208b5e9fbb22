import Type from 'typebox';
import { HubError } from '../../core/errors.ts';
import { parseRange } from '../../history/time-params.ts';
import type { RecorderService } from '../../recorder/service.ts';
import { actorOf, WS_CLOSE_UNAUTHORIZED } from '../access.ts';
import type { ApiDeps, ApiPlugin } from '../deps.ts';
import { closed, IdParams, Name } from '../schemas.ts';

const CameraBody = Type.Object({ name: Name, url: Type.String({ minLength: 1, maxLength: 2048 }) }, closed);
const Camera = Type.Object({
  id: Type.String(),
  name: Type.String(),
  /** Password masked as `***`. */
  url: Type.String(),
  codec: Type.String(),
  width: Type.Integer(),
  height: Type.Integer(),
  fps: Type.Number(),
  available: Type.Boolean(),
  createdAt: Type.String(),
});
const RangeQuery = Type.Object({ from: Type.Optional(Type.String({ maxLength: 40 })), to: Type.Optional(Type.String({ maxLength: 40 })) }, closed);
const Recordings = Type.Object({
  cameraId: Type.String(),
  from: Type.String(),
  to: Type.String(),
  segments: Type.Array(Type.Object({ start: Type.String(), end: Type.String(), bytes: Type.Integer() })),
  events: Type.Array(Type.Object({ at: Type.String(), kind: Type.String(), details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]) })),
});

/** Queued bytes a live viewer may have (a few seconds of a 4 Mbit/s camera), then it is dropped. */
const LIVE_MAX_BUFFERED = 4 * 1024 * 1024;

function recorderOf(deps: ApiDeps): RecorderService {
  if (!deps.recorder) throw new HubError('not_ready', 'the recorder is not running');
  return deps.recorder;
}

/** Cameras: members watch and play back; admins add and remove them. */
export const cameraRoutes: ApiPlugin = async (app, { deps }) => {
  app.get('/cameras', { config: { access: 'member' }, schema: { response: { 200: Type.Array(Camera) } } }, async () => recorderOf(deps).list());

  app.post('/cameras', { config: { access: 'admin' }, schema: { body: CameraBody, response: { 201: Camera } } }, async (request, reply) => {
    return reply.code(201).send(await recorderOf(deps).add(request.body, actorOf(request)));
  });

  app.get('/cameras/:id', { config: { access: 'member' }, schema: { params: IdParams, response: { 200: Camera } } }, async (request) => recorderOf(deps).get(request.params.id));

  app.delete('/cameras/:id', { config: { access: 'admin' }, schema: { params: IdParams } }, async (request, reply) => {
    await recorderOf(deps).remove(request.params.id, actorOf(request));
    return reply.code(204).send();
  });

  app.get(
    '/cameras/:id/recordings',
    { config: { access: 'member' }, schema: { params: IdParams, querystring: RangeQuery, response: { 200: Recordings } } },
    async (request) => {
      const { from, to } = parseRange(request.query, deps.clock.now());
      return recorderOf(deps).recordings(request.params.id, from, to);
    },
  );

  app.get('/cameras/:id/playback', { config: { access: 'member' }, schema: { params: IdParams, querystring: RangeQuery } }, async (request, reply) => {
    const { from, to } = parseRange(request.query, deps.clock.now());
    const stream = recorderOf(deps).playback(request.params.id, from, to);
    return reply.type('video/mp4').send(stream);
  });

  app.get('/cameras/:id/snapshot', { config: { access: 'member' }, schema: { params: IdParams } }, async (request, reply) => {
    const jpeg = await recorderOf(deps).snapshot(request.params.id);
    return reply.type('image/jpeg').header('cache-control', 'no-store').send(jpeg);
  });

  // Live view: fragmented MP4 over a WebSocket, binary messages: the init segment (ftyp + moov)
  // first, then one moof + mdat per message, ready for a Media Source Extensions SourceBuffer.
  app.route({
    method: 'GET',
    url: '/cameras/:id/live',
    config: { access: 'member' },
    schema: { params: IdParams, querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 2048 })) }, closed) },
    handler: async () => {
      throw new HubError('upgrade_required', 'this endpoint speaks WebSocket');
    },
    wsHandler: (socket, request) => {
      let unwatch: () => void = () => {};
      try {
        unwatch = recorderOf(deps).watch(request.params.id, {
          send: (data) => {
            if (socket.bufferedAmount > LIVE_MAX_BUFFERED) return false;
            socket.send(data, { binary: true });
            return true;
          },
          close: () => socket.close(1013, 'too slow or stopped'),
        });
      } catch (err) {
        socket.close(4404, err instanceof HubError ? err.code : 'internal_error');
        return;
      }
      // The session ends with its access token, as on the events socket.
      const expiry = deps.clock.setTimeout(() => socket.close(WS_CLOSE_UNAUTHORIZED, 'token_expired'), Math.max(0, request.accessExpiresAt - deps.clock.now()));
      socket.on('close', () => { unwatch(); expiry.cancel(); });
    },
  });
};
