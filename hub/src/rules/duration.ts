import Type from 'typebox';

/**
 * A duration in a rule: a number of seconds, or text such as `90s`, `10m`, `1h30m`, `250ms`.
 * Signed (`-15m`) only where an offset is meant (sun triggers); elsewhere it must be positive.
 */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const TEXT = /^(-)?((\d+(\.\d+)?)(ms|h|m|s))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;

export const DurationSchema = Type.Union([
  Type.Number({ minimum: 0, maximum: 366 * 86400 }),
  Type.String({ pattern: '^((\\d+(\\.\\d+)?)(ms|h|m|s))+$', maxLength: 32 }),
]);

export const OffsetSchema = Type.Union([
  Type.Number({ minimum: -86400, maximum: 86400 }),
  Type.String({ pattern: '^-?((\\d+(\\.\\d+)?)(ms|h|m|s))+$', maxLength: 32 }),
]);

/** Milliseconds of a duration that already passed validation. */
export function durationMs(d: Duration | undefined): number {
  if (d === undefined) return 0;
  if (typeof d === 'number') return Math.round(d * 1000);
  const m = TEXT.exec(d);
  if (!m) return 0;
  let ms = 0;
  for (const [, n, unit] of d.matchAll(PART)) ms += Number(n) * UNIT_MS[unit!]!;
  return Math.round(m[1] ? -ms : ms);
}
