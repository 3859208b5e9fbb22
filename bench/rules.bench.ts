/**
 * bench/rules: the rules engine with 1,000 rules loaded, fed a stream of device state changes.
 *
 * Setup: a real store (temp dir), a real DeviceRegistry with a bench driver (records when a
 * command is handed to it, then confirms it like a device would), the real RulesService.
 * 250 sensors × 4 capabilities (switch, motion, contact, temperature); rule i watches one of
 * them (state to:true, or numeric above 25) and commands one of 100 lamps; every third rule has
 * conditions (a time window and a lamp state), so conditions are evaluated on the path.
 *
 * Latency: from the `device.state` event on the bus (a listener registered before the rules
 * stamps it) to the command reaching the driver, for events that fire a rule; events are fed
 * one at a time, each after the previous run finished. Memory: heap and RSS before and after
 * loading the rules (after GC when node runs with --expose-gc).
 *
 * Options: --rules=N (1000) --events=N (5000) --warmup=N (500)
 */
import type { Actor, StateValue } from '@hearth/model/values';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EventBus } from '../hub/src/core/bus.ts';
import { systemClock } from '../hub/src/core/clock.ts';
import { createLogger } from '../hub/src/core/logger.ts';
import type { Driver, DriverContext } from '../hub/src/devices/driver.ts';
import { DeviceRegistry } from '../hub/src/devices/registry.ts';
import { RulesService } from '../hub/src/rules/service.ts';
import type { DeviceRow } from '../hub/src/store/devices-repo.ts';
import { Store } from '../hub/src/store/store.ts';
import { percentile, round } from './lib/stats.ts';
import type { BenchContext, BenchSmoke } from './run.ts';

export const description = 'rules engine: event on the bus → command at the driver with 1,000 rules loaded; memory';

/** 250 rules cover every sensor's switch, so about a quarter of the events fire one. */
export const smoke: BenchSmoke = {
  args: ['--rules=250', '--events=40', '--warmup=5'],
  keys: ['firedEvents', 'p50Ms', 'p99Ms', 'heapMiBForRules'],
};

const TARGET_P99_MS = 2;
const OWNER: Actor = { kind: 'user', userId: 'usr_bench', username: 'bench', role: 'owner' };
const SENSOR_CAPS = ['switch', 'motion', 'contact', 'temperature'] as const;

