import { fieldId } from './edit.ts';

/**
 * Moves focus to the control for a rule path the hub named, or to the nearest enclosing item or
 * list that is shown (an error about `actions.0` as a whole, or a field the form has no control
 * for), so keyboard and screen-reader users land where the problem is.
 */
export function focusPath(path: string, fallback: HTMLElement | null): void {
  const parts = path ? path.split('.') : [];
  for (let n = parts.length; n > 0; n--) {
    const el = document.getElementById(fieldId(parts.slice(0, n).join('.')));
    if (el) {
      el.focus();
      return;
    }
  }
  fallback?.focus();
}
