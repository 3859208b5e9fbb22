import type {
  DiscoveredPlug as DiscoveredPlugView,
  FirmwareImage,
  PlugRolloutView,
  PlugUpdateView,
} from '@hearth/model/api';
import Type from 'typebox';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { requirePart } from '../require-part.ts';
import { closed, Device, Id, Name } from '../schemas.ts';

const PlugParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, closed);

export const PairBody = Type.Object(
  {
    /** The 8 digits printed on the plug, or its QR text `HEARTH:<id>:<code>`. */
    setupCode: Type.String({ minLength: 1, maxLength: 64 }),
    name: Name,
    roomId: Type.Optional(Type.Union([Id, Type.Null()])),
  },
  closed,
);

const Manifest = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 63 }),
    version: Type.String({ minLength: 5, maxLength: 23 }),
    size: Type.Integer({ minimum: 1 }),
    sha256: Type.String({ minLength: 44, maxLength: 44 }),
  },
  closed,
);
/** A signed image: the manifest, the release key's signature over it, the bytes in base64. */
export const FirmwareBody = Type.Object(
  { manifest: Manifest, sig: Type.String({ minLength: 88, maxLength: 88 }), image: Type.String({ minLength: 4 }) },
  closed,
);
export const UpdateBody = Type.Object(
  { version: Type.String({ minLength: 5, maxLength: 23 }), downgrade: Type.Optional(Type.Boolean()) },
  closed,
);
export const RolloutBody = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 63 }),
    version: Type.String({ minLength: 5, maxLength: 23 }),
    /** Default: every paired plug of the model not on that version. */
    plugs: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 500 })),
    /** Plugs per wave after the first (which is one plug). */
    waveSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
    downgrade: Type.Optional(Type.Boolean()),
  },
  closed,
);
/** Firmware uploads are bigger than any other request: a 1.875 MB slot is 2.5 MB of base64. */
const FIRMWARE_BODY_LIMIT = 3 * 1024 * 1024;

const DiscoveredPlug = Type.Object({
  id: Type.String(),
  model: Type.String(),
  firmware: Type.String(),
  address: Type.String(),
  port: Type.Integer(),
});

/**
 * Hearth plugs: the unclaimed ones mDNS sees on the LAN, and pairing one with its setup code
 * (docs/plug-protocol.md). Each pairing failure has its own code: `plug_not_found`,
 * `pairing_wrong_code`, `already_claimed`, `plug_unreachable`, `pairing_timeout`, ...
 */
export const plugRoutes: ApiPlugin = async (app, { deps }) => {
  app.get(
    '/plugs/discovered',
    { config: { access: 'admin' }, schema: { response: { 200: Type.Array(DiscoveredPlug) } } },
    async () => (await requirePart(deps, 'plugs').discovered()) satisfies DiscoveredPlugView[],
  );

  app.post(
    '/plugs/:id/pair',
    {
      config: { access: 'admin', localOnly: true },
      schema: { params: PlugParams, body: PairBody, response: { 201: Device } },
    },
    async (request, reply) =>
      reply.code(201).send(await requirePart(deps, 'plugs').pair(request.params.id, request.body, actorOf(request))),
  );

  // Firmware updates (docs/plug-protocol.md "Firmware update"): images signed by a release key
  // the hub trusts (plugs.firmwareKeys), one update per plug, progress in GET and plug.update events.
  app.post(
    '/plugs/firmware',
    { bodyLimit: FIRMWARE_BODY_LIMIT, config: { access: 'admin' }, schema: { body: FirmwareBody } },
    async (request, reply) =>
      reply
        .code(201)
        .send(requirePart(deps, 'plugs').addFirmware(request.body, actorOf(request)) satisfies FirmwareImage),
  );
  app.get(
    '/plugs/firmware',
    { config: { access: 'admin' } },
    async () => requirePart(deps, 'plugs').firmware() satisfies FirmwareImage[],
  );
  app.post(
    '/plugs/:id/update',
    { config: { access: 'admin' }, schema: { params: PlugParams, body: UpdateBody } },
    async (request, reply) =>
      reply
        .code(202)
        .send(await requirePart(deps, 'plugs').startUpdate(request.params.id, request.body, actorOf(request))),
  );
  // Many plugs in waves: one first, then groups; the first failure pauses it (rollout.ts). Same
  // roles as one plug's update; one rollout at a time (409 rollout_in_progress).
  app.post('/plugs/rollout', { config: { access: 'admin' }, schema: { body: RolloutBody } }, async (request, reply) =>
    reply.code(202).send(requirePart(deps, 'plugs').startRollout(request.body, actorOf(request))),
  );
  app.get(
    '/plugs/rollout',
    { config: { access: 'admin' } },
    async () => ({ rollout: requirePart(deps, 'plugs').rolloutView() }) satisfies PlugRolloutView,
  );
  app.post('/plugs/rollout/resume', { config: { access: 'admin' } }, async (request) =>
    requirePart(deps, 'plugs').resumeRollout(actorOf(request)),
  );
  app.post('/plugs/rollout/cancel', { config: { access: 'admin' } }, async (request) =>
    requirePart(deps, 'plugs').cancelRollout(actorOf(request)),
  );
  app.get(
    '/plugs/:id/update',
    { config: { access: 'admin' }, schema: { params: PlugParams } },
    async (request) => requirePart(deps, 'plugs').update(request.params.id, actorOf(request)) satisfies PlugUpdateView,
  );
};
