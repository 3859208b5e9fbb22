/** One difference between two rule versions, at a dotted path (`actions.1.value`). */
export interface Change {
  path: string;
  op: 'added' | 'removed' | 'changed';
  from?: unknown;
  to?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Structural differences from `a` to `b`; arrays compare by position, as rules list steps. */
export function diff(a: unknown, b: unknown, path = ''): Change[] {
  const at = (k: string | number): string => (path ? `${path}.${k}` : String(k));
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: Change[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i >= a.length) out.push({ path: at(i), op: 'added', to: b[i] });
      else if (i >= b.length) out.push({ path: at(i), op: 'removed', from: a[i] });
      else out.push(...diff(a[i], b[i], at(i)));
    }
    return out;
  }
  if (isObject(a) && isObject(b) && !Array.isArray(a) && !Array.isArray(b)) {
    const out: Change[] = [];
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!(k in b)) out.push({ path: at(k), op: 'removed', from: a[k] });
      else if (!(k in a)) out.push({ path: at(k), op: 'added', to: b[k] });
      else out.push(...diff(a[k], b[k], at(k)));
    }
    return out;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path: path || '.', op: 'changed', from: a, to: b }];
}
