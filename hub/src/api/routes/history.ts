import type { EnergyReport, HistorySeries, HistoryStorage } from '@hearth/model/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { Actor } from '@hearth/model/values';
import { HubError } from '../../core/errors.ts';
import { hasRole } from '../../devices/access.ts';
import { toCsv } from '../../history/csv.ts';
import { MAX_POINTS } from '../../history/query.ts';
import { ENERGY_DEFAULT_SPAN } from '../../history/energy-report.ts';
import { DAY } from '../../history/tiers.ts';
import { canonicalTimeZone } from '../../history/zone.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { parseRange, type RangeOptions } from '../range.ts';
import { requirePart } from '../require-part.ts';
import { closed, Id } from '../schemas.ts';

const Time = Type.String({ minLength: 1, maxLength: 40 });
const Format = Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')]));
const Capability = Type.String({ minLength: 1, maxLength: 64 });

const HistoryQuery = Type.Object(
  {
    device: Id,
    capability: Capability,
    from: Type.Optional(Time),
    to: Type.Optional(Time),
    points: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_POINTS })),
    /** Forces a tier; raw is limited to one day at a time. */
    tier: Type.Optional(Type.Union(['raw', 'minute', 'hour', 'day'].map((t) => Type.Literal(t)))),
    format: Format,
  },
  closed,
);

const EnergyQuery = Type.Object(
  {
    device: Id,
    period: Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')]),
    from: Type.Optional(Time),
    to: Type.Optional(Time),
    /** IANA time zone of the periods; default the home's (setting `home.timezone`), else the hub's. */
    tz: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    format: Format,
  },
  closed,
);

const EventsQuery = Type.Object(
  {
    device: Type.Optional(Id),
    kind: Type.Optional(Type.Union([Type.Literal('state'), Type.Literal('availability'), Type.Literal('command')])),
    capability: Type.Optional(Capability),
    from: Type.Optional(Time),
    to: Type.Optional(Time),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    /** An event id: returns older events (the `nextBefore` of the previous page). */
    before: Type.Optional(Type.Integer({ minimum: 1 })),
    format: Format,
  },
  closed,
);

const Point = Type.Object({ t: Type.Number(), min: Type.Number(), max: Type.Number(), mean: Type.Number() });

function wantsCsv(request: FastifyRequest, format: string | undefined): boolean {
  if (format) return format === 'csv';
  return /\btext\/csv\b/.test(request.headers.accept ?? '');
}

function sendCsv(reply: FastifyReply, name: string, header: string[], rows: unknown[][]): FastifyReply {
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name.replace(/[^\w.-]/g, '_')}.csv"`)
    .send(toCsv(header, rows));
}

const iso = (t: number) => new Date(t).toISOString();

/**
 * An event's actor as a guest sees it: their own actions as recorded, anyone else's (a person, a
 * rule, the hub) as its kind only (`{kind: "user"}`): who else uses the device is not theirs to know.
 */
function guestActor(recorded: unknown, viewer: Actor): unknown {
  if (recorded === null || typeof recorded !== 'object') return recorded;
  const a = recorded as Partial<Actor>;
  if (a.kind === 'user' && viewer.kind === 'user' && 'userId' in a && a.userId === viewer.userId) return recorded;
  return { kind: a.kind ?? 'unknown' };
}

/** The history routes keep their own code for a reversed range (documented, matched by clients). */
const HISTORY_RANGE: RangeOptions = { invalidCode: 'history_range_invalid' };

/**
 * History: telemetry charts (`/history`), energy per period (`/energy`), the event log
 * (`/history/events`) and what it all costs on disk (`/history/storage`). Every data route takes
 * `format=csv` or `Accept: text/csv`. The device is checked first through the registry, so an
 * unknown or unseen device is a 404 before any query runs.
 */
