import { capabilitySpec } from '@hearth/model/capabilities';
import type { StateValue } from '@hearth/model/values';

/**
 * zigbee-herdsman-converters speaks in "exposes" and Zigbee2MQTT-style state keys (`state: 'ON'`,
 * `power`, `brightness` 0–254, `color: {x, y}`, `color_temp` in mireds, `position`, `system_mode`,
 * `action`...). This maps them onto Hearth capabilities (packages/model): what a device can do
 * (from its definition's exposes, with the device's own ranges), what it says (from the
 * fromZigbee converters' output) and what a command is to its toZigbee converters. Features
 * without a Hearth capability (LED modes, child lock...) are left out.
 */

/** The parts of an expose this mapping reads (the converters' Base/Feature classes). */
export interface ExposeLike {
  type: string;
  name?: string;
  property?: string;
  endpoint?: string;
  category?: string;
  value_min?: number;
  value_max?: number;
  features?: ExposeLike[];
}

/** Z2M property → Hearth capability, for the plain one-to-one readings. */
const PROPERTY_CAPABILITY: Record<string, string> = {
  power: 'power',
  energy: 'energy',
  voltage: 'voltage',
  current: 'current',
  temperature: 'temperature',
  humidity: 'humidity',
  illuminance: 'illuminance',
  illuminance_lux: 'illuminance',
  pressure: 'pressure',
  co2: 'co2',
  pm25: 'pm25',
  voc: 'voc',
  battery: 'battery',
  occupancy: 'occupancy',
  presence: 'occupancy',
  contact: 'contact',
  water_leak: 'water_leak',
  smoke: 'smoke',
  vibration: 'vibration',
  action: 'button',
  power_on_behavior: 'power_on_behavior',
};

/** Features of a composite expose (light, cover, climate) → Hearth capability. */
const FEATURE_CAPABILITY: Record<string, Record<string, string>> = {
  light: { state: 'switch', brightness: 'brightness', color_temp: 'color_temp' },
  switch: { state: 'switch' },
  lock: { state: 'lock' },
  cover: { state: 'cover', position: 'cover_position', tilt: 'cover_tilt' },
  climate: {
    local_temperature: 'temperature',
    occupied_heating_setpoint: 'setpoint',
    current_heating_setpoint: 'setpoint',
    system_mode: 'climate_mode',
    running_state: 'running_state',
  },
};

/** Colour features (`color_xy`, `color_hs`: property `color`) → the pair of capabilities each gives. */
const COLOUR_FEATURES: Record<string, [string, string]> = {
  color_xy: ['color_x', 'color_y'],
  color_hs: ['color_hue', 'color_saturation'],
};

/** A Zigbee mired value as Kelvin (and back: the same formula). */
const mired = (v: number) => Math.round(1_000_000 / v);

/**
 * Walks the exposes a Hearth device uses (no endpoint-suffixed features; config ones only for
 * power-on behaviour), calling `found` with each mapped capability and its expose.
 */
function visitExposes(exposes: ExposeLike[], found: (capability: string, e: ExposeLike) => void): void {
  const visit = (e: ExposeLike, parent?: string) => {
    if (e.endpoint) return; // multi-endpoint devices: the unsuffixed properties only, for now
    const property = e.property ?? e.name;
    if (e.category === 'config' && property !== 'power_on_behavior') return;
    if (e.name && COLOUR_FEATURES[e.name] && parent === 'light') {
      for (const c of COLOUR_FEATURES[e.name]!) found(c, e);
      return;
    }
    if (e.features) {
      for (const f of e.features) visit(f, e.type);
      return;
    }
    if (!property) return;
    const capability = parent ? FEATURE_CAPABILITY[parent]?.[property] : PROPERTY_CAPABILITY[property];
    if (capability) found(capability, e);
  };
  for (const e of exposes) visit(e);
}

/** Hearth capabilities for a definition's exposes. */
export function capabilitiesFromExposes(exposes: ExposeLike[]): string[] {
  const caps = new Set<string>();
  visitExposes(exposes, (c) => caps.add(c));
  return [...caps];
}

/**
 * The device's own range of a capability where it is narrower than the model's: a bulb's colour
 * temperature (exposed in mireds, 153–500 → 2000–6536 K), a thermostat's setpoint.
 */
export function deviceRange(exposes: ExposeLike[], capability: string): { min?: number; max?: number } | undefined {
  let range: { min?: number; max?: number } | undefined;
  visitExposes(exposes, (c, e) => {
    if (c !== capability || range) return;
    if (c === 'color_temp' && e.value_min && e.value_max) range = { min: mired(e.value_max), max: mired(e.value_min) };
    else if (c === 'setpoint' && e.value_min !== undefined && e.value_max !== undefined)
      range = { min: e.value_min, max: e.value_max };
  });
  return range;
}

const round6 = (v: number) => Math.round(v * 1e6) / 1e6;
const lower = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : undefined);
/** A string value kept only if the model lists it (a mode Hearth has no name for is dropped). */
const listed = (capability: string, v: string | undefined) =>
  v !== undefined && capabilitySpec(capability)?.values?.includes(v) ? v : undefined;

