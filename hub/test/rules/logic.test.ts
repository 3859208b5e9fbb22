import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { advance, OWNER, world, type World } from './helpers.ts';
import type { BusEvents } from '../../src/core/bus.ts';

const command = (device: string, value: unknown, capability = 'switch') => ({
  type: 'command',
  device,
  capability,
  value,
});

describe('rule conditions and actions', () => {
  let w: World;
  let button: string;
  let lamp: string;
  let sensor: string;
  let presses = 0;
  const press = () => w.report(button, { button: `press-${++presses}` });
  beforeEach(async () => {
    w = await world(); // Monday 2026-01-05 06:00 UTC
    button = await w.device('Button', ['button']);
    lamp = await w.device('Lamp', ['switch', 'brightness']);
    sensor = await w.device('Sensor', ['temperature']);
  });
  afterEach(async () => w.close());

  const rule = (extra: Record<string, unknown>) =>
    w.rules.create(
      {
        name: 'R',
        mode: 'parallel',
        triggers: [{ type: 'state', device: button, capability: 'button' }],
        actions: [command(lamp, true)],
        ...extra,
      },
      OWNER,
    );

  it('conditions are traced with the values they saw; a failed condition means no run', async () => {
    await w.report(sensor, { temperature: 18 });
    const r = rule({
      conditions: [
        { type: 'numeric', device: sensor, capability: 'temperature', below: 20 },
        {
          type: 'or',
          conditions: [
            { type: 'weekday', days: ['sat', 'sun'] },
            { type: 'time', after: '22:00', before: '07:00' },
          ],
        },
        { type: 'not', conditions: [{ type: 'state', device: lamp, capability: 'switch', value: true }] },
      ],
    });
    await press();
    expect(w.driver.commands).toHaveLength(1);
    expect(w.traces(r.id)[0]!.conditions).toEqual([
      { path: 'conditions.0', type: 'numeric', result: true, seen: { value: 18 } },
      { path: 'conditions.1.conditions.0', type: 'weekday', result: false, seen: { weekday: 'mon' } },
      { path: 'conditions.1.conditions.1', type: 'time', result: true, seen: { time: '06:00:00' } },
      { path: 'conditions.1', type: 'or', result: true },
      { path: 'conditions.2.conditions.0', type: 'state', result: false, seen: { value: null } },
      { path: 'conditions.2', type: 'not', result: true },
    ]);
    // The lamp is on now, so `not` fails the second time.
    await press();
    expect(w.driver.commands).toHaveLength(1);
    expect(w.traces(r.id)[0]).toMatchObject({ status: 'conditions_failed', actions: [] });
  });

  it('sun condition: after sunset and before sunrise', async () => {
    w.store.settings.set('home.location', { latitude: 52.37, longitude: 4.89 });
    const r = rule({ conditions: [{ type: 'sun', after: 'sunset', before: 'sunrise' }] });
    await press(); // 06:00 UTC in Amsterdam in January: still dark
    expect(w.traces(r.id)[0]).toMatchObject({ status: 'done', conditions: [{ type: 'sun', result: true }] });
    await advance(w.clock, 6 * 3_600_000); // noon
    await press();
    expect(w.traces(r.id)[0]).toMatchObject({ status: 'conditions_failed' });
  });

  it('delay, if/else, choose, repeat and notify run in order, each traced with result and duration', async () => {
    const r = rule({
      actions: [
        command(lamp, true),
        { type: 'delay', for: '5m' },
        {
          type: 'if',
          conditions: [{ type: 'state', device: lamp, capability: 'switch', value: false }],
          then: [command(lamp, 1, 'brightness')],
          else: [command(lamp, 2, 'brightness')],
        },
        {
          type: 'choose',
          choices: [
            { conditions: [{ type: 'time', before: '06:00' }], actions: [command(lamp, 3, 'brightness')] },
            { conditions: [{ type: 'time', after: '06:00' }], actions: [command(lamp, 4, 'brightness')] },
          ],
          default: [command(lamp, 5, 'brightness')],
        },
        { type: 'repeat', count: 3, actions: [command(lamp, false), command(lamp, true)] },
        { type: 'notify', message: 'done', level: 'warning' },
      ],
    });
    const notes: BusEvents['rule.notify'][] = [];
    w.bus.on('test', 'rule.notify', (e) => {
      notes.push(e);
    });
    await press();
    expect(w.driver.commands.map((c) => c.value)).toEqual([true]);
    await advance(w.clock, 5 * 60_000);
    expect(w.driver.commands.map((c) => c.value)).toEqual([true, 2, 4, false, true, false, true, false, true]);
    const trace = w.traces(r.id)[0]!;
    expect(trace.status).toBe('done');
    expect(trace.actions.map((a) => [a.path, a.result])).toEqual([
      ['actions.0', 'ok'],
      ['actions.1', 'ok'],
      ['actions.2', 'ok'],
      ['actions.2.else.0', 'ok'],
      ['actions.3', 'ok'],
      ['actions.3.choices.1.actions.0', 'ok'],
      ['actions.4', 'ok'],
      ...[0, 1, 2].flatMap(() => [
        ['actions.4.actions.0', 'ok'],
        ['actions.4.actions.1', 'ok'],
      ]),
      ['actions.5', 'ok'],
    ]);
    const at = (path: string) => trace.actions.find((a) => a.path === path);
    expect(at('actions.1')).toMatchObject({ type: 'delay', ms: 300_000 });
    expect(at('actions.2')).toMatchObject({ branch: 'else' });
    expect(at('actions.3')).toMatchObject({ chose: 1 });
    expect(at('actions.4')).toMatchObject({ passes: 3 });
    expect(w.store.audit.list(5).find((a) => a.action === 'rule.notify')).toMatchObject({
      details: { message: 'done', level: 'warning', runId: trace.runId },
    });
    // The relay's push listens to this event, not to the audit log.
    expect(notes).toEqual([{ ruleId: r.id, runId: trace.runId, message: 'done', level: 'warning', at: w.clock.now() }]);
  });

  it('wait for a trigger: continues on the event, or on timeout (stops if asked)', async () => {
    const door = await w.device('Door', ['contact']);
    const waitFor = (extra: Record<string, unknown>) => ({
      type: 'wait',
      triggers: [{ type: 'state', device: door, capability: 'contact', to: false }],
      timeout: '2m',
      ...extra,
    });
    const r = rule({ actions: [waitFor({}), command(lamp, true)] });
    await press();
    await advance(w.clock, 60_000);
    await w.report(door, { contact: true });
    await w.report(door, { contact: false });
    expect(w.driver.commands).toHaveLength(1);
    expect(w.traces(r.id)[0]!.actions[0]).toMatchObject({
      waited: 'triggered',
      ms: 60_000,
      event: { device: door, value: false },
    });
    const s = w.rules.update(
      r.id,
      {
        name: 'R',
        mode: 'parallel',
        triggers: [{ type: 'state', device: button, capability: 'button' }],
        actions: [waitFor({ continueOnTimeout: false }), command(lamp, false)],
      },
      OWNER,
    );
    await press();
    await advance(w.clock, 2 * 60_000);
    expect(w.driver.commands).toHaveLength(1);
    expect(w.traces(s.id)[0]).toMatchObject({
      status: 'stopped',
      actions: [{ waited: 'timeout', result: 'stopped', ms: 120_000 }],
    });
  });

  it('a failed command fails the run with its code, unless continueOnError', async () => {
    w.driver.confirm = false;
    const r = rule({ actions: [command(lamp, true), command(lamp, false)] });
    await press();
    await advance(w.clock, 5000);
    expect(w.traces(r.id)[0]).toMatchObject({
      status: 'failed',
      reason: 'device_timeout',
      actions: [{ result: 'error', error: { code: 'device_timeout' } }],
    });
    w.rules.update(
      r.id,
      {
        name: 'R',
        mode: 'parallel',
        triggers: [{ type: 'state', device: button, capability: 'button' }],
        actions: [
          { ...command(lamp, true), continueOnError: true },
          { type: 'notify', message: 'after' },
        ],
      },
      OWNER,
    );
    await press();
    await advance(w.clock, 5000);
    expect(w.traces(r.id)[0]).toMatchObject({
      status: 'done',
      actions: [{ result: 'ok', ignoredError: 'device_timeout' }, { result: 'ok' }],
    });
  });

  it('enable_rule / disable_rule switch another rule', async () => {
    const other = rule({ actions: [command(lamp, true)] });
    w.rules.setEnabled(other.id, false, OWNER);
    const sensorRule = w.rules.create(
      {
        name: 'Hot',
        mode: 'single',
        triggers: [{ type: 'numeric', device: sensor, capability: 'temperature', above: 30 }],
        actions: [{ type: 'enable_rule', rule: other.id }],
      },
      OWNER,
    );
    await press();
    expect(w.driver.commands).toHaveLength(0);
    await w.report(sensor, { temperature: 31 });
    expect(w.rules.get(other.id).enabled).toBe(true);
    expect(w.store.audit.list(5).find((a) => a.action === 'rule.enable')).toMatchObject({
      actor: { kind: 'rule', ruleId: sensorRule.id },
      target: other.id,
    });
    await press();
    expect(w.driver.commands).toHaveLength(1);
  });
});

