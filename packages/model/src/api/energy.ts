/** A summary's period: a local day, ISO week or month in the home's time zone. */
export type EnergyPeriod = 'day' | 'week' | 'month';

/** A meter's role: the home's mains (whole consumption) or its production; null for a consumer. */
export type EnergyRole = 'mains' | 'production';

/** GET /energy/summary: the home's consumption per period, each device's share, cost, totals. */
export interface EnergySummary {
  period: EnergyPeriod;
  tz: string;
  currency: string | null;
  /** False for someone who does not see every device (a guest): no home totals, untracked or meters they cannot see. */
  wholeHome: boolean;
  powerW: number | null;
  periods: {
    t: number;
    start: string;
    kWh: number;
    cost: number | null;
    untrackedKWh: number | null;
    productionKWh: number | null;
    /** False where data older than the hour tier (a year) was read from UTC days. */
    exact: boolean;
  }[];
  devices: {
    id: string;
    name: string;
    role: EnergyRole | null;
    powerW: number | null;
    kWh: number;
    cost: number | null;
    /** Of the home's consumption over the range (0..1); null for a meter with a role. */
    share: number | null;
  }[];
  totals: { kWh: number; cost: number | null; untrackedKWh: number | null; productionKWh: number | null };
}

/** GET /energy/standby (without `device`): what each device draws when idle, and in a year. */
export interface StandbyReport {
  currency: string | null;
  /** How the figures were found, in words. */
  method: string;
  devices: { id: string; name: string; watts: number | null; kwhPerYear: number | null; costPerYear: number | null }[];
  total: { watts: number; kwhPerYear: number; costPerYear: number | null };
}

/** A time-of-use window of a tariff: local wall-clock hours on some weekdays with their own price. */
export interface TariffWindow {
  /** ISO weekdays, 1 = Monday … 7 = Sunday; absent: every day. */
  days?: number[];
  /** Local wall time 'HH:MM', inclusive. */
  from: string;
  /** Local wall time 'HH:MM' ('24:00' = the end of the day), exclusive. */
  to: string;
  /** Price per kWh in the currency's major unit. */
  price: number;
}

/** One version of the home's tariff, in force from a local date until the next one starts. */
export interface Tariff {
  name: string;
  /** 'YYYY-MM-DD' in the home's time zone. */
  validFrom: string;
  /** Price per kWh outside every window. */
  price: number;
  windows: TariffWindow[];
}

/** GET, PUT /energy/tariffs. */
export interface TariffPlan {
  /** ISO 4217 code ('EUR'), or null when no tariff is set. */
  currency: string | null;
  /** Oldest first. */
  tariffs: Tariff[];
}

/** GET /energy/cycles: one finished appliance cycle (epoch ms), its energy, peak and cost. */
export interface EnergyCycle {
  start: number;
  end: number;
  energyWh: number;
  peakW: number;
  /** In the currency's minor unit (cents) at the price in force at its start; absent without a tariff. */
  costMinor?: number;
}

/** PUT /energy/roles/:id: what a meter measures for the home (the whole supply, own production), or nothing. */
export interface EnergyRoleBody {
  role: EnergyRole | null;
}
