import type { ZigbeeStatus as ZigbeeStatusView } from '@hearth/model/api';
import Type from 'typebox';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { requirePart } from '../require-part.ts';
import { closed } from '../schemas.ts';

export const PermitJoinBody = Type.Object(
  {
    /** How long the network stays open for new devices; 0 closes it. Zigbee allows at most 254. */
    seconds: Type.Integer({ minimum: 0, maximum: 254 }),
  },
  closed,
);

const ZigbeeStatus = Type.Object({
  state: Type.String(),
  adapter: Type.Optional(Type.String()),
  port: Type.Optional(Type.String()),
  channel: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
  permitJoin: Type.Boolean(),
  permitJoinUntil: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  devices: Type.Optional(Type.Integer()),
  /** Failed starts since the coordinator last ran (it is retried with back-off): `starting` with failures is a retry. */
  failures: Type.Optional(Type.Integer()),
});

/**
 * The Zigbee network: its coordinator's state, and opening it so devices can join. A joining
 * device becomes a Hearth device once herdsman interviewed it (`zigbee.device` events on
 * /api/v1/events for admins: joined, interviewing, added, ...). Without a coordinator
 * configured, GET says `{state: 'off'}` and permit-join answers 503 `not_ready`.
 */
export const zigbeeRoutes: ApiPlugin = async (app, { deps }) => {
  app.get(
    '/zigbee',
    { config: { access: 'admin' }, schema: { response: { 200: ZigbeeStatus } } },
    async () => (deps.zigbee?.status() ?? { state: 'off', permitJoin: false }) satisfies ZigbeeStatusView,
  );

  app.post(
    '/zigbee/permit-join',
    { config: { access: 'admin' }, schema: { body: PermitJoinBody, response: { 200: ZigbeeStatus } } },
    async (request) => {
      return (await requirePart(deps, 'zigbee').permitJoin(
        request.body.seconds,
        actorOf(request),
      )) satisfies ZigbeeStatusView;
    },
  );
};
