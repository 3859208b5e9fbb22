import { describe, it, expect } from 'vitest';
import { EventBus } from '../../src/core/bus.ts';

describe('EventBus', () => {
  it("delivers to every listener and removes an owner's listeners at once", () => {
    const bus = new EventBus();
    const seen: string[] = [];
    bus.on('a', 'device.added', (e) => {
      seen.push(`a:${e.deviceId}`);
    });
    bus.on('b', 'device.added', (e) => {
      seen.push(`b:${e.deviceId}`);
    });
    bus.on('a', 'device.removed', (e) => {
      seen.push(`a-removed:${e.deviceId}`);
    });
    bus.emit('device.added', { deviceId: 'd1', at: 1 });
    bus.offOwner('a');
    bus.emit('device.added', { deviceId: 'd2', at: 2 });
    bus.emit('device.removed', { deviceId: 'd3', at: 3 });
    expect(seen).toEqual(['a:d1', 'b:d1', 'b:d2']);
  });

  it('isolates a throwing or rejecting listener', async () => {
    const bus = new EventBus();
    const seen: number[] = [];
    bus.on('bad', 'telemetry.sample', () => {
      throw new Error('boom');
    });
    bus.on('worse', 'telemetry.sample', async () => {
      throw new Error('async boom');
    });
    bus.on('good', 'telemetry.sample', (e) => {
      seen.push(e.value);
    });
    expect(() => bus.emit('telemetry.sample', { deviceId: 'd', capability: 'power', value: 5, at: 0 })).not.toThrow();
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([5]);
  });
});
