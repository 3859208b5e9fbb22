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
   * capability of a device); `energy`, bars of consumption per day; `state`, a timeline of a
   * boolean or named state (leak, lock, cover, mode); `events`, marks at each event (a button).
   */
  chart?: 'line' | 'energy' | 'state' | 'events';
  /** A string that takes only these values (a mode, a cover movement). */
  values?: readonly string[];
  /**
   * A person must confirm before the UI sends it (a lock opening a door). Rules may still set it:
   * the owner confirmed when saving the rule.
   */
  confirm?: boolean;
}

/** Remote presses as Zigbee2MQTT's converters name them; a button's number comes first (`2_double`). */
export const BUTTON_PRESSES = ['single', 'double', 'triple', 'click', 'hold', 'release', 'long'] as const;

export const CAPABILITIES: Record<string, CapabilitySpec> = {
  switch: { type: 'boolean', writable: true, chart: 'state' },
  brightness: { type: 'number', writable: true, unit: '%', min: 0, max: 100 },
  // Colour: CIE 1931 xy (what most bulbs keep) and hue/saturation; each set alone, the other half
  // of the pair kept as the device last reported it. A device's own colour-temperature range
  // narrows the model's (the driver refuses outside it with value_out_of_range).
  color_temp: { type: 'number', writable: true, unit: 'K', min: 1000, max: 10000 },
  color_x: { type: 'number', writable: true, min: 0, max: 1 },
  color_y: { type: 'number', writable: true, min: 0, max: 1 },
  color_hue: { type: 'number', writable: true, unit: '°', min: 0, max: 360 },
  color_saturation: { type: 'number', writable: true, unit: '%', min: 0, max: 100 },
  // Covers: position and tilt 0 (closed) to 100 (open); `cover` moves it or stops it and is
  // reported as open/close once it ends up there.
  cover_position: { type: 'number', writable: true, unit: '%', min: 0, max: 100 },
  cover_tilt: { type: 'number', writable: true, unit: '%', min: 0, max: 100 },
  cover: { type: 'string', writable: true, values: ['open', 'close', 'stop'], chart: 'state' },
  // Climate: the current temperature is `temperature`, the target `setpoint`.
  setpoint: { type: 'number', writable: true, unit: '°C', min: 5, max: 35 },
  climate_mode: {
    type: 'string',
    writable: true,
    values: ['off', 'auto', 'heat', 'cool', 'fan_only', 'dry'],
    chart: 'state',
  },
  running_state: { type: 'string', writable: false, values: ['idle', 'heat', 'cool', 'fan_only'], chart: 'state' },
  lock: { type: 'boolean', writable: true, confirm: true, chart: 'state' },
  power_on_behavior: { type: 'string', writable: true, values: ['off', 'on', 'toggle', 'previous'] },
  power: { type: 'number', writable: false, unit: 'W', telemetry: true, digits: 1, chart: 'line' },
  energy: { type: 'number', writable: false, unit: 'kWh', telemetry: true, digits: 3, chart: 'energy' },
  voltage: { type: 'number', writable: false, unit: 'V', telemetry: true, digits: 1, chart: 'line' },
  current: { type: 'number', writable: false, unit: 'A', telemetry: true, digits: 2, chart: 'line' },
  temperature: { type: 'number', writable: false, unit: '°C', telemetry: true, digits: 1, chart: 'line' },
  humidity: { type: 'number', writable: false, unit: '%', min: 0, max: 100, telemetry: true, digits: 0, chart: 'line' },
  illuminance: { type: 'number', writable: false, unit: 'lx', min: 0, telemetry: true, digits: 0, chart: 'line' },
  pressure: { type: 'number', writable: false, unit: 'hPa', min: 0, telemetry: true, digits: 1, chart: 'line' },
  co2: { type: 'number', writable: false, unit: 'ppm', min: 0, telemetry: true, digits: 0, chart: 'line' },
  pm25: { type: 'number', writable: false, unit: 'µg/m³', min: 0, telemetry: true, digits: 0, chart: 'line' },
  voc: { type: 'number', writable: false, unit: 'ppb', min: 0, telemetry: true, digits: 0, chart: 'line' },
  battery: { type: 'number', writable: false, unit: '%', min: 0, max: 100, telemetry: true, digits: 0 },
  motion: { type: 'boolean', writable: false, chart: 'state' },
  contact: { type: 'boolean', writable: false, chart: 'state' },
  occupancy: { type: 'boolean', writable: false, chart: 'state' },
  water_leak: { type: 'boolean', writable: false, chart: 'state' },
  smoke: { type: 'boolean', writable: false, chart: 'state' },
  vibration: { type: 'boolean', writable: false, chart: 'state' },
  // A remote's presses: each report is an event (`single`, `2_double`, `on`, `brightness_up`...),
  // never a level; `pressOf` splits the button from the press.
  button: { type: 'string', writable: false, event: true, chart: 'events' },
};

