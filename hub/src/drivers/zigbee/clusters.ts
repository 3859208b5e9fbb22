import type { StateValue } from '../../core/bus.ts';

/**
 * Zigbee Cluster Library → Hearth capabilities, mapped directly from the ZCL clusters a device
 * lists on its endpoints (not through zigbee-herdsman-converters' per-model definitions: one
 * generic mapping covers standard-conforming devices; quirky models would need converters).
 *
 * Cluster and attribute names are zigbee-herdsman's (they are the ZCL spec's, camel-cased).
 */

/** ZCL IAS zone types that mean "contact" and "motion" (ZCL 8.2.2.2.1.3). */
const IAS_CONTACT_SWITCH = 0x0015;
const IAS_MOTION_SENSOR = 0x000d;

export interface ClusterMapping {
  cluster: string;
  /** Capabilities this cluster gives a device (some depend on attributes read at adoption). */
  capabilities(scales: Scales): string[];
  /** The attributes worth reading at adoption and having reported. */
  attributes: string[];
}

/**
 * Per-device scaling read once when the device is adopted (electrical measurement multipliers
 * and divisors, metering's, the IAS zone type), stored in the device's config.
 */
export interface Scales {
  acPowerMultiplier?: number;
  acPowerDivisor?: number;
  acVoltageMultiplier?: number;
  acVoltageDivisor?: number;
  acCurrentMultiplier?: number;
  acCurrentDivisor?: number;
  meteringMultiplier?: number;
  meteringDivisor?: number;
  iasZoneType?: number;
}

export const SCALE_ATTRIBUTES: Record<string, string[]> = {
  haElectricalMeasurement: ['acPowerMultiplier', 'acPowerDivisor', 'acVoltageMultiplier', 'acVoltageDivisor', 'acCurrentMultiplier', 'acCurrentDivisor'],
  seMetering: ['multiplier', 'divisor'],
  ssIasZone: ['zoneType'],
};

export const CLUSTERS: ClusterMapping[] = [
  { cluster: 'genOnOff', capabilities: () => ['switch'], attributes: ['onOff'] },
  { cluster: 'genLevelCtrl', capabilities: () => ['brightness'], attributes: ['currentLevel'] },
  { cluster: 'haElectricalMeasurement', capabilities: () => ['power', 'voltage', 'current'], attributes: ['activePower', 'rmsVoltage', 'rmsCurrent'] },
  { cluster: 'seMetering', capabilities: () => ['energy', 'power'], attributes: ['currentSummDelivered', 'instantaneousDemand'] },
  { cluster: 'msTemperatureMeasurement', capabilities: () => ['temperature'], attributes: ['measuredValue'] },
  { cluster: 'msRelativeHumidity', capabilities: () => ['humidity'], attributes: ['measuredValue'] },
  { cluster: 'msIlluminanceMeasurement', capabilities: () => ['illuminance'], attributes: ['measuredValue'] },
  { cluster: 'msOccupancySensing', capabilities: () => ['occupancy'], attributes: ['occupancy'] },
  { cluster: 'genPowerCfg', capabilities: () => ['battery'], attributes: ['batteryPercentageRemaining'] },
  {
    cluster: 'ssIasZone',
    capabilities: (s) => (s.iasZoneType === IAS_MOTION_SENSOR ? ['motion'] : s.iasZoneType === IAS_CONTACT_SWITCH || s.iasZoneType === undefined ? ['contact'] : []),
    attributes: ['zoneStatus'],
  },
];