/** Hearth state from the merged output of fromZigbee converters. */
export function stateFromConverted(payload: Record<string, unknown>): Record<string, StateValue> {
  const out: Record<string, StateValue> = {};
  for (const [key, value] of Object.entries(payload)) {
    if (key === 'state') {
      if (value === 'ON' || value === 'OFF') out.switch = value === 'ON';
      else if (value === 'LOCK' || value === 'UNLOCK') out.lock = value === 'LOCK';
      else if (value === 'OPEN' || value === 'CLOSE') out.cover = value.toLowerCase();
      continue;
    }
    if (key === 'brightness' && typeof value === 'number') {
      out.brightness = Math.round((Math.min(Math.max(value, 0), 254) / 254) * 100);
      continue;
    }
    if (key === 'color_temp' && typeof value === 'number' && value > 0) {
      out.color_temp = mired(value);
      continue;
    }
    if (key === 'color' && value && typeof value === 'object') {
      const c = value as Record<string, unknown>;
      if (typeof c.x === 'number') out.color_x = round6(c.x);
      if (typeof c.y === 'number') out.color_y = round6(c.y);
      if (typeof c.hue === 'number') out.color_hue = round6(c.hue);
      if (typeof c.saturation === 'number') out.color_saturation = round6(c.saturation);
      continue;
    }
    const feature = FEATURE_CAPABILITY.cover![key] ?? FEATURE_CAPABILITY.climate![key];
    if (feature && key !== 'state') {
      if (typeof value === 'number' && Number.isFinite(value)) out[feature] = round6(value);
      else if (listed(feature, lower(value))) out[feature] = lower(value)!;
      continue;
    }
    const capability = PROPERTY_CAPABILITY[key];
    if (!capability) continue;
    if (capability === 'button') {
      if (typeof value === 'string' && value !== '') out.button = value;
    } else if (capability === 'power_on_behavior') {
      if (listed(capability, lower(value))) out.power_on_behavior = lower(value)!;
    } else if (typeof value === 'number') {
      // Scaled readings (2301 / 10) carry float noise: 230.10000000000002 is 230.1.
      if (Number.isFinite(value)) out[capability] = round6(value);
    } else if (typeof value === 'boolean') {
      out[capability] = value;
    }
  }
  return out;
}

/**
 * A Hearth command as a toZigbee key and value (what Zigbee2MQTT would get as `/set`). `state`
 * is the converters' state of the device: setting one half of a colour pair keeps the other as
 * the device last reported it.
 */
export function converterCommandFor(
  capability: string,
  value: StateValue,
  state: Record<string, unknown> = {},
): { key: string; value: unknown; cluster: string } | undefined {
  const colour = (state.color && typeof state.color === 'object' ? state.color : {}) as Record<string, unknown>;
  const num = (v: unknown, fallback: number) => (typeof v === 'number' ? v : fallback);
  if (typeof value === 'boolean') {
    if (capability === 'switch') return { key: 'state', value: value ? 'ON' : 'OFF', cluster: 'genOnOff' };
    if (capability === 'lock') return { key: 'state', value: value ? 'LOCK' : 'UNLOCK', cluster: 'closuresDoorLock' };
    return undefined;
  }
  if (typeof value === 'number') {
    switch (capability) {
      case 'brightness':
        return { key: 'brightness', value: Math.round((value / 100) * 254), cluster: 'genLevelCtrl' };
      case 'color_temp':
        return { key: 'color_temp', value: mired(value), cluster: 'lightingColorCtrl' };
      case 'color_x':
      case 'color_y': {
        const xy = { x: num(colour.x, 0.3127), y: num(colour.y, 0.329), [capability.slice(-1)]: value };
        return { key: 'color', value: xy, cluster: 'lightingColorCtrl' };
      }
      case 'color_hue':
        return {
          key: 'color',
          value: { hue: value, saturation: num(colour.saturation, 100) },
          cluster: 'lightingColorCtrl',
        };
      case 'color_saturation':
        return { key: 'color', value: { hue: num(colour.hue, 0), saturation: value }, cluster: 'lightingColorCtrl' };
      case 'cover_position':
        return { key: 'position', value, cluster: 'closuresWindowCovering' };
      case 'cover_tilt':
        return { key: 'tilt', value, cluster: 'closuresWindowCovering' };
      case 'setpoint':
        return { key: 'occupied_heating_setpoint', value, cluster: 'hvacThermostat' };
    }
    return undefined;
  }
  if (typeof value === 'string') {
    if (capability === 'cover') return { key: 'state', value: value.toUpperCase(), cluster: 'closuresWindowCovering' };
    if (capability === 'climate_mode') return { key: 'system_mode', value, cluster: 'hvacThermostat' };
    if (capability === 'power_on_behavior') return { key: 'power_on_behavior', value, cluster: 'genOnOff' };
  }
  return undefined;
}
