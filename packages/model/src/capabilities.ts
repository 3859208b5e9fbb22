import type { StateValue } from './values.ts';

/**
 * The capability model: what a device can report or be told, with the value's type, unit and range,
 * whether a command may set it and how the UI shows it. Drivers map their devices onto these names
 * so rules, history and the UI work the same for every device family. The hub judges values with
 * `checkValue`; the UI picks controls, units and charts from the same table.
 */
export interface CapabilitySpec {
  type: 'boolean' | 'number' | 'string';
  /** Settable: can a command set it (a relay) or only the device report it (a power reading)? */
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
  /**
   * Shown as a reading with its unit, rounded to this many decimals. Without it a number is
   * shown bare with two decimals.
   */
  digits?: number;
  /**
   * How a device page charts it: `line`, the history of the reading over time (the first such
   * capability of a device); `energy`, bars of consumption per day.
   */
  chart?: 'line' | 'energy';
}

export const CAPABILITIES: Record<string, CapabilitySpec> = {
  switch: { type: 'boolean', writable: true },
  brightness: { type: 'number', writable: true, unit: '%', min: 0, max: 100 },
  color_temp: { type: 'number', writable: true, unit: 'K', min: 1000, max: 10000 },
  power: { type: 'number', writable: false, unit: 'W', telemetry: true, digits: 1, chart: 'line' },
  energy: { type: 'number', writable: false, unit: 'kWh', telemetry: true, digits: 3, chart: 'energy' },
  voltage: { type: 'number', writable: false, unit: 'V', telemetry: true, digits: 1, chart: 'line' },
  current: { type: 'number', writable: false, unit: 'A', telemetry: true, digits: 2, chart: 'line' },
  temperature: { type: 'number', writable: false, unit: '°C', telemetry: true, digits: 1, chart: 'line' },
  humidity: { type: 'number', writable: false, unit: '%', min: 0, max: 100, telemetry: true, digits: 0, chart: 'line' },
  illuminance: { type: 'number', writable: false, unit: 'lx', telemetry: true, digits: 0 },
  battery: { type: 'number', writable: false, unit: '%', min: 0, max: 100, telemetry: true, digits: 0 },
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

/** The spec of a known capability; undefined for any other name (inherited keys included). */
export function capabilitySpec(name: string): CapabilitySpec | undefined {
  return isKnownCapability(name) ? CAPABILITIES[name] : undefined;
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
