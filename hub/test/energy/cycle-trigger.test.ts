import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import { LiveCycles } from '../../src/energy/live-cycles.ts';
import { HAVE_TRACEBASE, readTrace } from '../helpers/tracebase.ts';
import { advance, OWNER, world, type World } from '../rules/helpers.ts';

const MIN = 60_000;
const hm = (h: number, m: number) => (h * 60 + m) * MIN;

/**
 * "The washing machine is done" as one rule: a real washing machine's morning programme
 * (tracebase, 28 Nov 2011, 08:50–10:10; by hand from its minute means: 09:00 to 09:48) replayed
 * as live readings through the registry on a manual clock; the energy part's live cycles announce
 * the cycle and the rules engine runs `cycle_started` and `cycle_finished` rules, each once, the
 * second with the cycle's figures, 5 quiet minutes after the power dropped. A rule for another
 * device does not run.
 */
describe.skipIf(!HAVE_TRACEBASE)('cycle_started / cycle_finished rule triggers on a real washing machine', () => {
  let w: World;
  let live: LiveCycles;
  let washer: string;
  let started: string;
  let finished: string;
  let other: string;
  const day = Date.UTC(2026, 0, 5);

  beforeAll(async () => {
    w = await world(day + hm(8, 50));
    washer = await w.device('Washer', ['power', 'switch']);
    const kettle = await w.device('Kettle', ['power', 'switch']);
    live = new LiveCycles({ bus: w.bus, clock: w.clock, log: createLogger({ level: 'silent' }), idleW: () => 0 });
    live.start();
    const rule = (name: string, type: string, device: string) =>
      w.rules.create(
        {
          name,
          mode: 'single',
          triggers: [{ type, device }],
          conditions: [],
          actions: [{ type: 'notify', message: `${name}` }],
        },
        OWNER,
      ).id;
    started = rule('Washing started', 'cycle_started', washer);
    finished = rule('The washing is done', 'cycle_finished', washer);
    other = rule('Kettle done', 'cycle_finished', kettle);
    const trace = readTrace(['complete/Washingmachine/Washingmachine_2011.11.28']);
    for (let i = 0; i < trace.seconds.length; i++) {
      const t = trace.seconds[i]! * 1000;
      if (t < hm(8, 50) || t >= hm(10, 10)) continue;
      if (day + t > w.clock.now()) await advance(w.clock, day + t - w.clock.now());
      await w.report(washer, { power: trace.watts[i]! });
    }
    await advance(w.clock, 60_000);
  }, 300_000);
  afterAll(async () => {
    live?.stop();
    await w?.close();
  });

  it('runs cycle_started once, when the programme began', () => {
    const traces = w.traces(started);
    expect(traces).toHaveLength(1);
    expect(traces[0]!.status).toBe('done');
    expect(Math.abs((traces[0]!.trigger as unknown as { start: number }).start - (day + hm(9, 0)))).toBeLessThanOrEqual(
      MIN,
    );
  });

  it('runs cycle_finished once, 5 quiet minutes after the end, with the cycle in its trigger', () => {
    const traces = w.traces(finished);
    expect(traces).toHaveLength(1);
    const t = traces[0]!.trigger as unknown as {
      type: string;
      at: number;
      start: number;
      end: number;
      energyWh: number;
      peakW: number;
    };
    expect(t.type).toBe('cycle_finished');
    expect(Math.abs(t.start - (day + hm(9, 0)))).toBeLessThanOrEqual(MIN);
    expect(Math.abs(t.end - (day + hm(9, 48)))).toBeLessThanOrEqual(MIN);
    expect(t.at - t.end).toBeGreaterThanOrEqual(5 * MIN);
    expect(t.at - t.end).toBeLessThan(6 * MIN);
    expect(t.peakW).toBeGreaterThan(2000);
    // The heating phase alone is ~4 min at ~2.1 kW (140 Wh); the drum adds some 60 Wh.
    expect(t.energyWh).toBeGreaterThan(150);
    expect(t.energyWh).toBeLessThan(300);
    const notes = w.store.audit.list(50).filter((a) => a.action === 'rule.notify');
    expect(notes.map((n) => (n.details as { message: string }).message).sort()).toEqual([
      'The washing is done',
      'Washing started',
    ]);
  });

  it("another device's rule does not run", () => {
    expect(w.traces(other)).toHaveLength(0);
  });
});
