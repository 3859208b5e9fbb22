import type { StateValue } from './api/types.ts';

/** How readings are shown: units per capability, rounded to what a person can read. */
const UNITS: Record<string, [string, number]> = {
  power: ['W', 1],
  energy: ['kWh', 3],
  voltage: ['V', 1],
  current: ['A', 2],
  temperature: ['°C', 1],
  humidity: ['%', 0],
  illuminance: ['lx', 0],
  battery: ['%', 0],
};

export function formatValue(capability: string, value: StateValue | undefined): string {
  if (value === undefined || value === null) return '–';
  if (typeof value === 'boolean') return value ? 'On' : 'Off';
  if (typeof value === 'number') {
    const [unit, digits] = UNITS[capability] ?? ['', 2];
    return `${value.toFixed(digits)}${unit ? ' ' + unit : ''}`;
  }
  return value;
}

export const TOGGLES = ['switch', 'on', 'light'];
export const toggleOf = (capabilities: string[]) => capabilities.find((c) => TOGGLES.includes(c));

export function formatTime(t: number | string): string {
  return new Date(t).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}
