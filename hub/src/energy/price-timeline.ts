import { MINUTE } from '../history/tiers.ts';
import type { Zone } from '../history/zone.ts';
import { type LocalDays, localDays } from './local-days.ts';
import { type TariffPlan, wallDate, wallMinutes } from './tariffs.ts';

/**
 * The price per kWh over [from, to) as segments: segment k holds `prices[k]` from `starts[k]` to
 * `starts[k + 1]` (the last one to `end`). NaN where no tariff is in force yet (before the first
 * version). Built once per query, day by day in the home's zone, so a cost query converts wall
 * times to instants a few times a day instead of once per hour bucket of every device.
 */
export interface PriceTimeline {
  starts: number[];
  prices: number[];
  end: number;
}

export function priceTimeline(
  plan: TariffPlan,
  zone: Zone,
  from: number,
  to: number,
  days: LocalDays = localDays(zone, from, to),
): PriceTimeline {
  const starts: number[] = [];
  const prices: number[] = [];
  const push = (t: number, price: number) => {
    const last = starts.length - 1;
    // A window that begins where the previous segment began (or in a DST gap) replaces it.
    if (last >= 0 && t <= starts[last]!) {
      prices[last] = price;
      if (last > 0 && Object.is(prices[last - 1], price)) {
        starts.pop();
        prices.pop();
      }
      return;
    }
    if (last >= 0 && Object.is(prices[last], price)) return;
    starts.push(t);
    prices.push(price);
  };
  const validFrom = plan.tariffs.map((t) => wallDate(t.validFrom));
  const bounds = days.starts;
  for (let k = 0; k + 1 < bounds.length; k++) {
    const start = bounds[k]!;
    const end = bounds[k + 1]!;
    // The local date of this day (a midnight lost to a spring-forward gap starts later that day).
    const wallDay = days.walls[k]!;
    let i = -1;
    while (i + 1 < validFrom.length && validFrom[i + 1]! <= wallDay) i++;
    const tariff = plan.tariffs[i];
    if (!tariff) {
      push(start, Number.NaN);
      continue;
    }
    push(start, tariff.price);
    const weekday = ((new Date(wallDay).getUTCDay() + 6) % 7) + 1;
    // A day without a DST change: wall time minus the day's offset; else the zone decides.
    const offset = days.offsets[k]!;
    const change = days.changes[k]!;
    const at = (hhmm: string) => {
      const m = wallMinutes(hhmm);
      if (m >= 1440) return end;
      const wall = wallDay + m * MINUTE;
      return Math.min(end, Math.max(start, change ? zone.instant(wall) : wall - offset));
    };
    const windows = tariff.windows
      .filter((w) => !w.days || w.days.includes(weekday))
      .sort((a, b) => wallMinutes(a.from) - wallMinutes(b.from));
    for (const w of windows) {
      const a = at(w.from);
      const b = at(w.to);
      // 02:00–03:00 on the spring-forward day does not happen: nothing to price.
      if (b <= a) continue;
      push(a, w.price);
      if (b < end) push(b, tariff.price);
    }
  }
  return { starts, prices, end: bounds[bounds.length - 1] ?? to };
}

/** The time-weighted mean price over the timeline (NaN if any of it has no tariff). */
export function meanPrice(tl: PriceTimeline): number {
  let sum = 0;
  let span = 0;
  for (let k = 0; k < tl.starts.length; k++) {
    const d = (tl.starts[k + 1] ?? tl.end) - tl.starts[k]!;
    sum += d * tl.prices[k]!;
    span += d;
  }
  return span > 0 ? sum / span : Number.NaN;
}
