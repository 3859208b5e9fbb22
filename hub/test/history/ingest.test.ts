import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { historyFixture, type HistoryFixture } from './fixture.ts';

describe('history ingest from the bus', () => {
  let f: HistoryFixture;
  beforeEach(async () => {
    f = await historyFixture({ flushIntervalMs: 1000, flushRows: 100 });
  });
  afterEach(() => f.close());

  const sample = (value: number, capability = 'power', deviceId = 'dev_a') =>
    f.bus.emit('telemetry.sample', { deviceId, capability, value, at: f.clock.now() });

  it('writes a batch when it is a flush interval old, not before', () => {
    sample(10);
    f.clock.advance(400);
    sample(11);
    expect(f.openRows('dev_a', 'power')).toEqual([]);
    f.clock.advance(600);
    expect(f.openRows('dev_a', 'power').map((r) => r.v)).toEqual([10, 11]);
  });

  it('writes a batch as soon as it holds flushRows rows', async () => {
    for (let i = 0; i < 100; i++) {
      sample(i);
      f.clock.advance(1);
    }
    // The full batch is written on the next turn of the event loop, not inside the emit.
    await new Promise((r) => setImmediate(r));
    expect(f.openRows('dev_a', 'power')).toHaveLength(100);
  });

  it('writes the open batch on stop', async () => {
    sample(42);
    await f.service.stop();
    expect(f.openRows('dev_a', 'power').map((r) => r.v)).toEqual([42]);
  });

  it('keeps two readings of the same millisecond 1 ms apart and drops readings from a clock that stepped back', () => {
    const at = f.clock.now();
    f.bus.emit('telemetry.sample', { deviceId: 'dev_a', capability: 'power', value: 1, at });
    f.bus.emit('telemetry.sample', { deviceId: 'dev_a', capability: 'power', value: 2, at });
    f.bus.emit('telemetry.sample', { deviceId: 'dev_a', capability: 'power', value: 3, at: at - 60_000 });
    f.service.ingest.flush();
    expect(f.openRows('dev_a', 'power')).toEqual([
      { t: at, v: 1 },
      { t: at + 1, v: 2 },
    ]);
  });

  it('logs state changes, availability and commands with their actor; telemetry only as samples', () => {
    const at = f.clock.now();
    f.bus.emit('device.state', { deviceId: 'dev_a', capability: 'switch', value: true, previous: false, at });
    f.bus.emit('device.state', { deviceId: 'dev_a', capability: 'power', value: 12, previous: 10, at });
    f.bus.emit('device.availability', { deviceId: 'dev_a', available: false, at });
    const actor = { kind: 'user' as const, userId: 'usr_1', username: 'ann', role: 'member' as const };
    f.bus.emit('device.command', {
      deviceId: 'dev_a',
      capability: 'switch',
      value: false,
      actor,
      outcome: 'device_timeout',
      ms: 5000,
      at,
    });
    // The audit log is a record, not the source of the command log.
    f.bus.emit('audit', {
      actor,
      action: 'device.command',
      target: 'dev_b',
      details: { capability: 'switch', value: true, outcome: 'confirmed' },
      at,
    });
    f.bus.emit('audit', { actor, action: 'room.add', target: 'room_1', at });
    f.service.ingest.flush();
    const rows = f.store.db
      .prepare('SELECT kind, device_id, capability, value, previous, actor, outcome FROM history_events ORDER BY id')
      .all();
    expect(rows).toEqual([
      {
        kind: 'state',
        device_id: 'dev_a',
        capability: 'switch',
        value: 'true',
        previous: 'false',
        actor: null,
        outcome: null,
      },
      {
        kind: 'availability',
        device_id: 'dev_a',
        capability: null,
        value: 'false',
        previous: null,
        actor: null,
        outcome: null,
      },
      {
        kind: 'command',
        device_id: 'dev_a',
        capability: 'switch',
        value: 'false',
        previous: null,
        actor: JSON.stringify(actor),
        outcome: 'device_timeout',
      },
    ]);
  });
});
