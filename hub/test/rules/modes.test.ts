import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { advance, contractRule, OWNER, world, type World } from './helpers.ts';

describe('rule modes, loops and validation', () => {
  let w: World;
  let button: string;
  let lamp: string;
  let presses = 0;
  const press = () => w.report(button, { button: `press-${++presses}` });
  beforeEach(async () => {
    w = await world();
    button = await w.device('Button', ['button']);
    lamp = await w.device('Lamp', ['switch', 'brightness']);
  });
  afterEach(async () => w.close());

  // Each run: brightness = 10, wait a minute, brightness = 20.
  const slow = (mode: string, max?: number) =>
    w.rules.create(
      {
        name: mode,
        mode,
        ...(max ? { max } : {}),
        triggers: [{ type: 'state', device: button, capability: 'button' }],
        actions: [
          { type: 'command', device: lamp, capability: 'brightness', value: 10 },
          { type: 'delay', for: 60 },
          { type: 'command', device: lamp, capability: 'brightness', value: 20 },
        ],
      },
      OWNER,
    );
  const statuses = (id: string) =>
    w
      .traces(id)
      .map((t) => [t.status, t.reason ?? null])
      .reverse();

  it('single: a firing while running is skipped, with a trace saying so', async () => {
    const r = slow('single');
    await press();
    await press();
    await advance(w.clock, 60_000);
    expect(w.driver.commands.map((c) => c.value)).toEqual([10, 20]);
    expect(statuses(r.id)).toEqual([
      ['done', null],
      ['skipped', 'already_running'],
    ]);
  });

  it('restart: the running run is cancelled and a new one starts', async () => {
    const r = slow('restart');
    await press();
    await advance(w.clock, 30_000);
    await press();
    await advance(w.clock, 60_000);
    expect(w.driver.commands.map((c) => c.value)).toEqual([10, 10, 20]);
    expect(statuses(r.id)).toEqual([
      ['cancelled', 'restart'],
      ['done', null],
    ]);
  });

  it('queued: firings wait their turn, up to max', async () => {
    const r = slow('queued', 1);
    await press();
    await press();
    await press(); // queue of one is full
    await advance(w.clock, 120_000);
    expect(w.driver.commands.map((c) => c.value)).toEqual([10, 20, 10, 20]);
    expect(statuses(r.id).map((s) => s[0])).toEqual(['done', 'skipped', 'done']);
    expect(w.traces(r.id).find((t) => t.status === 'skipped')!.reason).toBe('queue_full');
  });

  it('parallel: runs overlap, up to max', async () => {
    const r = slow('parallel', 2);
    await press();
    await press();
    await press();
    await advance(w.clock, 60_000);
    expect(w.driver.commands.map((c) => c.value)).toEqual([10, 10, 20, 20]);
    expect(statuses(r.id).filter((s) => s[0] === 'skipped')).toEqual([['skipped', 'max_runs']]);
  });

  it('keeps the last N traces of a rule (traceLimit)', async () => {
    const r = w.rules.create(
      {
        name: 'N',
        mode: 'parallel',
        traceLimit: 3,
        triggers: [{ type: 'state', device: button, capability: 'button' }],
        actions: [{ type: 'notify', message: 'hi' }],
      },
      OWNER,
    );
    const first = presses;
    for (let i = 0; i < 5; i++) await press();
    expect(w.traces(r.id).map((t) => t.trigger.value)).toEqual([5, 4, 3].map((n) => `press-${first + n}`));
  });

  it('a loop (A fires B fires A) is cut, with the chain in the trace', async () => {
    const other = await w.device('Other', ['switch']);
    // A: lamp on -> other toggles; B: other changes -> lamp toggles. Each change re-fires the other.
    const a = w.rules.create(
      {
        name: 'A',
        mode: 'parallel',
        triggers: [{ type: 'state', device: lamp, capability: 'switch' }],
        actions: [{ type: 'command', device: other, capability: 'switch', value: true }],
      },
      OWNER,
    );
    const b = w.rules.create(
      {
        name: 'B',
        mode: 'parallel',
        triggers: [{ type: 'state', device: other, capability: 'switch' }],
        actions: [{ type: 'command', device: lamp, capability: 'switch', value: false }],
      },
      OWNER,
    );
    await w.registry.command(lamp, 'switch', true, OWNER);
    await advance(w.clock, 0);
    expect(w.driver.commands.map((c) => [c.deviceId, c.value])).toEqual([
      [lamp, true],
      [other, true],
      [lamp, false],
    ]);
    const cut = w.traces(a.id).find((t) => t.status === 'loop_cut')!;
    expect(w.traces(a.id)).toHaveLength(2);
    expect(cut).toMatchObject({ status: 'loop_cut', reason: `loop: ${a.id} -> ${b.id} -> ${a.id}` });
    // The context of each run names what caused it.
    expect(w.traces(b.id)[0]!.trigger.cause).toMatchObject({ ruleId: a.id, chain: [a.id] });
    expect(cut.trigger.cause).toMatchObject({ ruleId: b.id, chain: [a.id, b.id] });
  });

  it('validation errors name the field that is wrong', () => {
    const bad = (body: unknown) => {
      try {
        w.rules.create(body, OWNER);
      } catch (err) {
        return err as { code: string; details: { path: string } };
      }
      throw new Error('accepted');
    };
    const base = contractRule(lamp, lamp);
    expect(bad({ ...base, mode: 'sometimes' })).toMatchObject({ code: 'validation_failed', details: { path: 'mode' } });
    expect(bad({ ...base, extra: 1 })).toMatchObject({ details: { path: 'extra' } });
    expect(
      bad({ ...base, triggers: [{ type: 'state', device: lamp, capability: 'switch', for: '10 minutes' }] }),
    ).toMatchObject({ details: { path: 'triggers.0.for' } });
    expect(bad({ ...base, triggers: [{ type: 'weather' }] })).toMatchObject({ details: { path: 'triggers.0.type' } });
    expect(bad({ ...base, triggers: [{ type: 'cron', cron: '61 * * * *' }] })).toMatchObject({
      details: { path: 'triggers.0.cron' },
    });
    expect(
      bad({
        ...base,
        actions: [{ type: 'if', conditions: [{ type: 'time', after: '25:00' }], then: [{ type: 'delay', for: 1 }] }],
      }),
    ).toMatchObject({ details: { path: 'actions.0.conditions.0.after' } });
    expect(
      bad({
        ...base,
        actions: [
          {
            type: 'repeat',
            count: 2,
            actions: [{ type: 'command', device: lamp, capability: 'brightness', value: 300 }],
          },
        ],
      }),
    ).toMatchObject({ details: { path: 'actions.0.actions.0.value' } });
    expect(
      bad({ ...base, actions: [{ type: 'command', device: 'dev_nope', capability: 'switch', value: true }] }),
    ).toMatchObject({ details: { path: 'actions.0.device' } });
    expect(
      bad({ ...base, actions: [{ type: 'command', device: button, capability: 'button', value: 'x' }] }),
    ).toMatchObject({ details: { path: 'actions.0.capability' } });
    expect(
      bad({ ...base, triggers: [{ type: 'state', device: lamp, capability: 'switch', to: true, form: 1 }] }),
    ).toMatchObject({ details: { path: 'triggers.0.form' } });
    expect(bad({ ...base, triggers: [{ type: 'state', device: lamp, capability: 'switch', to: 'on' }] })).toMatchObject(
      { details: { path: 'triggers.0.to' } },
    );
    expect(
      bad({ ...base, conditions: [{ type: 'state', device: lamp, capability: 'switch', value: [true, 'off'] }] }),
    ).toMatchObject({ details: { path: 'conditions.0.value.1' } });
    expect(
      bad({ ...base, triggers: [{ type: 'numeric', device: lamp, capability: 'switch', above: 1 }] }),
    ).toMatchObject({ details: { path: 'triggers.0.capability' } });
  });
});