/** Stands in for a device family at the lowest layer: stamps the command, then confirms it. */
class BenchDriver implements Driver {
  readonly name = 'bench';
  ctx!: DriverContext;
  onCommand: (() => void) | undefined;
  commands = 0;
  async start(ctx: DriverContext) {
    this.ctx = ctx;
  }
  async stop() {}
  async command(device: DeviceRow, capability: string, value: StateValue) {
    this.onCommand?.();
    this.commands++;
    queueMicrotask(() => this.ctx.reportState(device.id, { [capability]: value }));
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
const memory = () => {
  gc?.();
  const m = process.memoryUsage();
  return { heapMiB: m.heapUsed / 1048576, rssMiB: m.rss / 1048576 };
};
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: ctx.args,
    options: { rules: { type: 'string' }, events: { type: 'string' }, warmup: { type: 'string' } },
    strict: false,
  });
  const ruleCount = Number(values.rules ?? 1000);
  const eventCount = Number(values.events ?? 5000);
  const warmup = Number(values.warmup ?? 500);
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-rules-'));
  const log = createLogger({ level: 'silent' });
  const store = Store.open(dir);
  const bus = new EventBus(log);
  const driver = new BenchDriver();
  const registry = new DeviceRegistry({ store, bus, clock: systemClock, log, commandTimeoutMs: 5000 });
  registry.registerDriver(driver);
  await registry.start();
  try {
    const sensors: string[] = [];
    const lamps: string[] = [];
    for (let i = 0; i < 250; i++)
      sensors.push(
        (await registry.create({ name: `sensor ${i}`, driver: 'bench', capabilities: [...SENSOR_CAPS] }, OWNER)).device
          .id,
      );
    for (let i = 0; i < 100; i++)
      lamps.push(
        (await registry.create({ name: `lamp ${i}`, driver: 'bench', capabilities: ['switch', 'brightness'] }, OWNER))
          .device.id,
      );
    for (const id of [...sensors, ...lamps]) driver.ctx.reportAvailability(id, true);

    // The bus stamps the event before any rule sees it (listeners run in registration order).
    let eventAt = 0;
    bus.on('bench', 'device.state', () => {
      eventAt = performance.now();
    });

    const before = memory();
    const rules = new RulesService({ store, bus, clock: systemClock, log, registry });
    await rules.start();
    const loadStarted = performance.now();
    for (let i = 0; i < ruleCount; i++) {
      const sensor = sensors[i % sensors.length]!;
      const capability = SENSOR_CAPS[Math.floor(i / sensors.length) % SENSOR_CAPS.length]!;
      const trigger =
        capability === 'temperature'
          ? { type: 'numeric', device: sensor, capability, above: 25 }
          : { type: 'state', device: sensor, capability, to: true };
      const conditions =
        i % 3 === 0
          ? [
              { type: 'time', after: '00:00', before: '23:59:59' },
              { type: 'not', conditions: [{ type: 'state', device: lamps[0]!, capability: 'switch', value: true }] },
            ]
          : [];
      rules.create(
        {
          name: `rule ${i}`,
          mode: 'parallel',
          triggers: [trigger],
          conditions,
          actions: [{ type: 'command', device: lamps[i % lamps.length]!, capability: 'brightness', value: i % 101 }],
        },
        OWNER,
      );
    }
    const loadS = (performance.now() - loadStarted) / 1000;
    const after = memory();
    ctx.log(
      `loaded ${ruleCount} rules in ${round(loadS, 2)} s; heap +` +
        `${round(after.heapMiB - before.heapMiB, 1)} MiB, rss +` +
        `${round(after.rssMiB - before.rssMiB, 1)} MiB`,
    );

    // Each event turns one sensor capability "on" (or hot) after turning it off, so it fires
    // the rules watching it; the "off" events are fed too but fire nothing.
    const latencies: number[] = [];
    let fired = 0;
    let seq = 0;
    const feed = async (measure: boolean) => {
      const i = seq++;
      const sensor = sensors[(i * 7919) % sensors.length]!;
      const capability = SENSOR_CAPS[i % SENSOR_CAPS.length]!;
      const off: StateValue = capability === 'temperature' ? 20 : false;
      const on: StateValue = capability === 'temperature' ? 26 + (i % 5) : true;
      driver.ctx.reportState(sensor, { [capability]: off });
      await tick();
      let first = true;
      driver.onCommand = () => {
        // Only the first command per event: with several rules on one capability they queue up
        // behind each other in the same tick, which is the engine's throughput, not its latency.
        if (!first) return;
        first = false;
        if (measure) latencies.push(performance.now() - eventAt);
      };
      const commandsBefore = driver.commands;
      driver.ctx.reportState(sensor, { [capability]: on });
      await tick();
      await tick();
      driver.onCommand = undefined;
      if (driver.commands > commandsBefore) fired++;
    };
    for (let i = 0; i < warmup; i++) await feed(false);
    fired = 0;
    const streamStarted = performance.now();
    for (let i = 0; i < eventCount; i++) await feed(true);
    const streamS = (performance.now() - streamStarted) / 1000;
    latencies.sort((a, b) => a - b);
    const p50 = percentile(latencies, 0.5);
    const p99 = percentile(latencies, 0.99);
    const end = memory();
    ctx.log(
      `${eventCount} firing events (+${eventCount} non-firing) in ${round(streamS, 2)} s; ` +
        `event→driver p50 ${round(p50 * 1000)} µs, p99 ${round(p99 * 1000)} µs, max ` +
        `${round(latencies.at(-1)! * 1000)} µs (target p99 < ${TARGET_P99_MS} ms)`,
    );
    await rules.stop();
    return {
      rules: ruleCount,
      events: eventCount,
      firedEvents: fired,
      p50Ms: round(p50, 3),
      p99Ms: round(p99, 3),
      maxMs: round(latencies.at(-1)!, 3),
      targets: { p99Ms: { value: round(p99, 3), target: `< ${TARGET_P99_MS}`, met: p99 < TARGET_P99_MS } },
      targetsMet: p99 < TARGET_P99_MS,
      loadS: round(loadS, 2),
      heapMiBForRules: round(after.heapMiB - before.heapMiB, 1),
      rssMiBForRules: round(after.rssMiB - before.rssMiB, 1),
      heapMiBAfterStream: round(end.heapMiB, 1),
      rssMiBAfterStream: round(end.rssMiB, 1),
      gcExposed: gc !== undefined,
    };
  } finally {
    await registry.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
