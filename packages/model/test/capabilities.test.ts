import { describe, expect, it } from 'vitest';
import { CAPABILITIES, capabilitySpec, checkValue, isKnownCapability } from '../src/capabilities.ts';

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
      if (spec.chart && !(spec.telemetry && spec.unit))
        odd.push(`${name}: charted but not a telemetry reading with a unit`);
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
});
