import * as SunCalcModule from 'suncalc';
import type { Location } from '../spec.ts';

// suncalc is CommonJS: Node hands its exports over as the default export.
const SunCalc = (SunCalcModule as unknown as { default?: typeof SunCalcModule }).default ?? SunCalcModule;

export type SunEvent = 'sunrise' | 'sunset';

/** Sunrise or sunset on the local day of `t`, or undefined (polar day or night). */
export function sunOn(t: number, event: SunEvent, loc: Location): number | undefined {
  const noon = new Date(t);
  // suncalc picks the solar day around the given instant; local noon is inside the right one.
  noon.setHours(12, 0, 0, 0);
  const time = SunCalc.getTimes(noon, loc.latitude, loc.longitude)[event]?.getTime() ?? Number.NaN;
  return Number.isNaN(time) ? undefined : time;
}

/** The first sunrise/sunset (plus offset) strictly after `after`; searches up to a year ahead. */
export function nextSun(event: SunEvent, offsetMs: number, after: number, loc: Location): number | undefined {
  for (let day = -1; day <= 366; day++) {
    const base = sunOn(after + day * 86_400_000, event, loc);
    if (base !== undefined && base + offsetMs > after) return base + offsetMs;
  }
  return undefined;
}