/** The capabilities of a device from the input (server) clusters of its endpoints. */
export function capabilitiesFor(inputClusters: string[], scales: Scales): string[] {
  const caps = new Set<string>();
  for (const mapping of CLUSTERS) {
    if (inputClusters.includes(mapping.cluster)) for (const c of mapping.capabilities(scales)) caps.add(c);
  }
  return [...caps];
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

function scaled(raw: number, multiplier: number | undefined, divisor: number | undefined): number {
  const m = multiplier && multiplier > 0 ? multiplier : 1;
  const d = divisor && divisor > 0 ? divisor : 1;
  return round((raw * m) / d, 6);
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/**
 * Hearth state from one ZCL message's attributes (a report or a read response), or from a
 * cluster command a device sends (IAS zone status change). Unknown attributes are ignored.
 */
export function stateFromZcl(cluster: string, data: Record<string, unknown>, scales: Scales): Record<string, StateValue> {
  const out: Record<string, StateValue> = {};
  switch (cluster) {
    case 'genOnOff': {
      const v = num(data.onOff);
      if (v !== undefined) out.switch = v === 1;
      break;
    }
    case 'genLevelCtrl': {
      const v = num(data.currentLevel);
      if (v !== undefined) out.brightness = Math.round((Math.min(v, 254) / 254) * 100);
      break;
    }
    case 'haElectricalMeasurement': {
      const p = num(data.activePower);
      if (p !== undefined && p !== -0x8000) out.power = scaled(p, scales.acPowerMultiplier, scales.acPowerDivisor);
      const v = num(data.rmsVoltage);
      if (v !== undefined && v !== 0xffff) out.voltage = scaled(v, scales.acVoltageMultiplier, scales.acVoltageDivisor);
      const c = num(data.rmsCurrent);
      if (c !== undefined && c !== 0xffff) out.current = scaled(c, scales.acCurrentMultiplier, scales.acCurrentDivisor);
      break;
    }
    case 'seMetering': {
      const e = num(data.currentSummDelivered);
      if (e !== undefined) out.energy = scaled(e, scales.meteringMultiplier, scales.meteringDivisor);
      // instantaneousDemand is in kW with the same formatting: Hearth's power is W.
      const d = num(data.instantaneousDemand);
      if (d !== undefined) out.power = round(scaled(d, scales.meteringMultiplier, scales.meteringDivisor) * 1000, 3);
      break;
    }
    case 'msTemperatureMeasurement': {
      const v = num(data.measuredValue);
      if (v !== undefined && v !== -0x8000) out.temperature = round(v / 100, 2);
      break;
    }
    case 'msRelativeHumidity': {
      const v = num(data.measuredValue);
      if (v !== undefined && v !== 0xffff) out.humidity = round(Math.min(v / 100, 100), 2);
      break;
    }
    case 'msIlluminanceMeasurement': {
      const v = num(data.measuredValue);
      if (v !== undefined && v !== 0xffff) out.illuminance = v === 0 ? 0 : round(10 ** ((v - 1) / 10000), 1);
      break;
    }
    case 'msOccupancySensing': {
      const v = num(data.occupancy);
      if (v !== undefined) out.occupancy = (v & 0x01) === 1;
      break;
    }
    case 'genPowerCfg': {
      const v = num(data.batteryPercentageRemaining);
      if (v !== undefined && v !== 0xff) out.battery = Math.min(100, Math.round(v / 2));
      break;
    }
    case 'ssIasZone': {
      const v = num(data.zoneStatus);
      if (v === undefined) break;
      const alarm = (v & 0x01) === 1;
      if (scales.iasZoneType === IAS_MOTION_SENSOR) out.motion = alarm;
      else out.contact = !alarm; // contact switch: alarm1 set = open
      break;
    }
  }
  return out;
}

/** Scales from a read of SCALE_ATTRIBUTES, merged over what the device had. */
export function scalesFromRead(cluster: string, data: Record<string, unknown>, previous: Scales): Scales {
  const next: Scales = { ...previous };
  const set = (key: keyof Scales, v: unknown) => {
    const n = num(v);
    if (n !== undefined && n > 0) next[key] = n;
  };
  if (cluster === 'haElectricalMeasurement') {
    set('acPowerMultiplier', data.acPowerMultiplier);
    set('acPowerDivisor', data.acPowerDivisor);
    set('acVoltageMultiplier', data.acVoltageMultiplier);
    set('acVoltageDivisor', data.acVoltageDivisor);
    set('acCurrentMultiplier', data.acCurrentMultiplier);
    set('acCurrentDivisor', data.acCurrentDivisor);
  } else if (cluster === 'seMetering') {
    set('meteringMultiplier', data.multiplier);
    set('meteringDivisor', data.divisor);
  } else if (cluster === 'ssIasZone') {
    set('iasZoneType', data.zoneType);
  }
  return next;
}

/** A Hearth command as a ZCL cluster command, or undefined if the capability has none. */
export function zclCommandFor(capability: string, value: StateValue): { cluster: string; command: string; payload: Record<string, unknown> } | undefined {
  if (capability === 'switch' && typeof value === 'boolean') return { cluster: 'genOnOff', command: value ? 'on' : 'off', payload: {} };
  if (capability === 'brightness' && typeof value === 'number') {
    return { cluster: 'genLevelCtrl', command: 'moveToLevelWithOnOff', payload: { level: Math.round((value / 100) * 254), transtime: 0 } };
  }
  return undefined;
}
