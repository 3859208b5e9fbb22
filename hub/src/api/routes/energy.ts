import type { EnergyCycle, EnergySummary, StandbyReport, TariffPlan } from '@hearth/model/api';
import Type from 'typebox';
import { HubError } from '../../core/errors.ts';
import { ENERGY_DEFAULT_SPAN } from '../../history/energy-report.ts';
import { canonicalTimeZone } from '../../history/zone.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { parseRange } from '../range.ts';
import { requirePart } from '../require-part.ts';
import { closed, Id, IdParams } from '../schemas.ts';

const Time = Type.String({ minLength: 1, maxLength: 40 });
const Period = Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')]);
const Tz = Type.String({ minLength: 1, maxLength: 64 });

const SummaryQuery = Type.Object(
  { period: Type.Optional(Period), from: Type.Optional(Time), to: Type.Optional(Time), tz: Type.Optional(Tz) },
  closed,
);
const CostsQuery = Type.Object(
  {
    device: Id,
    period: Type.Optional(Period),
    from: Type.Optional(Time),
    to: Type.Optional(Time),
    tz: Type.Optional(Tz),
  },
  closed,
);
const StandbyQuery = Type.Object({ device: Type.Optional(Id) }, closed);
const CyclesQuery = Type.Object({ device: Id, from: Type.Optional(Time), to: Type.Optional(Time) }, closed);

// The shapes only; the bounds (how many tariffs and windows), real dates, overlaps and
// duplicates are checked by energy/tariffs.ts with their own codes.
const Price = Type.Number({ minimum: 0, maximum: 1000 });
const WallTime = Type.String({ pattern: '^(([01]\\d|2[0-3]):[0-5]\\d|24:00)$' });
const Window = Type.Object(
  {
    days: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), { minItems: 1, maxItems: 7, uniqueItems: true }),
    ),
    from: WallTime,
    to: WallTime,
    price: Price,
  },
  closed,
);
const Tariff = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 80 }),
    validFrom: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
    price: Price,
    // A generous cap for the schema; the stated bound (energy_schedule_too_large) is lower.
    windows: Type.Array(Window, { maxItems: 1000 }),
  },
  closed,
);
export const Plan = Type.Object(
  {
    currency: Type.Union([Type.String({ pattern: '^[A-Z]{3}$' }), Type.Null()]),
    tariffs: Type.Array(Tariff, { maxItems: 1000 }),
  },
  closed,
);
export const RoleBody = Type.Object(
  { role: Type.Union([Type.Literal('mains'), Type.Literal('production'), Type.Null()]) },
  closed,
);

function zoneOf(tz: string | undefined): string | undefined {
  if (tz === undefined) return undefined;
  const zone = canonicalTimeZone(tz);
  if (!zone)
    throw new HubError('validation_failed', "querystring: 'tz' must be an IANA time zone (Europe/Berlin)", {
      location: 'querystring',
      field: 'tz',
      rule: 'timezone',
    });
  return zone;
}

/**
 * Energy insight (hub/src/energy/): the home's summary, cost per device, standby, the home's
 * tariffs and the devices' roles. Everyone reads what concerns the devices they see (the
 * registry's visibility check, inside the service); owner and admin set tariffs and roles.
 */
export const energyRoutes: ApiPlugin = async (app, { deps }) => {
  const { clock } = deps;

  app.get(
    '/energy/summary',
    { config: { access: 'guest' }, schema: { querystring: SummaryQuery } },
    async (request) => {
      const q = request.query;
      const tz = zoneOf(q.tz);
      const period = q.period ?? 'day';
      const energy = requirePart(deps, 'energy');
      const { from, to } = parseRange(q, clock.now(), { defaultSpan: ENERGY_DEFAULT_SPAN[period] });
      return energy.summary(actorOf(request), period, from, to, tz) satisfies EnergySummary;
    },
  );

  app.get('/energy/costs', { config: { access: 'guest' }, schema: { querystring: CostsQuery } }, async (request) => {
    const q = request.query;
    const tz = zoneOf(q.tz);
    const period = q.period ?? 'day';
    const energy = requirePart(deps, 'energy');
    const { from, to } = parseRange(q, clock.now(), { defaultSpan: ENERGY_DEFAULT_SPAN[period] });
    return energy.costs(actorOf(request), q.device, period, from, to, tz);
  });

  app.get(
    '/energy/standby',
    { config: { access: 'guest' }, schema: { querystring: StandbyQuery } },
    async (request) => {
      const q = request.query;
      const report = requirePart(deps, 'energy').standby(actorOf(request), q.device);
      if (!q.device) return report satisfies StandbyReport;
      // One device: the figures the issue names, and how they were found.
      const d = report.devices[0]!;
      return {
        device: d.id,
        watts: d.watts,
        kwhPerYear: d.kwhPerYear,
        costPerYear: d.costPerYear,
        currency: report.currency,
        minutes: d.minutes,
        drawingMinutes: d.drawingMinutes,
        method: report.method,
      };
    },
  );

  app.get('/energy/cycles', { config: { access: 'guest' }, schema: { querystring: CyclesQuery } }, async (request) => {
    const q = request.query;
    const energy = requirePart(deps, 'energy');
    const { from, to } = parseRange(q, clock.now());
    return energy.cycles(actorOf(request), q.device, from, to) satisfies EnergyCycle[];
  });

  app.get(
    '/energy/tariffs',
    { config: { access: 'member' } },
    async () => requirePart(deps, 'energy').plan() satisfies TariffPlan,
  );

  app.put(
    '/energy/tariffs',
    { config: { access: 'admin' }, schema: { body: Plan } },
    async (request) => requirePart(deps, 'energy').setPlan(request.body, actorOf(request)) satisfies TariffPlan,
  );

  app.get('/energy/roles', { config: { access: 'guest' } }, async (request) =>
    requirePart(deps, 'energy').roles(actorOf(request)),
  );

  app.put(
    '/energy/roles/:id',
    { config: { access: 'admin' }, schema: { params: IdParams, body: RoleBody } },
    async (request) => requirePart(deps, 'energy').setRole(request.params.id, request.body.role, actorOf(request)),
  );
};
