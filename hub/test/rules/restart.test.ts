import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { advance, OWNER, world, type World } from './helpers.ts';

const command = (device: string, value: unknown, capability = 'brightness') => ({
  type: 'command',
  device,
  capability,
  value,
});

describe('rules across a hub restart', () => {
  let w: World;
  let button: string;
  let lamp: string;
  let presses = 0;
  const press = () => w.report(button, { button: `press-${++presses}` });
  beforeEach(async () => {
    w = await world(); // Monday 2026-01-05 06:00 UTC
    button = await w.device('Button', ['button', 'switch']);
    lamp = await w.device('Lamp', ['switch', 'brightness']);
  });
  afterEach(async () => w.close());
  const values = () => w.driver.commands.map((c) => c.value);

  it('a run paused in a delay (inside a repeat) resumes where it was, keeping its trace', async () => {
    const r = w.rules.create(
      {
        name: 'Steps',
        mode: 'single',
        triggers: [{ type: 'state', device: button, capability: 'button' }],
        actions: [
          { type: 'repeat', count: 2, actions: [command(lamp, 10), { type: 'delay', for: '10m' }, command(lamp, 20)] },
        ],
      },
      OWNER,
    );
    await press();
    await advance(w.clock, 12 * 60_000); // first pass done, second pass in its delay
    expect(values()).toEqual([10, 20, 10]);
    await w.restart({ downForMs: 3 * 60_000 });
    expect(w.traces(r.id)[0]).toMatchObject({ status: 'waiting' });
    await advance(w.clock, 4 * 60_000);
    expect(values()).toEqual([10, 20, 10]);
    await advance(w.clock, 60_000); // 10 minutes after the second pass started
    expect(values()).toEqual([10, 20, 10, 20]);
    const trace = w.traces(r.id)[0]!;
    expect(trace.status).toBe('done');
    expect(trace.actions.map((a) => a.path)).toEqual([
      'actions.0',
      'actions.0.actions.0',
      'actions.0.actions.1',
      'actions.0.actions.2',
      'actions.0.actions.0',
      'actions.0.actions.1',
      'actions.0.actions.2',
    ]);
    expect(w.traces(r.id)).toHaveLength(1);
  });

  it('a delay that ran out while the hub was down continues at once', async () => {
    w.rules.create(
      {
        name: 'Later',
        mode: 'single',
        triggers: [{ type: 'state', device: button, capability: 'button' }],
        actions: [{ type: 'delay', for: '5m' }, command(lamp, 30)],
      },
      OWNER,
    );
    await press();
    await w.restart({ downForMs: 60 * 60_000 });
    await advance(w.clock, 0);
    expect(values()).toEqual([30]);
  });

  it('a run waiting for a trigger keeps waiting across a restart, with the rest of its timeout', async () => {
    const r = w.rules.create(
      {
        name: 'Wait',
        mode: 'single',
        triggers: [{ type: 'state', device: button, capability: 'button' }],
        actions: [
          {
            type: 'wait',
            triggers: [{ type: 'state', device: button, capability: 'switch', to: true }],
            timeout: '10m',
          },
          command(lamp, 15),
        ],
      },
      OWNER,
    );
    await press();
    await advance(w.clock, 2 * 60_000);
    await w.restart({ downForMs: 60_000 });
    await w.report(button, { switch: true });
    expect(values()).toEqual([15]);
    expect(w.traces(r.id)[0]).toMatchObject({
      status: 'done',
      actions: [{ type: 'wait', waited: 'triggered', ms: 3 * 60_000 }, { result: 'ok' }],
    });
    // The same, timing out: the timeout counts from before the restart.
    await press();
    await w.restart({ downForMs: 9 * 60_000 });
    await advance(w.clock, 60_000);
    expect(values()).toEqual([15, 15]);
    expect(w.traces(r.id)[0]).toMatchObject({
      status: 'done',
      actions: [{ waited: 'timeout', ms: 10 * 60_000 }, { result: 'ok' }],
    });
  });

  it('a "for" timer survives a restart if the state still holds', async () => {
    w.rules.create(
      {
        name: 'Held',
        mode: 'single',
        triggers: [{ type: 'state', device: button, capability: 'switch', to: true, for: '10m' }],
        actions: [command(lamp, 40)],
      },
      OWNER,
    );
    await w.report(button, { switch: true });
    const since = w.clock.now();
    await advance(w.clock, 4 * 60_000);
    await w.restart({ downForMs: 60_000 });
    await advance(w.clock, 4 * 60_000);
    expect(values()).toEqual([]);
    await advance(w.clock, 60_000);
    expect(w.driver.commands.map((c) => [c.value, c.at - since])).toEqual([[40, 10 * 60_000]]);
  });

  it('queued runs survive a restart', async () => {
    const r = w.rules.create(
      {
        name: 'Q',
        mode: 'queued',
        triggers: [{ type: 'state', device: button, capability: 'button' }],
        actions: [command(lamp, 50), { type: 'delay', for: 60 }, command(lamp, 60)],
      },
      OWNER,
    );
    await press();
    await press();
    await press();
    await w.restart();
    await advance(w.clock, 3 * 60_000);
    expect(values()).toEqual([50, 60, 50, 60, 50, 60]);
    expect(w.traces(r.id).map((t) => t.status)).toEqual(['done', 'done', 'done']);
  });

  it('missed time triggers: caught up once, or skipped, per rule', async () => {
    const morning = (missed: string, value: number) => ({
      name: missed,
      mode: 'single',
      missed,
      triggers: [{ type: 'time', at: '07:00' }],
      actions: [command(lamp, value)],
    });
    w.rules.create(morning('catch_up', 70), OWNER);
    w.rules.create(morning('skip', 80), OWNER);
    await w.restart({ downForMs: 3 * 86_400_000 }); // down over three 07:00s
    await advance(w.clock, 0);
    expect(values()).toEqual([70]);
    const trace = w.rules.list().find((r) => r.name === 'catch_up')!;
    expect(w.traces(trace.id)[0]!.trigger).toMatchObject({
      type: 'time',
      missed: true,
      scheduledAt: Date.UTC(2026, 0, 5, 7, 0),
    });
    await advance(w.clock, 86_400_000); // both run at the next 07:00
    expect(values().sort()).toEqual([70, 70, 80]);
  });

  it('the "down since" heartbeat is written only while a rule catches up missed triggers', async () => {
    const lastAlive = () => w.store.settings.get<number>('rules.lastAlive');
    const started = lastAlive();
    await advance(w.clock, 5 * 60_000);
    expect(lastAlive()).toBe(started); // no catch_up rule: nothing written
    w.rules.create(
      {
        name: 'cu',
        mode: 'single',
        missed: 'catch_up',
        triggers: [{ type: 'time', at: '07:00' }],
        actions: [command(lamp, 1)],
      },
      OWNER,
    );
    expect(lastAlive()).toBe(w.clock.now());
    await advance(w.clock, 3 * 60_000);
    expect(lastAlive()).toBeGreaterThanOrEqual(w.clock.now() - 60_000);
  });

  it('an edited rule drops the paused runs of its old version', async () => {
    const body = {
      name: 'Edit',
      mode: 'single',
      triggers: [{ type: 'state', device: button, capability: 'button' }],
      actions: [{ type: 'delay', for: '5m' }, command(lamp, 90)],
    };
    const r = w.rules.create(body, OWNER);
    await press();
    w.rules.update(r.id, { ...body, name: 'Edited' }, OWNER);
    await advance(w.clock, 10 * 60_000);
    expect(values()).toEqual([]);
    expect(w.traces(r.id)[0]).toMatchObject({ status: 'cancelled', reason: 'rule_changed' });
  });
});
