import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { advance, contractRule, OWNER, world, type World } from './helpers.ts';
import { nextSun } from '../../src/rules/schedule/solar.ts';

const command = (device: string, value: unknown, capability = 'switch') => ({
  type: 'command',
  device,
  capability,
  value,
});

describe('rule triggers', () => {
  let w: World;
  let button: string;
  let lamp: string;
  beforeEach(async () => {
    w = await world();
    button = await w.device('Switch', ['switch']);
    lamp = await w.device('Lamp', ['switch', 'brightness']);
  });
  afterEach(async () => w.close());

  it('the contract rule: a state change commands another device through the registry, as the rule', async () => {
    const rule = w.rules.create(contractRule(button, lamp), OWNER);
    await w.report(button, { switch: true });
    expect(w.driver.commands.map(({ deviceId, capability, value }) => ({ deviceId, capability, value }))).toEqual([
      { deviceId: lamp, capability: 'switch', value: true },
    ]);
    const audit = w.store.audit.list(20).find((a) => a.action === 'device.command');
    expect(audit).toMatchObject({
      actor: { kind: 'rule', ruleId: rule.id },
      target: lamp,
      details: { outcome: 'confirmed' },
    });
    const [trace] = w.traces(rule.id);
    expect(trace).toMatchObject({
      status: 'done',
      version: 1,
      trigger: { type: 'state', trigger: 0, device: button, capability: 'switch', value: true, previous: null },
      actions: [{ path: 'actions.0', type: 'command', result: 'ok', ms: 0 }],
    });
  });

  it('state with from/to only fires on that change', async () => {
    const rule = w.rules.create(
      {
        ...contractRule(button, lamp),
        triggers: [{ type: 'state', device: button, capability: 'switch', from: true, to: false }],
      },
      OWNER,
    );
    await w.report(button, { switch: true });
    expect(w.driver.commands).toHaveLength(0);
    await w.report(button, { switch: false });
    expect(w.driver.commands).toHaveLength(1);
    expect(w.traces(rule.id)).toHaveLength(1);
  });

  it('"for 10 minutes" fires only once the state held that long, instantly with the manual clock', async () => {
    const motion = await w.device('Hall motion', ['motion']);
    w.rules.create(
      {
        name: 'Hall off',
        mode: 'single',
        triggers: [{ type: 'state', device: motion, capability: 'motion', to: false, for: '10m' }],
        actions: [command(lamp, false)],
      },
      OWNER,
    );
    await w.report(motion, { motion: true });
    await w.report(motion, { motion: false });
    await advance(w.clock, 9 * 60_000);
    await w.report(motion, { motion: true }); // movement again: the hold starts over
    await w.report(motion, { motion: false });
    const quietSince = w.clock.now();
    await advance(w.clock, 9 * 60_000);
    expect(w.driver.commands).toHaveLength(0);
    await advance(w.clock, 60_000);
    expect(w.driver.commands).toEqual([
      { deviceId: lamp, capability: 'switch', value: false, at: quietSince + 600_000 },
    ]);
  });

  it('numeric above fires on the crossing, and with `for` only if it stays above', async () => {
    const sensor = await w.device('Sensor', ['temperature']);
    const rule = w.rules.create(
      {
        name: 'Hot',
        mode: 'single',
        triggers: [{ type: 'numeric', device: sensor, capability: 'temperature', above: 25, for: 60 }],
        actions: [command(lamp, true)],
      },
      OWNER,
    );
    await w.report(sensor, { temperature: 26 });
    await advance(w.clock, 30_000);
    await w.report(sensor, { temperature: 24 });
    await advance(w.clock, 60_000);
    expect(w.driver.commands).toHaveLength(0);
    await w.report(sensor, { temperature: 27 });
    await w.report(sensor, { temperature: 28 }); // still above: not a new crossing
    await advance(w.clock, 60_000);
    expect(w.driver.commands).toHaveLength(1);
    expect(w.traces(rule.id)[0]!.trigger).toMatchObject({ type: 'numeric', value: 27, heldSince: expect.any(Number) });
  });

  it('time of day on weekdays, and cron schedules, in local time', async () => {
    // 2026-01-05 is a Monday; the world starts at 06:00.
    w.rules.create(
      {
        name: 'Wake',
        mode: 'single',
        triggers: [{ type: 'time', at: '07:30', weekdays: ['mon', 'tue'] }],
        actions: [command(lamp, true)],
      },
      OWNER,
    );
    w.rules.create(
      {
        name: 'Every 20',
        mode: 'parallel',
        triggers: [{ type: 'cron', cron: '*/20 6 * * *' }],
        actions: [command(lamp, 50, 'brightness')],
      },
      OWNER,
    );
    await advance(w.clock, 4 * 86_400_000 - 60_000);
    const at = (c: { at: number }) => new Date(c.at).toISOString();
    expect(w.driver.commands.filter((c) => c.capability === 'switch').map(at)).toEqual([
      '2026-01-05T07:30:00.000Z',
      '2026-01-06T07:30:00.000Z',
    ]);
    // 06:20 and 06:40 on the first day (06:00 itself had passed), then three a day.
    expect(w.driver.commands.filter((c) => c.capability === 'brightness')).toHaveLength(2 + 3 * 3);
  });

  it('sunset with an offset at the home location', async () => {
    const home = { latitude: 52.37, longitude: 4.89 };
    w.store.settings.set('home.location', home);
    w.rules.create(
      {
        name: 'Dusk',
        mode: 'single',
        triggers: [{ type: 'sun', event: 'sunset', offset: '-30m' }],
        actions: [command(lamp, true)],
      },
      OWNER,
    );
    const expected = nextSun('sunset', -30 * 60_000, w.clock.now(), home)!;
    await advance(w.clock, 86_400_000);
    expect(w.driver.commands.map((c) => c.at)).toEqual([expected]);
  });

  it('a sun rule without a location is refused', async () => {
    expect(() =>
      w.rules.create(
        { name: 'Dusk', mode: 'single', triggers: [{ type: 'sun', event: 'sunset' }], actions: [command(lamp, true)] },
        OWNER,
      ),
    ).toThrowError(expect.objectContaining({ code: 'location_required' }));
  });

  it('device availability with `for`, and hub start', async () => {
    const rule = w.rules.create(
      {
        name: 'Offline',
        mode: 'single',
        triggers: [{ type: 'availability', device: button, to: 'offline', for: '5m' }, { type: 'hub_start' }],
        actions: [{ type: 'notify', message: 'switch offline or hub started' }],
      },
      OWNER,
    );
    w.driver.ctx.reportAvailability(button, false);
    await advance(w.clock, 5 * 60_000);
    expect(w.traces(rule.id)[0]).toMatchObject({ status: 'done', trigger: { type: 'availability', available: false } });
    await w.restart();
    expect(w.traces(rule.id)[0]).toMatchObject({ status: 'done', trigger: { type: 'hub_start' } });
    const notes = w.store.audit.list(50).filter((a) => a.action === 'rule.notify');
    expect(notes).toHaveLength(2);
    expect(notes[0]).toMatchObject({
      actor: { kind: 'rule', ruleId: rule.id },
      details: { message: 'switch offline or hub started', level: 'info' },
    });
  });

  it('camera events filter by camera and kind', async () => {
    const rule = w.rules.create(
      {
        name: 'Cam',
        mode: 'parallel',
        triggers: [{ type: 'camera', camera: 'cam1', kind: 'person' }],
        actions: [command(lamp, true)],
      },
      OWNER,
    );
    w.bus.emit('recording.event', { cameraId: 'cam2', kind: 'person', at: w.clock.now() });
    w.bus.emit('recording.event', { cameraId: 'cam1', kind: 'motion', at: w.clock.now() });
    w.bus.emit('recording.event', { cameraId: 'cam1', kind: 'person', at: w.clock.now() });
    await advance(w.clock, 0);
    expect(w.traces(rule.id)).toHaveLength(1);
  });
});
