import { DAY } from './tiers.ts';
import type { EnergyPeriod, Period } from './query.ts';
import type { Zone } from './zone.ts';

/** How far back an energy query reaches when it names no `from`: 30 days, 12 weeks, a year. */
export const ENERGY_DEFAULT_SPAN: Record<Period, number> = { day: 30 * DAY, week: 12 * 7 * DAY, month: 365 * DAY };

export interface EnergyBucket {
  t: number;
  /** Local start and end, ISO 8601 with the zone's offset. */
  start: string;
  end: string;
  /** 24 for most days; 23 or 25 on a DST day. */
  hours: number;
  kWh: number;
  exact: boolean;
}

export interface EnergyReport {
  period: Period;
  unit: 'kWh';
  tz: string;
  total: number;
  buckets: EnergyBucket[];
}

/** The local periods as the API answers them: bounds in the zone's offset, hours, and a total. */
export function energyReport(period: Period, rows: EnergyPeriod[], zone: Zone): EnergyReport {
  const buckets = rows.map((r) => ({
    t: r.t,
    start: zone.iso(r.t),
    end: zone.iso(r.end),
    hours: (r.end - r.t) / 3_600_000,
    kWh: r.value,
    exact: r.exact,
  }));
  const total = buckets.reduce((sum, b) => sum + b.kWh, 0);
  return { period, unit: 'kWh', tz: zone.name, total: Math.round(total * 1e6) / 1e6, buckets };
}
