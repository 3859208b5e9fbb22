import type { StateValue } from '@hearth/model/values';
import { capabilitySpec } from '@hearth/model/capabilities';

export function formatValue(capability: string, value: StateValue | undefined): string {
  if (value === undefined || value === null) return '–';
  if (typeof value === 'boolean') return value ? 'On' : 'Off';
  if (typeof value === 'number') {
    // A reading the model gives display digits is shown with its unit, rounded to what a person
    // can read; any other number bare, with two decimals.
    const spec = capabilitySpec(capability);
    if (spec?.digits === undefined) return value.toFixed(2);
    return `${value.toFixed(spec.digits)}${spec.unit ? ` ${spec.unit}` : ''}`;
  }
  return value;
}

export const TOGGLES = ['switch', 'on', 'light'];
export const toggleOf = (capabilities: string[]) => capabilities.find((c) => TOGGLES.includes(c));

export function formatTime(t: number | string): string {
  return new Date(t).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}
