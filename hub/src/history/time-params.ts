import { HubError } from '../core/errors.ts';
import { DAY } from './tiers.ts';

/** A time in a query string: epoch milliseconds (digits only) or an ISO 8601 date/time. */
export function parseTime(raw: string | undefined, field: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const t = /^-?\d+$/.test(raw) ? Number(raw) : /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isSafeInteger(t)) throw new HubError('validation_failed', `querystring: '${field}' must be epoch milliseconds or an ISO 8601 time`, { location: 'querystring', field, rule: 'format' });
  return t;
}

/** [from, to) with defaults (`to` = just after now, `from` = `defaultSpan` before `to`); from > to is a 400. */
export function parseRange(query: { from?: string | undefined; to?: string | undefined }, now: number, defaultSpan = DAY): { from: number; to: number } {
  // Without `to`, up to and including now (ranges are half-open).
  const to = parseTime(query.to, 'to') ?? now + 1;
  const from = parseTime(query.from, 'from') ?? to - defaultSpan;
  if (from > to) throw new HubError('history_range_invalid', "'from' is after 'to'", { from, to });
  return { from, to };
}
