import type { StateValue } from '@hearth/model/values';

/**
 * zigbee-herdsman-converters speaks in "exposes" and Zigbee2MQTT-style state keys (`state: 'ON'`,
 * `power`, `brightness` 0–254, `contact`, `action`...). This maps them onto Hearth capabilities:
 * what a device can do (from its definition's exposes) and what it says (from the fromZigbee
 * converters' output). Features without a Hearth capability (power-on behaviour, LED modes,
 * child lock...) are left out.
 */

/** The parts of an expose this mapping reads (the converters' Base/Feature classes). */
export interface ExposeLike {
  type: string;
  name?: string;
  property?: string;
  endpoint?: string;
  category?: string;
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
  battery: 'battery',
  occupancy: 'occupancy',
  presence: 'occupancy',
  contact: 'contact',
  action: 'button',
};

/** Hearth capabilities for a definition's exposes (only features without an endpoint suffix). */
export function capabilitiesFromExposes(exposes: ExposeLike[]): string[] {
  const caps = new Set<string>();
  const visit = (e: ExposeLike, parent?: string) => {
    if (e.endpoint) return; // multi-endpoint devices: the unsuffixed properties only, for now
    if (e.category === 'config') return;
    if (e.features) {
      for (const f of e.features) visit(f, e.type);
      return;
    }
    const property = e.property ?? e.name;
    if (!property) return;
    if (property === 'state' && (parent === 'switch' || parent === 'light')) caps.add('switch');
    else if (property === 'brightness' && parent === 'light') caps.add('brightness');
    else if (property === 'state' && parent === 'lock') caps.add('lock');
    else if (PROPERTY_CAPABILITY[property] && !parent) caps.add(PROPERTY_CAPABILITY[property]!);
  };
  for (const e of exposes) visit(e);
  return [...caps];
}

/** Hearth state from the merged output of fromZigbee converters. */
export function stateFromConverted(payload: Record<string, unknown>): Record<string, StateValue> {
  const out: Record<string, StateValue> = {};
  for (const [key, value] of Object.entries(payload)) {
    if (key === 'state') {
      if (value === 'ON' || value === 'OFF') out.switch = value === 'ON';
      else if (value === 'LOCK' || value === 'UNLOCK') out.lock = value === 'LOCK';
      continue;
    }
    if (key === 'brightness' && typeof value === 'number') {
      out.brightness = Math.round((Math.min(Math.max(value, 0), 254) / 254) * 100);
      continue;
    }
    const capability = PROPERTY_CAPABILITY[key];
    if (!capability) continue;
    if (capability === 'button') {
      if (typeof value === 'string' && value !== '') out.button = value;
    } else if (typeof value === 'number') {
      // Scaled readings (2301 / 10) carry float noise: 230.10000000000002 is 230.1.
      if (Number.isFinite(value)) out[capability] = Math.round(value * 1e6) / 1e6;
    } else if (typeof value === 'boolean') {
      out[capability] = value;
    }
  }
  return out;
}

/** A Hearth command as a toZigbee key and value (what Zigbee2MQTT would get as `/set`). */
export function converterCommandFor(
  capability: string,
  value: StateValue,
): { key: string; value: unknown; cluster: string } | undefined {
  if (capability === 'switch' && typeof value === 'boolean')
    return { key: 'state', value: value ? 'ON' : 'OFF', cluster: 'genOnOff' };
  if (capability === 'brightness' && typeof value === 'number')
    return { key: 'brightness', value: Math.round((value / 100) * 254), cluster: 'genLevelCtrl' };
  if (capability === 'lock' && typeof value === 'boolean')
    return { key: 'state', value: value ? 'LOCK' : 'UNLOCK', cluster: 'closuresDoorLock' };
  return undefined;
}