describe('scene action', () => {
  let w: World;
  afterEach(async () => w.close());

  it('applies every state at once and traces each outcome; validation points into states', async () => {
    w = await world();
    const button = await w.device('Button', ['button']);
    const a = await w.device('A', ['switch', 'brightness']);
    const b = await w.device('B', ['switch']);
    const r = w.rules.create(
      {
        name: 'Movie',
        mode: 'single',
        triggers: [{ type: 'state', device: button, capability: 'button' }],
        actions: [
          {
            type: 'scene',
            states: [
              { device: a, capability: 'brightness', value: 20 },
              { device: b, capability: 'switch', value: false },
            ],
          },
        ],
      },
      OWNER,
    );
    await w.report(button, { button: 'press' });
    expect(w.driver.commands.map((c) => [c.deviceId, c.value])).toEqual([
      [a, 20],
      [b, false],
    ]);
    expect(w.traces(r.id)[0]!.actions[0]).toMatchObject({
      type: 'scene',
      result: 'ok',
      states: [
        { device: a, result: 'ok' },
        { device: b, result: 'ok' },
      ],
    });
    expect(() =>
      w.rules.create(
        {
          name: 'Bad',
          mode: 'single',
          triggers: [{ type: 'state', device: button, capability: 'button' }],
          actions: [
            {
              type: 'scene',
              states: [
                { device: a, capability: 'brightness', value: 20 },
                { device: b, capability: 'brightness', value: 1 },
              ],
            },
          ],
        },
        OWNER,
      ),
    ).toThrowError(
      expect.objectContaining({
        code: 'validation_failed',
        details: expect.objectContaining({ path: 'actions.0.states.1.capability' }),
      }),
    );
  });
});
