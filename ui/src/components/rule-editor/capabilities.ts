import type { StateValue } from '../../api/types.ts';

/**
 * What the editor needs to know about a capability to offer the right control: the type of its
 * value, whether a command may set it, and its range. The hub's capability model
 * (hub/src/devices/capabilities.ts) stays the judge: it validates every rule on save, and the
 * editor shows its answer at the field. A capability missing here is edited as text.
 */
export interface CapabilityInfo {
  type: 'boolean' | 'number' | 'string';
  writable: boolean;
  min?: number;
  max?: number;
  unit?: string;
}

const KNOWN: Record<string, CapabilityInfo> = {
  switch: { type: 'boolean', writable: true },
  lock: { type: 'boolean', writable: true },
  motion: { type: 'boolean', writable: false },
  contact: { type: 'boolean', writable: false },
  occupancy: { type: 'boolean', writable: false },
  button: { type: 'string', writable: false },
  brightness: { type: 'number', writable: true, unit: '%', min: 0, max: 100 },
  color_temp: { type: 'number', writable: true, unit: 'K', min: 1000, max: 10000 },
  setpoint: { type: 'number', writable: true, unit: '°C', min: 5, max: 35 },
  power: { type: 'number', writable: false, unit: 'W' },
  energy: { type: 'number', writable: false, unit: 'kWh' },
  voltage: { type: 'number', writable: false, unit: 'V' },
  current: { type: 'number', writable: false, unit: 'A' },
  temperature: { type: 'number', writable: false, unit: '°C' },
  humidity: { type: 'number', writable: false, unit: '%', min: 0, max: 100 },
  illuminance: { type: 'number', writable: false, unit: 'lx' },
  battery: { type: 'number', writable: false, unit: '%', min: 0, max: 100 },
};

export function capabilityInfo(name: string | undefined): CapabilityInfo {
  return (name && KNOWN[name]) || { type: 'string', writable: false };
}

/** Which capabilities a field may pick: any, only numbers (numeric), only writable (command). */
export type CapabilityFilter = 'any' | 'number' | 'writable';

export function fits(name: string, filter: CapabilityFilter): boolean {
  const info = capabilityInfo(name);
  return filter === 'any' || (filter === 'number' ? info.type === 'number' : info.writable);
}

/** Does `value` have the type `capability` takes? (null is "no value" and fits any.) */
export function valueFits(capability: string | undefined, value: unknown): boolean {
  return value === null || typeof value === capabilityInfo(capability).type;
}

/** A sensible starting value for a command or condition on `capability`. */
export function defaultValue(capability: string | undefined): StateValue {
  const info = capabilityInfo(capability);
  if (info.type === 'boolean') return true;
  if (info.type === 'number') return info.min ?? 0;
  return capability === 'button' ? 'single' : '';
}