export function isKnownCapability(name: string): boolean {
  return Object.hasOwn(CAPABILITIES, name);
}

/** The spec of a known capability; undefined for any other name (inherited keys included). */
export function capabilitySpec(name: string): CapabilitySpec | undefined {
  return isKnownCapability(name) ? CAPABILITIES[name] : undefined;
}

/**
 * Why a value does not fit, with the stable error code to refuse it with (errors.ts):
 * `value_out_of_range` for a number outside the range, `value_not_allowed` for a string not among
 * `values`, `validation_failed` for anything else (unknown, null, wrong type, not finite).
 */
export interface ValueProblem {
  code: 'validation_failed' | 'value_out_of_range' | 'value_not_allowed';
  message: string;
}

/** The problem with `value` for `capability`, or undefined if it fits. `range` narrows min/max (a device's own). */
export function valueProblem(
  capability: string,
  value: StateValue,
  range?: { min?: number; max?: number },
): ValueProblem | undefined {
  const spec = capabilitySpec(capability);
  const bad = (message: string, code: ValueProblem['code'] = 'validation_failed') => ({ code, message });
  if (!spec) return bad(`unknown capability '${capability}'`);
  if (value === null) return bad(`${capability} cannot be null`);
  if (typeof value !== spec.type) return bad(`${capability} takes a ${spec.type}, got ${typeof value}`);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return bad(`${capability} must be a finite number`);
    const min = Math.max(spec.min ?? -Infinity, range?.min ?? -Infinity);
    const max = Math.min(spec.max ?? Infinity, range?.max ?? Infinity);
    if (value < min) return bad(`${capability} must be >= ${min}`, 'value_out_of_range');
    if (value > max) return bad(`${capability} must be <= ${max}`, 'value_out_of_range');
  }
  if (typeof value === 'string' && spec.values && !spec.values.includes(value))
    return bad(`${capability} takes one of ${spec.values.join(', ')}`, 'value_not_allowed');
  return undefined;
}

/** Returns a reason string if `value` does not fit `capability`, else undefined. */
export function checkValue(capability: string, value: StateValue): string | undefined {
  return valueProblem(capability, value)?.message;
}

/**
 * How rules use a capability: `numeric` triggers (above/below) on numbers, `state` triggers on
 * changes of a level, `event` on each report (a press); `settable` when an action may command it.
 */
export function ruleUse(capability: string): { trigger: 'numeric' | 'state' | 'event'; settable: boolean } | undefined {
  const spec = capabilitySpec(capability);
  if (!spec) return undefined;
  const trigger = spec.event ? 'event' : spec.type === 'number' ? 'numeric' : 'state';
  return { trigger, settable: spec.writable };
}

/** A remote's press split into which button and what press: `2_double` → button 2, double. */
export function pressOf(action: string): { button?: string; press: string } {
  const m = new RegExp(`^(.+)_(${BUTTON_PRESSES.join('|')})$`).exec(action);
  return m ? { button: m[1]!, press: m[2]! } : { press: action };
}

/** One capability as `GET /api/v1/capabilities` answers it: its name and the table's entry. */
export type CapabilityInfo = CapabilitySpec & { name: string };

/** The whole model, as the API hands it to clients and bridges (the same table, not a copy). */
export function capabilityList(): CapabilityInfo[] {
  return Object.entries(CAPABILITIES).map(([name, spec]) => ({ name, ...spec }));
}
