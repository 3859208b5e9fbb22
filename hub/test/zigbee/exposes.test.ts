import { describe, expect, it } from 'vitest';
import { capabilitiesFromExposes, converterCommandFor, stateFromConverted } from '../../src/drivers/zigbee/exposes.ts';

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
    expect(capabilitiesFromExposes(light).sort()).toEqual(['brightness', 'switch']);
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
    expect(converterCommandFor('setpoint', 20)).toBeUndefined();
  });
});
