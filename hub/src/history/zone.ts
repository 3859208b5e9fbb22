import { DAY } from './tiers.ts';

/**
 * Local calendar arithmetic in an IANA time zone with nothing but Intl (Node 24 has no
 * unflagged Temporal): offsets come from `formatToParts`, local boundaries are computed as
 * "wall-clock" milliseconds (a local date and time written as if it were UTC) and converted to
 * instants, so DST days are 23 or 25 hours long and a local midnight that does not exist (a
 * zone that springs forward at 00:00) becomes the first instant of that day.
 */

/** The canonical name of an IANA time zone ('europe/berlin' → 'Europe/Berlin'), or undefined. */
export function canonicalTimeZone(name: string): string | undefined {
  if (name === '' || name.length > 64) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** The hub process's own time zone (TZ or /etc/localtime). */
export function processTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

export class Zone {
  readonly name: string;
  readonly #fmt: Intl.DateTimeFormat;

  constructor(name: string) {
    this.name = name;
    this.#fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** The local wall-clock time at `t`, as milliseconds of a UTC date with the same fields. */
  wall(t: number): number {
    const ms = ((t % 1000) + 1000) % 1000;
    const f = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
    for (const p of this.#fmt.formatToParts(t - ms)) {
      if (p.type in f) f[p.type as keyof typeof f] = Number(p.value);
    }
    // Years before 1 AD come with an era; not a concern for history data.
    return Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) + ms;
  }

  /** UTC offset at `t` in milliseconds (+1 h in Berlin in winter). */
  offset(t: number): number {
    return this.wall(t) - t;
  }

  /**
   * The first instant whose local wall-clock time is at or after `wall`: the instant itself
   * when that local time exists, the end of the gap when it falls into a spring-forward gap, the
   * first of the two when it occurs twice.
   */
  instant(wall: number): number {
    let best = Infinity;
    for (const probe of [wall - DAY, wall, wall + DAY]) {
      const t = wall - this.offset(probe);
      if (t < best && this.wall(t) >= wall) best = t;
    }
    return best;
  }

  /** `t` as ISO 8601 with this zone's offset: 2026-03-29T00:00:00+01:00 (Z when the offset is 0). */
  iso(t: number): string {
    const wall = this.wall(t);
    const off = Math.round((wall - t) / 1000);
    const local = new Date(wall).toISOString();
    const text = t % 1000 === 0 ? local.slice(0, 19) : local.slice(0, 23);
    if (off === 0) return `${text}Z`;
    const a = Math.abs(off);
    const hh = String(Math.floor(a / 3600)).padStart(2, '0');
    const mm = String(Math.floor((a % 3600) / 60)).padStart(2, '0');
    const ss = a % 60 ? `:${String(a % 60).padStart(2, '0')}` : '';
    return `${text}${off < 0 ? '-' : '+'}${hh}:${mm}${ss}`;
  }
}
