import { describe, expect, it } from 'vitest';
import { capabilitiesFor, scalesFromRead, stateFromZcl, zclCommandFor } from '../../src/drivers/zigbee/clusters.ts';

/** The ZCL → capability mapping for the clusters the emulated plug does not exercise. */
describe('Zigbee cluster mapping', () => {
  it('maps clusters to capabilities; an IAS zone by its zone type', () => {
    expect(capabilitiesFor(['genBasic', 'genOnOff', 'seMetering'], {}).sort()).toEqual(['energy', 'power', 'switch']);
    expect(capabilitiesFor(['msTemperatureMeasurement', 'msRelativeHumidity', 'genPowerCfg'], {}).sort()).toEqual(['battery', 'humidity', 'temperature']);
    expect(capabilitiesFor(['ssIasZone'], { iasZoneType: 0x0015 })).toEqual(['contact']);
    expect(capabilitiesFor(['ssIasZone'], { iasZoneType: 0x000d })).toEqual(['motion']);
    expect(capabilitiesFor(['ssIasZone'], { iasZoneType: 0x0028 })).toEqual([]); // fire sensor: not mapped
    expect(capabilitiesFor(['genBasic', 'genIdentify'], {})).toEqual([]);
  });

  it('converts sensor readings with their ZCL units and "no reading" sentinels', () => {
    expect(stateFromZcl('msTemperatureMeasurement', { measuredValue: 2137 }, {})).toEqual({ temperature: 21.37 });
    expect(stateFromZcl('msTemperatureMeasurement', { measuredValue: -0x8000 }, {})).toEqual({});
    expect(stateFromZcl('msRelativeHumidity', { measuredValue: 4550 }, {})).toEqual({ humidity: 45.5 });
    expect(stateFromZcl('msOccupancySensing', { occupancy: 1 }, {})).toEqual({ occupancy: true });
    expect(stateFromZcl('msIlluminanceMeasurement', { measuredValue: 10001 }, {})).toEqual({ illuminance: 10 });
    expect(stateFromZcl('genPowerCfg', { batteryPercentageRemaining: 170 }, {})).toEqual({ battery: 85 });
    expect(stateFromZcl('ssIasZone', { zoneStatus: 0x0001 }, { iasZoneType: 0x0015 })).toEqual({ contact: false });
    expect(stateFromZcl('ssIasZone', { zoneStatus: 0x0000 }, { iasZoneType: 0x0015 })).toEqual({ contact: true });
    expect(stateFromZcl('ssIasZone', { zoneStatus: 0x0001 }, { iasZoneType: 0x000d })).toEqual({ motion: true });
    expect(stateFromZcl('genLevelCtrl', { currentLevel: 127 }, {})).toEqual({ brightness: 50 });
    expect(stateFromZcl('genOnOff', { somethingElse: 1 }, {})).toEqual({});
  });

  it('scales electrical and metering readings by the multipliers and divisors read at adoption', () => {
    let scales = scalesFromRead('haElectricalMeasurement', { acPowerMultiplier: 1, acPowerDivisor: 10 }, {});
    scales = scalesFromRead('haElectricalMeasurement', { acVoltageDivisor: 100, acCurrentDivisor: 1000 }, scales);
    scales = scalesFromRead('seMetering', { multiplier: 1, divisor: 1000 }, scales);
    expect(stateFromZcl('haElectricalMeasurement', { activePower: 1234, rmsVoltage: 23012, rmsCurrent: 512 }, scales)).toEqual({ power: 123.4, voltage: 230.12, current: 0.512 });
    expect(stateFromZcl('seMetering', { currentSummDelivered: 98765, instantaneousDemand: 2 }, scales)).toEqual({ energy: 98.765, power: 2 });
    // A divisor of 0 (not set) is treated as 1, never a division by zero.
    expect(stateFromZcl('haElectricalMeasurement', { activePower: 7 }, scalesFromRead('haElectricalMeasurement', { acPowerDivisor: 0 }, {}))).toEqual({ power: 7 });
  });

  it('turns commands into ZCL cluster commands', () => {
    expect(zclCommandFor('switch', true)).toEqual({ cluster: 'genOnOff', command: 'on', payload: {} });
    expect(zclCommandFor('switch', false)).toEqual({ cluster: 'genOnOff', command: 'off', payload: {} });
    expect(zclCommandFor('brightness', 100)).toEqual({ cluster: 'genLevelCtrl', command: 'moveToLevelWithOnOff', payload: { level: 254, transtime: 0 } });
    expect(zclCommandFor('lock', true)).toBeUndefined();
  });
});
