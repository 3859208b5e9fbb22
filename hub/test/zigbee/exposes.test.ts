import { describe, expect, it } from 'vitest';
import { findByDevice } from 'zigbee-herdsman-converters';
import {
  capabilitiesFromExposes,
  converterCommandFor,
  deviceRange,
  type ExposeLike,
  stateFromConverted,
} from '../../src/drivers/zigbee/exposes.ts';

/** A known model's exposes, as zigbee-herdsman-converters defines them. */
async function exposesOf(modelID: string, manufacturerName: string): Promise<ExposeLike[]> {
  const device = { modelID, manufacturerName, endpoints: [], type: 'Router', ieeeAddr: '0x00', isDummyDevice: true };
  const definition = await findByDevice(device as never, false);
  if (!definition) throw new Error(`no definition for ${modelID}`);
  return (
    typeof definition.exposes === 'function' ? definition.exposes(device as never, {}) : definition.exposes
  ) as ExposeLike[];
}

/** zigbee-herdsman-converters exposes and state keys → Hearth capabilities and values. */
describe('Zigbee exposes mapping', () => {
  it('maps exposes to capabilities, leaving out config and per-endpoint features', () => {
    const exposes = [
      { type: 'switch', features: [{ type: 'binary', property: 'state' }] },
      { type: 'enum', property: 'power_on_behavior', category: 'config' },
      { type: 'numeric', property: 'power' },
      { type: 'numeric', property: 'energy' },
      { type: 'numeric', property: 'temperature' },
      { type: 'binary', property: 'contact' },
      { type: 'numeric', property: 'battery' },
      { type: 'enum', property: 'action' },
      { type: 'numeric', property: 'power', endpoint: 'l2' },
      { type: 'numeric', property: 'linkquality' },
    ];
    expect(capabilitiesFromExposes(exposes).sort()).toEqual([
      'battery',
      'button',
      'contact',
      'energy',
      'power',
      'power_on_behavior', // a config expose, but one Hearth offers
      'switch',
      'temperature',
    ]);
    const light = [
      {
        type: 'light',
        features: [
          { type: 'binary', property: 'state' },
          { type: 'numeric', property: 'brightness' },
          { type: 'numeric', property: 'color_temp' },
        ],
      },
    ];
    expect(capabilitiesFromExposes(light).sort()).toEqual(['brightness', 'color_temp', 'switch']);
    expect(capabilitiesFromExposes([{ type: 'numeric', property: 'linkquality' }])).toEqual([]);
  });

  it('maps converted state to Hearth values', () => {
    expect(
      stateFromConverted({ state: 'ON', power: 42.5, energy: 1.2, voltage: 230, current: 0.19, linkquality: 80 }),
    ).toEqual({ switch: true, power: 42.5, energy: 1.2, voltage: 230, current: 0.19 });
    expect(stateFromConverted({ state: 'OFF', brightness: 127 })).toEqual({ switch: false, brightness: 50 });
    expect(
      stateFromConverted({ contact: false, battery: 87, temperature: 21.5, humidity: 40.2, occupancy: true }),
    ).toEqual({ contact: false, battery: 87, temperature: 21.5, humidity: 40.2, occupancy: true });
    expect(stateFromConverted({ action: 'single' })).toEqual({ button: 'single' });
    expect(stateFromConverted({ voltage: (2301 / 10 / 1) * 1 + 1e-13 })).toEqual({ voltage: 230.1 });
    expect(stateFromConverted({ action: '', illuminance: 'bright' })).toEqual({});
  });

  it('turns commands into toZigbee keys and values', () => {
    expect(converterCommandFor('switch', true)).toEqual({ key: 'state', value: 'ON', cluster: 'genOnOff' });
    expect(converterCommandFor('switch', false)).toEqual({ key: 'state', value: 'OFF', cluster: 'genOnOff' });
    expect(converterCommandFor('brightness', 100)).toEqual({ key: 'brightness', value: 254, cluster: 'genLevelCtrl' });
    expect(converterCommandFor('setpoint', 20.5)).toEqual({
      key: 'occupied_heating_setpoint',
      value: 20.5,
      cluster: 'hvacThermostat',
    });
    expect(converterCommandFor('color_temp', 2700)).toMatchObject({ key: 'color_temp', value: 370 });
    // One half of a colour pair keeps the other as the device last reported it.
    expect(converterCommandFor('color_x', 0.6, { color: { x: 0.2, y: 0.31 } })).toMatchObject({
      key: 'color',
      value: { x: 0.6, y: 0.31 },
    });
    expect(converterCommandFor('color_saturation', 40, { color: { hue: 120, saturation: 90 } })).toMatchObject({
      key: 'color',
      value: { hue: 120, saturation: 40 },
    });
    expect(converterCommandFor('cover', 'stop')).toEqual({
      key: 'state',
      value: 'STOP',
      cluster: 'closuresWindowCovering',
    });
    expect(converterCommandFor('cover_position', 30)).toMatchObject({ key: 'position', value: 30 });
    expect(converterCommandFor('cover_tilt', 45)).toMatchObject({ key: 'tilt', value: 45 });
    expect(converterCommandFor('climate_mode', 'heat')).toMatchObject({ key: 'system_mode', value: 'heat' });
    expect(converterCommandFor('lock', false)).toMatchObject({ key: 'state', value: 'UNLOCK' });
    expect(converterCommandFor('power_on_behavior', 'previous')).toMatchObject({ key: 'power_on_behavior' });
    expect(converterCommandFor('power', 5)).toBeUndefined();
  });

  it('maps the exposes of real definitions: colour bulb, blind, remote, thermostat, lock, air and safety sensors', async () => {
    const bulb = await exposesOf('GL-C-008P', 'GLEDOPTO');
    expect(capabilitiesFromExposes(bulb).sort()).toEqual([
      'brightness',
      'color_hue',
      'color_saturation',
      'color_temp',
      'color_x',
      'color_y',
      'power_on_behavior',
      'switch',
    ]);
    // 158–500 mireds: the bulb's own colour temperature range in Kelvin.
    expect(deviceRange(bulb, 'color_temp')).toEqual({ min: 2000, max: 6329 });
    const blind = await exposesOf('FYRTUR block-out roller blind', 'IKEA of Sweden');
    expect(capabilitiesFromExposes(blind).sort()).toEqual(['battery', 'cover', 'cover_position']);
    const remote = await exposesOf('TRADFRI remote control', 'IKEA of Sweden');
    expect(capabilitiesFromExposes(remote).sort()).toEqual(['battery', 'button']);
    const climate = [
      {
        type: 'climate',
        features: [
          { type: 'numeric', property: 'local_temperature' },
          { type: 'numeric', property: 'occupied_heating_setpoint', value_min: 7, value_max: 30 },
          { type: 'enum', property: 'system_mode' },
          { type: 'enum', property: 'running_state' },
        ],
      },
      { type: 'lock', features: [{ type: 'binary', property: 'state' }] },
      ...['illuminance', 'pressure', 'co2', 'pm25', 'voc', 'water_leak', 'smoke', 'vibration'].map((p) => ({
        type: 'numeric',
        property: p,
      })),
      { type: 'cover', features: [{ type: 'numeric', property: 'tilt' }] },
    ];
    expect(capabilitiesFromExposes(climate).sort()).toEqual(
      [
        'temperature',
        'setpoint',
        'climate_mode',
        'running_state',
        'lock',
        'illuminance',
        'pressure',
        'co2',
        'pm25',
        'voc',
        'water_leak',
        'smoke',
        'vibration',
        'cover_tilt',
      ].sort(),
    );
    expect(deviceRange(climate, 'setpoint')).toEqual({ min: 7, max: 30 });
  });

  it('maps the new states: colour, cover, climate, lock, air, safety, power-on behaviour', () => {
    expect(stateFromConverted({ color: { x: 0.7006, y: 0.2993 }, color_temp: 370, color_mode: 'xy' })).toEqual({
      color_x: 0.7006,
      color_y: 0.2993,
      color_temp: 2703,
    });
    expect(stateFromConverted({ color: { hue: 120, saturation: 50 } })).toEqual({
      color_hue: 120,
      color_saturation: 50,
    });
    expect(stateFromConverted({ state: 'OPEN', position: 70, tilt: 20 })).toEqual({
      cover: 'open',
      cover_position: 70,
      cover_tilt: 20,
    });
    expect(
      stateFromConverted({
        local_temperature: 19.5,
        occupied_heating_setpoint: 21,
        system_mode: 'heat',
        running_state: 'idle',
      }),
    ).toEqual({ temperature: 19.5, setpoint: 21, climate_mode: 'heat', running_state: 'idle' });
    expect(stateFromConverted({ system_mode: 'emergency_heating' })).toEqual({}); // no Hearth name for it
    expect(stateFromConverted({ state: 'UNLOCK' })).toEqual({ lock: false });
    expect(
      stateFromConverted({
        pressure: 1013.2,
        co2: 612,
        pm25: 8,
        voc: 120,
        water_leak: true,
        smoke: false,
        vibration: true,
      }),
    ).toEqual({ pressure: 1013.2, co2: 612, pm25: 8, voc: 120, water_leak: true, smoke: false, vibration: true });
    expect(stateFromConverted({ power_on_behavior: 'previous', action: 'brightness_up_click' })).toEqual({
      power_on_behavior: 'previous',
      button: 'brightness_up_click',
    });
  });
});
