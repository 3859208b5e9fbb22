import type { ShareWindow } from '@hearth/model/api';
import { HubError } from '../core/errors.ts';

/**
 * Weekly windows of a share ("Tuesdays 9–12") in the home's time zone. A window is days of the
 * week and a local time span within one day (`from` before `to`, HH:MM); one that crosses
 * midnight is two windows. Edges fall on whole local minutes, so the sharing service looks again
 * once a minute while any share has windows, and at once whenever it is asked.
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export const MAX_WINDOWS = 14;
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

const minutesOf = (hhmm: string): number => {
  const m = TIME.exec(hhmm);
  return m ? Number(m[1]) * 60 + Number(m[2]) : -1;
};

/** Refuses a window list that cannot be read unambiguously, naming the window. */
export function checkWindows(windows: readonly ShareWindow[]): void {
  if (windows.length > MAX_WINDOWS)
    throw new HubError('validation_failed', `at most ${MAX_WINDOWS} windows`, { field: 'windows', rule: 'maxItems' });
  windows.forEach((w, i) => {
    const field = `windows/${i}`;
    if (w.days.length === 0 || w.days.some((d) => !WEEKDAYS.includes(d)))
      throw new HubError('validation_failed', 'a window needs days of the week (mon … sun)', { field });
    const from = minutesOf(w.from);
    const to = w.to === '24:00' ? 24 * 60 : minutesOf(w.to);
    if (from < 0 || to < 0 || to <= from)
      throw new HubError('validation_failed', "a window is 'HH:MM' to a later 'HH:MM' of the same day", { field });
  });
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      weekday: 'short',
      hour: 'numeric',
      minute: 'numeric',
      hourCycle: 'h23',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** A usable IANA zone name: the setting when Intl knows it, else the hub process's own zone. */
export function usableZone(setting: unknown): string {
  if (typeof setting === 'string' && setting !== '' && setting.length <= 64) {
    try {
      formatter(setting);
      return setting;
    } catch {
      // an unknown zone falls back below
    }
  }
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** True when `t` falls in one of the windows, read in `zone`. */
export function inWindows(windows: readonly ShareWindow[], t: number, zone: string): boolean {
  let day = '';
  let minute = 0;
  for (const p of formatter(zone).formatToParts(t)) {
    if (p.type === 'weekday') day = p.value.toLowerCase().slice(0, 3);
    else if (p.type === 'hour') minute += Number(p.value) * 60;
    else if (p.type === 'minute') minute += Number(p.value);
  }
  return windows.some((w) => {
    if (!(w.days as string[]).includes(day)) return false;
    const to = w.to === '24:00' ? 24 * 60 : minutesOf(w.to);
    return minute >= minutesOf(w.from) && minute < to;
  });
}
