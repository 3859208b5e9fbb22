import Type from 'typebox';
import { HubError } from '../../core/errors.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { closed, Device, Id, Name } from '../schemas.ts';

const PlugParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, closed);

const PairBody = Type.Object(
  {
    /** The 8 digits printed on the plug, or its QR text `HEARTH:<id>:<code>`. */
    setupCode: Type.String({ minLength: 1, maxLength: 64 }),
    name: Name,
    roomId: Type.Optional(Type.Union([Id, Type.Null()])),
  },
  closed,
);

const DiscoveredPlug = Type.Object({ id: Type.String(), model: Type.String(), firmware: Type.String(), address: Type.String(), port: Type.Integer() });

/**
 * Hearth plugs: the unclaimed ones mDNS sees on the LAN, and pairing one with its setup code
 * (docs/plug-protocol.md). Each pairing failure has its own code: `plug_not_found`,
 * `pairing_wrong_code`, `already_claimed`, `plug_unreachable`, `pairing_timeout`, ...
 */
export const plugRoutes: ApiPlugin = async (app, { deps }) => {
  const plugs = () => deps.plugs ?? (() => { throw new HubError('not_ready', 'plug support is not running'); })();

  app.get('/plugs/discovered', { config: { access: 'admin' }, schema: { response: { 200: Type.Array(DiscoveredPlug) } } }, async () => plugs().discovered());

  app.post(
    '/plugs/:id/pair',
    { config: { access: 'admin', localOnly: true }, schema: { params: PlugParams, body: PairBody, response: { 201: Device } } },
    async (request, reply) => reply.code(201).send(await plugs().pair(request.params.id, request.body, actorOf(request))),
  );
};