export const historyRoutes: ApiPlugin = async (app, { deps }) => {
  const { registry, clock } = deps;

  const requireCapability = (deviceId: string, capability: string, request: FastifyRequest) => {
    const device = registry.get(deviceId, actorOf(request));
    if (!device.capabilities.includes(capability)) {
      throw new HubError('capability_not_found', `device ${deviceId} has no ${capability}`, { deviceId, capability });
    }
  };

  app.get(
    '/history',
    {
      config: { access: 'guest' },
      schema: {
        querystring: HistoryQuery,
        response: { 200: Type.Object({ tier: Type.String(), points: Type.Array(Point) }) },
      },
    },
    async (request, reply) => {
      const q = request.query;
      requireCapability(q.device, q.capability, request);
      const { from, to } = parseRange(q, clock.now(), HISTORY_RANGE);
      const result = requirePart(deps, 'history').history(
        q.device,
        q.capability,
        from,
        to,
        q.points ?? 500,
        q.tier as 'raw' | 'minute' | 'hour' | 'day' | undefined,
      );
      if (wantsCsv(request, q.format)) {
        return sendCsv(
          reply,
          `history-${q.device}-${q.capability}`,
          ['time', 'epoch_ms', 'min', 'max', 'mean'],
          result.points.map((p) => [iso(p.t), p.t, p.min, p.max, p.mean]),
        );
      }
      return result satisfies HistorySeries;
    },
  );

  app.get(
    '/energy',
    {
      config: { access: 'guest' },
      schema: {
        querystring: EnergyQuery,
        response: {
          200: Type.Object({
            period: Type.String(),
            unit: Type.String(),
            tz: Type.String(),
            total: Type.Number(),
            buckets: Type.Array(
              Type.Object({
                t: Type.Number(),
                start: Type.String(),
                end: Type.String(),
                hours: Type.Number(),
                kWh: Type.Number(),
                exact: Type.Boolean(),
              }),
            ),
          }),
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      let tz: string | undefined;
      if (q.tz !== undefined) {
        tz = canonicalTimeZone(q.tz);
        if (!tz)
          throw new HubError('validation_failed', "querystring: 'tz' must be an IANA time zone (Europe/Berlin)", {
            location: 'querystring',
            field: 'tz',
            rule: 'timezone',
          });
      }
      requireCapability(q.device, 'energy', request);
      const history = requirePart(deps, 'history');
      const { from, to } = parseRange(q, clock.now(), { ...HISTORY_RANGE, defaultSpan: ENERGY_DEFAULT_SPAN[q.period] });
      // Periods are local: a DST day has 23 or 25 hours; start and end carry the zone's offset.
      const report = history.energyReport(q.device, q.period, from, to, tz);
      if (wantsCsv(request, q.format)) {
        return sendCsv(
          reply,
          `energy-${q.device}-${q.period}`,
          ['start', 'end', 'epoch_ms', 'kwh', 'exact', 'tz'],
          report.buckets.map((b) => [b.start, b.end, b.t, b.kWh, b.exact, report.tz]),
        );
      }
      return report satisfies EnergyReport;
    },
  );

  app.get(
    '/history/events',
    { config: { access: 'guest' }, schema: { querystring: EventsQuery } },
    async (request, reply) => {
      const q = request.query;
      const actor = actorOf(request);
      if (q.device) registry.get(q.device, actor);
      const range = parseRange(q, clock.now(), { ...HISTORY_RANGE, defaultSpan: 3650 * DAY });
      const { to } = range;
      // A guest reads a device's log only from when it was shared with them (checked per row below too).
      const since = (deviceId: string) => registry.sharing.sharedSince(actor, { kind: 'device', id: deviceId });
      const from = q.device ? Math.max(range.from, since(q.device) ?? range.from) : range.from;
      const limit = q.limit ?? 100;
      const rows = requirePart(deps, 'history').events({
        deviceId: q.device,
        kind: q.kind,
        capability: q.capability,
        from,
        to,
        before: q.before,
        limit,
      });
      const nextBefore = rows.length === limit ? rows[rows.length - 1]!.id : null;
      // Events of devices this actor may not see are left out, like the devices themselves; a
      // guest gets only those since their share and nobody else's identity (guestActor).
      const guest = !hasRole(actor, 'member');
      const events = rows
        .filter((r) => registry.canSee(actor, r.deviceId) && r.at >= (since(r.deviceId) ?? r.at))
        .map((r) => ({ ...r, at: iso(r.at), ...(guest ? { actor: guestActor(r.actor, actor) } : {}) }));
      if (wantsCsv(request, q.format)) {
        return sendCsv(
          reply,
          'events',
          ['id', 'at', 'device', 'kind', 'capability', 'value', 'previous', 'actor', 'outcome'],
          events.map((e) => [e.id, e.at, e.deviceId, e.kind, e.capability, e.value, e.previous, e.actor, e.outcome]),
        );
      }
      return { events, nextBefore };
    },
  );

  app.get(
    '/history/storage',
    { config: { access: 'admin' } },
    async () => requirePart(deps, 'history').storageReport() satisfies HistoryStorage,
  );
};
