import type { Actor } from '@hearth/model/values';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/core/bus.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { validateConfig } from '../../src/core/config.ts';
import { createLogger } from '../../src/core/logger.ts';
import { DeviceRegistry } from '../../src/devices/registry.ts';
import { HistoryService } from '../../src/history/service.ts';
import { Store } from '../../src/store/store.ts';
import { EchoDriver } from '../api/harness.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * The latest telemetry readings are not written by the registry (docs/writes.md): history holds
 * every sample, and a restart on the same database file gets them back from it, with the same
 * device views (state and updatedAt) as before the restart; discrete state is still a row.
 */
const SYSTEM: Actor = { kind: 'system', part: 'test' };
const HOUR = 3_600_000;

describe('latest telemetry readings come back from history after a restart', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const setup = () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const config = validateConfig({ dataDir: tmp.dir }, tmp.dir);
    const log = createLogger({ level: 'silent' });
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10));
    /** One hub lifetime on the file: registry then history, the readings restored as hub.ts does. */
    const boot = async () => {
      const store = Store.open(tmp.dir);
      const bus = new EventBus(log);
      const driver = new EchoDriver();
      const registry = new DeviceRegistry({ store, bus, clock, log, commandTimeoutMs: 1000, telemetryInHistory: true });
      registry.registerDriver(driver);
      await registry.start();
      const history = new HistoryService({ store, bus, clock, log, config: config.history });
      await history.start();
      const restored = registry.restoreReadings(history.latestReadings());
      let closed = false;
      const stop = async () => {
        if (closed) return;
        closed = true;
        await history.stop();
        await registry.stop();
        store.close();
      };
      // A killed process: nothing flushed, the file closed as it is.
      const kill = () => {
        if (closed) return;
        closed = true;
        store.close();
      };
      cleanups.push(stop);
      return { store, driver, registry, history, restored, stop, kill };
    };
    return { clock, boot, config };
  };

  const telemetryRows = (store: Store) =>
    store.db.prepare("SELECT capability FROM device_state WHERE capability <> 'switch'").all();

  it('after kill -9 (past the flush window) and after a clean stop: same state and updatedAt, no telemetry rows written', async () => {
    const { clock, boot, config } = setup();
    const first = await boot();
    const { device } = await first.registry.create(
      { name: 'Plug', driver: 'echo', capabilities: ['switch', 'power', 'energy', 'voltage'] },
      SYSTEM,
    );
    const createdAt = clock.now();
    first.driver.ctx.reportState(device.id, { switch: true });
    clock.advance(1000);
    for (let s = 0; s < 40; s++) {
      // power changes until second 30 and then stays at 12: its state's `at` is the change.
      first.driver.ctx.reportState(device.id, {
        power: s < 30 ? 10 + (s % 2) : 12,
        energy: 1 + s / 1000,
        voltage: 230,
      });
      clock.advance(1000);
    }
    clock.advance(config.history.flushIntervalMs);
    const before = first.registry.get(device.id, SYSTEM);
    expect(before.state).toMatchObject({ switch: true, power: 12, energy: 1.039, voltage: 230 });

    // Discrete state is a row; readings are not, and did not touch the device's updated_at.
    expect(telemetryRows(first.store)).toEqual([]);
    expect(first.store.db.prepare("SELECT value FROM device_state WHERE capability = 'switch'").get()).toEqual({
      value: 'true',
    });
    expect(first.store.devices.byId(device.id)!.updatedAt).toBe(createdAt);

    first.kill();
    const second = await boot();
    expect(second.restored).toBe(3);
    expect(second.registry.get(device.id, SYSTEM)).toEqual(before);

    await second.stop();
    const third = await boot();
    expect(third.registry.get(device.id, SYSTEM)).toEqual(before);
    expect(telemetryRows(third.store)).toEqual([]);
  });

  it('a discrete state change writes its row only: the device row keeps its updated_at, the view the change time, after a restart too', async () => {
    const { clock, boot } = setup();
    const first = await boot();
    const { device } = await first.registry.create({ name: 'Lamp', driver: 'echo', capabilities: ['switch'] }, SYSTEM);
    const createdAt = clock.now();
    clock.advance(60_000);
    first.driver.ctx.reportState(device.id, { switch: true });
    const changedAt = clock.now();
    clock.advance(5_000);
    expect(first.store.db.prepare('SELECT value, updated_at FROM device_state').all()).toEqual([
      { value: 'true', updated_at: changedAt },
    ]);
    expect(first.store.devices.byId(device.id)!.updatedAt).toBe(createdAt);
    expect(first.registry.get(device.id, SYSTEM).updatedAt).toBe(new Date(changedAt).toISOString());
    first.kill();
    const second = await boot();
    expect(second.registry.get(device.id, SYSTEM)).toMatchObject({
      state: { switch: true },
      updatedAt: new Date(changedAt).toISOString(),
    });
  });

  it('readings already packed into an hourly raw block come back from it', async () => {
    const { clock, boot } = setup();
    const first = await boot();
    const { device } = await first.registry.create({ name: 'Plug', driver: 'echo', capabilities: ['power'] }, SYSTEM);
    first.driver.ctx.reportState(device.id, { power: 5 });
    clock.advance(1000);
    first.driver.ctx.reportState(device.id, { power: 7 });
    clock.advance(2 * HOUR);
    first.history.maintain(Infinity);
    // Packed: nothing of the series is left in the open tail.
    expect(first.history.tail.count).toBe(0);
    const before = first.registry.get(device.id, SYSTEM);
    await first.stop();

    const second = await boot();
    expect(second.registry.get(device.id, SYSTEM)).toEqual(before);
    expect(second.registry.get(device.id, SYSTEM).state).toEqual({ power: 7 });
  });

  it('a row left by an older version is shown where history has nothing newer, and replaced where it has', async () => {
    const { clock, boot } = setup();
    const first = await boot();
    const a = (await first.registry.create({ name: 'A', driver: 'echo', capabilities: ['power'] }, SYSTEM)).device;
    const b = (await first.registry.create({ name: 'B', driver: 'echo', capabilities: ['power'] }, SYSTEM)).device;
    // What the previous version wrote: a latest-reading row for each.
    const old = clock.now() - 1000;
    first.store.devices.saveStates([
      { deviceId: a.id, capability: 'power', value: 40, updatedAt: old },
      { deviceId: b.id, capability: 'power', value: 41, updatedAt: old },
    ]);
    first.driver.ctx.reportState(b.id, { power: 99 });
    clock.advance(1000);
    await first.stop();

    const second = await boot();
    expect(second.registry.get(a.id, SYSTEM).state).toEqual({ power: 40 });
    expect(second.registry.get(b.id, SYSTEM).state).toEqual({ power: 99 });
  });
});
