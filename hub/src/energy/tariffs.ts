import { HubError } from '../core/errors.ts';

/**
 * The home's electricity tariffs: one currency, and a list of versions, each in force from a
 * local date (midnight in the home's time zone) until the next one starts. A version has a
 * default price per kWh and optional time-of-use windows: local wall-clock times on some
 * weekdays with their own price. Windows are wall times, so across a DST change a window keeps
 * its local hours (02:00–03:00 lasts two hours on the autumn day and does not happen in spring).
 */
export interface TariffWindow {
  /** ISO weekdays the window applies on, 1 = Monday … 7 = Sunday; absent: every day. */
  days?: number[];
  /** Local wall time 'HH:MM', inclusive. */
  from: string;
  /** Local wall time 'HH:MM' ('24:00' = the end of the day), exclusive; after `from`. */
  to: string;
  /** Price per kWh in the currency's major unit (0.1234 EUR). */
  price: number;
}

export interface Tariff {
  name: string;
  /** The local date it is in force from, 'YYYY-MM-DD'. */
  validFrom: string;
  /** Price per kWh outside every window. */
  price: number;
  windows: TariffWindow[];
}

export interface TariffPlan {
  /** ISO 4217 code ('EUR'), or null when no tariff is set. */
  currency: string | null;
  /** Oldest first. */
  tariffs: Tariff[];
}

/** Bounds on what one home may store (and every cost query walks): tested refusals. */
export const MAX_TARIFFS = 24;
export const MAX_WINDOWS = 48;

export const EMPTY_PLAN: TariffPlan = { currency: null, tariffs: [] };

/** Minutes after local midnight of 'HH:MM' (0..1440). */
export function wallMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
}

/** Milliseconds of the UTC date with the fields of the local date 'YYYY-MM-DD' (a "wall" date). */
export function wallDate(date: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d);
}

const fieldError = (path: string, message: string) =>
  new HubError('validation_failed', message, { location: 'body', path, field: path.split('.').pop() });

/**
 * Checks a plan beyond its JSON schema (which checks the shapes and the 'HH:MM' and date
 * patterns): the bounds, real dates, windows that end after they start and do not overlap on any
 * day, one version per start date. Returns it sorted oldest first.
 */
export function checkPlan(plan: TariffPlan): TariffPlan {
  if (plan.tariffs.length > MAX_TARIFFS)
    throw new HubError('energy_tariffs_too_many', `at most ${MAX_TARIFFS} tariffs`, { max: MAX_TARIFFS });
  if (plan.tariffs.length > 0 && !plan.currency)
    throw fieldError('currency', 'a currency is needed once there is a tariff');
  const seen = new Set<number>();
  plan.tariffs.forEach((t, i) => {
    const day = wallDate(t.validFrom);
    if (!Number.isFinite(day) || new Date(day).toISOString().slice(0, 10) !== t.validFrom)
      throw fieldError(`tariffs.${i}.validFrom`, `'${t.validFrom}' is not a date`);
    if (seen.has(day))
      throw new HubError('energy_tariff_duplicate', `two tariffs start on ${t.validFrom}`, { validFrom: t.validFrom });
    seen.add(day);
    if (t.windows.length > MAX_WINDOWS)
      throw new HubError('energy_schedule_too_large', `at most ${MAX_WINDOWS} windows in a tariff`, {
        max: MAX_WINDOWS,
        tariff: i,
      });
    // Per weekday, the minutes each window covers must not meet another's.
    const byDay: [number, number, number][][] = [[], [], [], [], [], [], []];
    t.windows.forEach((w, j) => {
      const from = wallMinutes(w.from);
      const to = wallMinutes(w.to);
      if (from >= 1440 || to > 1440 || to <= from)
        throw fieldError(`tariffs.${i}.windows.${j}.to`, `window ${w.from}–${w.to} must end after it starts, by 24:00`);
      for (const d of new Set(w.days ?? [1, 2, 3, 4, 5, 6, 7])) byDay[d - 1]!.push([from, to, j]);
    });
    for (const list of byDay) {
      list.sort((a, b) => a[0] - b[0]);
      for (let k = 1; k < list.length; k++) {
        if (list[k]![0] < list[k - 1]![1])
          throw new HubError('energy_schedule_overlap', `windows ${list[k - 1]![2]} and ${list[k]![2]} overlap`, {
            tariff: i,
            windows: [list[k - 1]![2], list[k]![2]],
          });
      }
    }
  });
  return { currency: plan.currency, tariffs: [...plan.tariffs].sort((a, b) => a.validFrom.localeCompare(b.validFrom)) };
}
