import { DAY } from '../history/tiers.ts';
import type { Zone } from '../history/zone.ts';

/**
 * The local days of a zone that overlap [from, to): n + 1 midnights (instants), the local date
 * of each day ("wall" ms) and the zone's offset at each midnight. The same instants as
 * `periodBounds('day', …)` (history/query.ts), with far fewer Intl calls: a day whose next
 * midnight has the same offset as its own has no DST change (real zones change at most once a
 * day), so its midnight and every wall time in it are `wall - offset` with one lookup a day; only
 * the two change days a year go through `Zone.instant`. Intl costs tens of µs a call on a busy Pi,
 * and a year of days priced at ~6 window edges each made ~10,000 calls per query before.
 */
export interface LocalDays {
  starts: number[];
  walls: number[];
  offsets: number[];
  /** Whether day k has a DST change in it (its wall times need Zone.instant). */
  changes: boolean[];
}

export function localDays(zone: Zone, from: number, to: number): LocalDays {
  let wall = Math.floor(zone.wall(from) / DAY) * DAY;
  let start = zone.instant(wall);
  let offset = zone.offset(start);
  const out: LocalDays = { starts: [start], walls: [wall], offsets: [offset], changes: [] };
  while (start < to) {
    wall += DAY;
    const guess = wall - offset;
    const o = zone.offset(guess);
    const change = o !== offset;
    start = change ? zone.instant(wall) : guess;
    offset = change ? zone.offset(start) : o;
    out.changes.push(change);
    out.starts.push(start);
    out.walls.push(wall);
    out.offsets.push(offset);
  }
  return out;
}

/** `t` as ISO 8601 with the given offset (ms): what Zone.iso says, given the offset already known. */
export function isoAt(t: number, offset: number): string {
  const local = new Date(t + offset).toISOString();
  const text = t % 1000 === 0 ? local.slice(0, 19) : local.slice(0, 23);
  const off = Math.round(offset / 1000);
  if (off === 0) return `${text}Z`;
  const a = Math.abs(off);
  const hh = String(Math.floor(a / 3600)).padStart(2, '0');
  const mm = String(Math.floor((a % 3600) / 60)).padStart(2, '0');
  const ss = a % 60 ? `:${String(a % 60).padStart(2, '0')}` : '';
  return `${text}${off < 0 ? '-' : '+'}${hh}:${mm}${ss}`;
}
