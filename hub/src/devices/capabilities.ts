import type { StateValue } from '../core/bus.ts';

/**
 * The capability model: what a device can report or be told, with the value's type and unit.
 * Drivers map their devices onto these names so rules, history and the UI work the same for every
 * device family.
 */
export interface CapabilitySpec {
  type: 'boolean' | 'number' | 'string';
  /** Can a command set it (a relay) or only the device report it (a power reading)? */
  writable: boolean;
  unit?: string;
  min?: number;
  max?: number;
  /** Numeric readings that are also recorded as telemetry samples for history. */
  telemetry?: boolean;
  /**
   * Each report is an event, not a level: a button pressed twice reports "single" twice and
   * both presses must reach rules, so these are never deduped.
   */
  event?: boolean;
}

export const CAPABILITIES: Record<string, CapabilitySpec> = {
  switch: { type: 'boolean', writable: true },
  brightness: { type: 'number', writable: true, unit: '%', min: 0, max: 100 },
  color_temp: { type: 'number', writable: true, unit: 'K', min: 1000, max: 10000 },
  power: { type: 'number', writable: false, unit: 'W', telemetry: true },
  energy: { type: 'number', writable: false, unit: 'kWh', telemetry: true },
  voltage: { type: 'number', writable: false, unit: 'V', telemetry: true },
  current: { type: 'number', writable: false, unit: 'A', telemetry: true },
  temperature: { type: 'number', writable: false, unit: '°C', telemetry: true },
  humidity: { type: 'number', writable: false, unit: '%', min: 0, max: 100, telemetry: true },
  illuminance: { type: 'number', writable: false, unit: 'lx', telemetry: true },
  battery: { type: 'number', writable: false, unit: '%', min: 0, max: 100, telemetry: true },
  motion: { type: 'boolean', writable: false },
  contact: { type: 'boolean', writable: false },
  occupancy: { type: 'boolean', writable: false },
  button: { type: 'string', writable: false, event: true },
  lock: { type: 'boolean', writable: true },
  setpoint: { type: 'number', writable: true, unit: '°C', min: 5, max: 35 },
};

export function isKnownCapability(name: string): boolean {
  return Object.hasOwn(CAPABILITIES, name);
}

/** Returns a reason string if `value` does not fit `capability`, else undefined. */
export function checkValue(capability: string, value: StateValue): string | undefined {
  const spec = CAPABILITIES[capability];
  if (!spec) return `unknown capability '${capability}'`;
  if (value === null) return `${capability} cannot be null`;
  if (typeof value !== spec.type) return `${capability} takes a ${spec.type}, got ${typeof value}`;
  if (spec.type === 'number') {
    const n = value as number;
    if (!Number.isFinite(n)) return `${capability} must be a finite number`;
    if (spec.min !== undefined && n < spec.min) return `${capability} must be >= ${spec.min}`;
    if (spec.max !== undefined && n > spec.max) return `${capability} must be <= ${spec.max}`;
  }
  return undefined;
}
