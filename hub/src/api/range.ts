import { HubError } from '../core/errors.ts';

const DAY = 86_400_000;

/** A time in a query string or body: epoch milliseconds (digits only) or an ISO 8601 date/time. */
export function parseTime(raw: string | undefined, field: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const t = /^-?\d+$/.test(raw) ? Number(raw) : /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isSafeInteger(t))
    throw new HubError('validation_failed', `querystring: '${field}' must be epoch milliseconds or an ISO 8601 time`, {
      location: 'querystring',
      field,
      rule: 'format',
    });
  return t;
}

export interface RangeOptions {
  /** How far back `from` defaults to from `to` (one day). */
  defaultSpan?: number;
  /**
   * The code of a reversed range: `range_invalid`, except the history routes' own
   * `history_range_invalid`, which their clients already match on.
   */
  invalidCode?: 'range_invalid' | 'history_range_invalid';
}

/**
 * `[from, to)` of a request (history, recordings, playback, dry runs) with defaults: `to` just
 * after now, `from` `defaultSpan` before `to`. A bad time is `validation_failed` naming the field;
 * from after to is a 400 `range_invalid`.
 */
export function parseRange(
  query: { from?: string | undefined; to?: string | undefined },
  now: number,
  options: RangeOptions = {},
): { from: number; to: number } {
  // Without `to`, up to and including now (ranges are half-open).
  const to = parseTime(query.to, 'to') ?? now + 1;
  const from = parseTime(query.from, 'from') ?? to - (options.defaultSpan ?? DAY);
  if (from > to) throw new HubError(options.invalidCode ?? 'range_invalid', "'from' is after 'to'", { from, to });
  return { from, to };
}
