// Rules read the wall clock in local time; tests pin the zone so "07:30" means the same everywhere.
process.env.TZ = 'UTC';

import type { Actor, StateValue } from '@hearth/model/values';
import { EventBus } from '../../src/core/bus.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import type { Driver, DriverContext } from '../../src/devices/driver.ts';
import { DeviceRegistry } from '../../src/devices/registry.ts';
import { RulesService } from '../../src/rules/service.ts';
import type { Trace } from '../../src/rules/trace.ts';
import type { DeviceRow } from '../../src/store/devices-repo.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/temp.ts';

export const OWNER: Actor = { kind: 'user', userId: 'usr_owner', username: 'owner', role: 'owner' };

/** The lowest layer: records each command handed to it and (unless told not to) confirms it. */
export class TestDriver implements Driver {
  readonly name = 'test';
  ctx!: DriverContext;
  confirm = true;
  commands: { deviceId: string; capability: string; value: StateValue; at: number }[] = [];
  clock!: ManualClock;
  async start(ctx: DriverContext) {
    this.ctx = ctx;
  }
  async stop() {}
  async command(device: DeviceRow, capability: string, value: StateValue) {
    this.commands.push({ deviceId: device.id, capability, value, at: this.clock.now() });
    if (this.confirm) queueMicrotask(() => this.ctx.reportState(device.id, { [capability]: value }));
  }
}

/** Lets promise chains (commands awaiting confirmation, runs) finish. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Moves the clock forward timer by timer, settling after each, so chained waits behave. */
export async function advance(clock: ManualClock, ms: number): Promise<void> {
  const target = clock.now() + ms;
  await flush();
  for (;;) {
    const due = clock.nextDue();
    if (due === undefined || due > target) break;
    clock.advance(Math.max(0, due - clock.now()));
    await flush();
  }
  clock.advance(target - clock.now());
  await flush();
}

export interface World {
  dir: string;
  store: Store;
  bus: EventBus;
  clock: ManualClock;
  registry: DeviceRegistry;
  driver: TestDriver;
  rules: RulesService;
  device(name: string, capabilities: string[]): Promise<string>;
  report(deviceId: string, values: Record<string, StateValue>): Promise<void>;
  traces(ruleId: string): Trace[];
  /** Stops the hub's parts and starts them again on the same data (and the same clock). */
  restart(options?: { downForMs?: number }): Promise<void>;
  close(): Promise<void>;
}

export async function world(start = Date.UTC(2026, 0, 5, 6, 0)): Promise<World> {
  const tmp = tempDir('hearth-rules-');
  const clock = new ManualClock(start);
  const log = createLogger({ level: 'silent' });
  const w = { dir: tmp.dir, clock } as World;
  const sent: TestDriver['commands'] = [];
  const open = async () => {
    w.store = Store.open(tmp.dir);
    w.bus = new EventBus(log);
    w.driver = new TestDriver();
    w.driver.clock = clock;
    // One log across restarts: what reached the driver before and after.
    w.driver.commands = sent;
    w.registry = new DeviceRegistry({ store: w.store, bus: w.bus, clock, log, commandTimeoutMs: 5000 });
    w.registry.registerDriver(w.driver);
    await w.registry.start();
    w.rules = new RulesService({ store: w.store, bus: w.bus, clock, log, registry: w.registry });
    await w.rules.start();
    await flush();
  };
  const shut = async () => {
    await w.rules.stop();
    await w.registry.stop();
    w.store.close();
  };
  await open();
  w.device = async (name, capabilities) => {
    const { device } = await w.registry.create({ name, driver: 'test', capabilities }, OWNER);
    w.driver.ctx.reportAvailability(device.id, true);
    return device.id;
  };
  w.report = async (deviceId, values) => {
    w.driver.ctx.reportState(deviceId, values);
    await flush();
  };
  w.traces = (ruleId) => w.rules.traces(ruleId);
  w.restart = async (options = {}) => {
    await shut();
    clock.advance(options.downForMs ?? 0);
    await open();
    // Devices come back online after a restart (their drivers report it).
    for (const d of w.store.devices.list()) w.driver.ctx.reportAvailability(d.id, true);
    await flush();
  };
  w.close = async () => {
    await shut();
    tmp.cleanup();
  };
  return w;
}

/** The DESIGN.md contract shape: when `trigger` switches on, switch `target` on. */
export function contractRule(trigger: string, target: string, extra: Record<string, unknown> = {}) {
  return {
    name: 'Follow',
    mode: 'single',
    triggers: [{ type: 'state', device: trigger, capability: 'switch', to: true }],
    conditions: [],
    actions: [{ type: 'command', device: target, capability: 'switch', value: true }],
    ...extra,
  };
}
