/**
 * Pure helpers for editing a rule the way the form does: every change copies only the object it
 * touches and keeps all its other fields, so fields the form does not know survive a round trip.
 */
export type Item = Record<string, unknown>;

/** `obj` with `key` set, or removed when `value` is undefined (an emptied optional field). */
export function withField<T extends Item>(obj: T, key: string, value: unknown): T {
  const next: Item = { ...obj };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next as T;
}

export function replaceAt<T>(list: T[], index: number, item: T): T[] {
  return list.map((x, i) => (i === index ? item : x));
}

export function removeAt<T>(list: T[], index: number): T[] {
  return list.filter((_, i) => i !== index);
}

/** Swaps the item at `index` with its neighbour `by` (-1 up, +1 down); out of range: unchanged. */
export function move<T>(list: T[], index: number, by: -1 | 1): T[] {
  const other = index + by;
  if (other < 0 || other >= list.length) return list;
  const next = [...list];
  [next[index], next[other]] = [next[other]!, next[index]!];
  return next;
}

/** Reads a field that should be a list; anything else shows as empty (the JSON keeps it). */
export const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export const isItem = (v: unknown): v is Item => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The element id of the control for a rule path such as `triggers.0.for`. */
export const fieldId = (path: string): string => `rf-${path.replace(/\./g, '-')}`;

export const join = (path: string, key: string | number): string => (path ? `${path}.${key}` : String(key));

/** A duration as typed: plain digits are seconds (a number), anything else stays text ("10m"). */
export function parseDuration(text: string): number | string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  return /^\d+(\.\d+)?$/.test(t) ? Number(t) : t;
}

/** A number as typed; empty means "not set". Partial input the browser cannot read stays unset. */
export function parseNumber(text: string): number | undefined {
  if (text.trim() === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}
