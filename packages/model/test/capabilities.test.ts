import { describe, expect, it } from 'vitest';
import {
  CAPABILITIES,
  capabilitySpec,
  checkValue,
  isKnownCapability,
  pressOf,
  ruleUse,
  valueProblem,
} from '../src/capabilities.ts';
import { ERROR_STATUS } from '../src/errors.ts';

describe('the capability model', () => {
  const entries = Object.entries(CAPABILITIES);

  it('each entry is consistent: ranges and display on numbers only, a chart only for a unit-bearing telemetry reading', () => {
    const odd: string[] = [];
    for (const [name, spec] of entries) {
      const numeric = spec.type === 'number';
      if (!numeric && (spec.min !== undefined || spec.max !== undefined || spec.digits !== undefined || spec.telemetry))
        odd.push(`${name}: number-only field`);
      if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max) odd.push(`${name}: min > max`);
      if (spec.digits !== undefined && !spec.unit) odd.push(`${name}: digits without a unit`);
      if ((spec.chart === 'line' || spec.chart === 'energy') && !(spec.telemetry && spec.unit))
        odd.push(`${name}: charted but not a telemetry reading with a unit`);
      if (spec.chart === 'state' && numeric) odd.push(`${name}: a state timeline of a number`);
      if (spec.chart === 'events' && !spec.event) odd.push(`${name}: event marks for a level`);
      if (spec.values && (spec.type !== 'string' || spec.values.length === 0))
        odd.push(`${name}: values on a non-string`);
      if (spec.confirm && !spec.writable) odd.push(`${name}: confirmation for something that cannot be set`);
      if (spec.event && spec.writable) odd.push(`${name}: an event cannot be set`);
    }
    expect(odd).toEqual([]);
    expect(entries.length).toBeGreaterThan(10);
  });

  it('knows its own names and nothing inherited from Object', () => {
    expect(isKnownCapability('switch')).toBe(true);
    expect(capabilitySpec('power')).toMatchObject({ type: 'number', unit: 'W', chart: 'line' });
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'nope']) {
      expect(isKnownCapability(name)).toBe(false);
      expect(capabilitySpec(name)).toBeUndefined();
    }
  });

  it('checkValue accepts what fits and gives a reason naming the capability for what does not', () => {
    for (const [name, value] of [
      ['switch', true],
      ['brightness', 100],
      ['brightness', 0],
      ['button', 'double'],
      ['setpoint', 5],
    ] as const) {
      expect(checkValue(name, value), `${name} ${value}`).toBeUndefined();
    }
    for (const [name, value] of [
      ['switch', 1],
      ['switch', null],
      ['brightness', 101],
      ['brightness', -1],
      ['setpoint', 4],
      ['power', Number.NaN],
      ['power', Infinity],
      ['power', '5'],
      ['nope', 1],
    ] as const) {
      expect(checkValue(name, value), `${name} ${value}`).toContain(name);
    }
  });

  it('has every capability of the devices people own, with units, ranges and how it is charted', () => {
    const want: Record<string, Partial<(typeof CAPABILITIES)[string]>> = {
      color_x: { type: 'number', writable: true, min: 0, max: 1 },
      color_y: { type: 'number', writable: true, min: 0, max: 1 },
      color_hue: { type: 'number', writable: true, unit: '°', min: 0, max: 360 },
      color_saturation: { type: 'number', writable: true, unit: '%', min: 0, max: 100 },
      color_temp: { type: 'number', writable: true, unit: 'K' },
      cover_position: { type: 'number', writable: true, unit: '%', min: 0, max: 100 },
      cover_tilt: { type: 'number', writable: true, unit: '%', min: 0, max: 100 },
      cover: { type: 'string', writable: true, values: ['open', 'close', 'stop'] },
      climate_mode: { type: 'string', writable: true },
      running_state: { type: 'string', writable: false },
      setpoint: { type: 'number', writable: true, unit: '°C' },
      lock: { type: 'boolean', writable: true, confirm: true },
      button: { type: 'string', writable: false, event: true, chart: 'events' },
      illuminance: { unit: 'lx', chart: 'line', telemetry: true },
      pressure: { unit: 'hPa', chart: 'line', telemetry: true },
      co2: { unit: 'ppm', chart: 'line', telemetry: true },
      pm25: { unit: 'µg/m³', chart: 'line', telemetry: true },
      voc: { unit: 'ppb', chart: 'line', telemetry: true },
      water_leak: { type: 'boolean', writable: false, chart: 'state' },
      smoke: { type: 'boolean', writable: false, chart: 'state' },
      vibration: { type: 'boolean', writable: false, chart: 'state' },
      power_on_behavior: { type: 'string', writable: true, values: ['off', 'on', 'toggle', 'previous'] },
    };
    for (const [name, spec] of Object.entries(want)) expect(capabilitySpec(name), name).toMatchObject(spec);
  });

  it('refuses commands out of range or off the list with stable codes, and a device range narrows the model', () => {
    expect(valueProblem('cover_position', 101)?.code).toBe('value_out_of_range');
    expect(valueProblem('color_x', -0.1)?.code).toBe('value_out_of_range');
    expect(valueProblem('color_hue', 360.5)?.code).toBe('value_out_of_range');
    expect(valueProblem('setpoint', 36)?.code).toBe('value_out_of_range');
    expect(valueProblem('co2', -1)?.code).toBe('value_out_of_range');
    expect(valueProblem('cover', 'up')?.code).toBe('value_not_allowed');
    expect(valueProblem('climate_mode', 'turbo')?.code).toBe('value_not_allowed');
    expect(valueProblem('power_on_behavior', 'ON')?.code).toBe('value_not_allowed');
    expect(valueProblem('cover', 1)?.code).toBe('validation_failed');
    expect(valueProblem('lock', null)?.code).toBe('validation_failed');
    expect(valueProblem('cover', 'stop')).toBeUndefined();
    expect(valueProblem('climate_mode', 'heat')).toBeUndefined();
    expect(valueProblem('button', '2_double')).toBeUndefined(); // a remote's names are its own
    // A bulb from 2200 K to 6500 K: 2000 fits the model but not the bulb.
    expect(valueProblem('color_temp', 2000)).toBeUndefined();
    expect(valueProblem('color_temp', 2000, { min: 2200, max: 6500 })).toMatchObject({
      code: 'value_out_of_range',
      message: 'color_temp must be >= 2200',
    });
    expect(valueProblem('color_temp', 6600, { min: 2200, max: 6500 })?.code).toBe('value_out_of_range');
    // The codes are listed once with their status.
    expect([ERROR_STATUS.value_out_of_range, ERROR_STATUS.value_not_allowed]).toEqual([400, 400]);
  });

  it('says how rules use each: events trigger on each press, numbers on thresholds, levels on change', () => {
    expect(ruleUse('button')).toEqual({ trigger: 'event', settable: false });
    expect(ruleUse('co2')).toEqual({ trigger: 'numeric', settable: false });
    expect(ruleUse('cover_position')).toEqual({ trigger: 'numeric', settable: true });
    expect(ruleUse('water_leak')).toEqual({ trigger: 'state', settable: false });
    expect(ruleUse('climate_mode')).toEqual({ trigger: 'state', settable: true });
    expect(ruleUse('nope')).toBeUndefined();
    expect(pressOf('2_double')).toEqual({ button: '2', press: 'double' });
    expect(pressOf('button_3_hold')).toEqual({ button: 'button_3', press: 'hold' });
    expect(pressOf('single')).toEqual({ press: 'single' });
    expect(pressOf('brightness_move_up')).toEqual({ press: 'brightness_move_up' });
  });
});
