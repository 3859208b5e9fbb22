/**
 * Wall-clock helpers in the hub's local time zone (the Pi's, set by the OS: `TZ` or
 * /etc/localtime). Rules say "07:00" and "on weekdays" the way the household reads the clock.
 */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** `HH:MM` or `HH:MM:SS` → seconds after midnight. */
export function parseTimeOfDay(text: string): number {
  const [h = 0, m = 0, s = 0] = text.split(':').map(Number);
  return h * 3600 + m * 60 + s;
}

export const TIME_OF_DAY_PATTERN = '^([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d)?$';

/** Seconds since local midnight at `t`. */
export function secondsOfDay(t: number): number {
  const d = new Date(t);
  return d.getHours() * 3600 + d.getMinutes() * 60 + d.getSeconds();
}

export function weekdayOf(t: number): Weekday {
  return WEEKDAYS[new Date(t).getDay()]!;
}

/** The time `seconds` after local midnight of the day `dayOffset` days from `t`'s day. */
export function atLocal(t: number, dayOffset: number, seconds: number): number {
  const d = new Date(t);
  d.setDate(d.getDate() + dayOffset);
  d.setHours(Math.floor(seconds / 3600), Math.floor((seconds % 3600) / 60), seconds % 60, 0);
  return d.getTime();
}
