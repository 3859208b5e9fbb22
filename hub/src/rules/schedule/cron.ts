/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week) in the hub's local
 * time: `*`, lists `1,15`, ranges `1-5`, steps `*\/10` and `8-18/2`; day-of-week 0-7 (0 and 7
 * are Sunday). As in classic cron, when both day fields are restricted a day matching either
 * one counts.
 */
export interface Cron {
  minute: Set<number>;
  hour: Set<number>;
  dom: Set<number>;
  month: Set<number>;
  dow: Set<number>;
  domAny: boolean;
  dowAny: boolean;
}

const FIELDS: [string, number, number][] = [
  ['minute', 0, 59],
  ['hour', 0, 23],
  ['day of month', 1, 31],
  ['month', 1, 12],
  ['day of week', 0, 7],
];

/** Parses `text`; returns a reason string when it is not a valid expression. */
export function parseCron(text: string): Cron | string {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 5) return 'a cron expression has 5 fields: minute hour day-of-month month day-of-week';
  const sets: Set<number>[] = [];
  for (let i = 0; i < 5; i++) {
    const [name, min, max] = FIELDS[i]!;
    const set = parseField(parts[i]!, min, max);
    if (typeof set === 'string') return `${name}: ${set}`;
    sets.push(set);
  }
  const dow = sets[4]!;
  if (dow.delete(7)) dow.add(0);
  return {
    minute: sets[0]!,
    hour: sets[1]!,
    dom: sets[2]!,
    month: sets[3]!,
    dow,
    domAny: parts[2] === '*',
    dowAny: parts[4] === '*',
  };
}

function parseField(field: string, min: number, max: number): Set<number> | string {
  const out = new Set<number>();
  for (const item of field.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!m) return `'${item}' is not a value, range or step`;
    const step = m[4] ? Number(m[4]) : 1;
    let lo = min;
    let hi = max;
    if (m[2] !== undefined) {
      lo = Number(m[2]);
      hi = m[3] !== undefined ? Number(m[3]) : m[4] ? max : lo;
    }
    if (lo < min || hi > max || lo > hi || step < 1) return `'${item}' is outside ${min}-${max}`;
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function dayMatches(c: Cron, d: Date): boolean {
  const dom = c.dom.has(d.getDate());
  const dow = c.dow.has(d.getDay());
  if (c.domAny) return dow;
  if (c.dowAny) return dom;
  return dom || dow;
}

/** The first minute strictly after `after` that matches, in local time; undefined if none in 5 years. */
export function nextCron(c: Cron, after: number): number | undefined {
  const d = new Date(after);
  d.setSeconds(0, 0);
  d.setMinutes(d.getMinutes() + 1);
  const limit = after + 5 * 366 * 86_400_000;
  // Skips whole months, days and hours that cannot match, so the loop stays short.
  while (d.getTime() <= limit) {
    if (!c.month.has(d.getMonth() + 1)) {
      d.setMonth(d.getMonth() + 1, 1);
      d.setHours(0, 0, 0, 0);
    } else if (!dayMatches(c, d)) {
      d.setDate(d.getDate() + 1);
      d.setHours(0, 0, 0, 0);
    } else if (!c.hour.has(d.getHours())) {
      d.setHours(d.getHours() + 1, 0, 0, 0);
    } else if (!c.minute.has(d.getMinutes())) {
      d.setMinutes(d.getMinutes() + 1, 0, 0);
    } else {
      return d.getTime();
    }
  }
  return undefined;
}
