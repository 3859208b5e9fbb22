import type { Actor, StateValue } from '@hearth/model/values';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus, type BusEvents } from '../../src/core/bus.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import type { Driver, DriverContext } from '../../src/devices/driver.ts';
import { DeviceRegistry } from '../../src/devices/registry.ts';
import type { DeviceRow } from '../../src/store/devices-repo.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/temp.ts';

const owner: Actor = { kind: 'user', userId: 'u1', username: 'ann', role: 'owner' };
const member: Actor = { kind: 'user', userId: 'u2', username: 'bob', role: 'member' };
const guest: Actor = { kind: 'user', userId: 'u3', username: 'cat', role: 'guest' };

/** A driver standing in for a device family: it records commands; the test plays the device. */
class RecordingDriver implements Driver {
  readonly name = 'test';
  ctx!: DriverContext;
  commands: { deviceId: string; capability: string; value: StateValue }[] = [];
  confirm = true;
  async start(ctx: DriverContext) {
    this.ctx = ctx;
  }
  async stop() {}
  async command(device: DeviceRow, capability: string, value: StateValue) {
    this.commands.push({ deviceId: device.id, capability, value });
    if (this.confirm) queueMicrotask(() => this.ctx.reportState(device.id, { [capability]: value }));
  }
}

describe('DeviceRegistry', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Store;
  let bus: EventBus;
  let clock: ManualClock;
  let driver: RecordingDriver;
  let registry: DeviceRegistry;
  let events: { type: string; payload: unknown }[];

  const open = async () => {
    store = Store.open(tmp.dir);
    bus = new EventBus();
    events = [];
    for (const type of [
      'device.state',
      'device.availability',
      'telemetry.sample',
      'device.added',
      'device.removed',
      'audit',
    ] as const) {
      bus.on('test', type, (payload: BusEvents[typeof type]) => {
        events.push({ type, payload });
      });
    }
    driver = new RecordingDriver();
    registry = new DeviceRegistry({
      store,
      bus,
      clock,
      log: createLogger({ level: 'silent' }),
      commandTimeoutMs: 1000,
    });
    registry.registerDriver(driver);
    await registry.start();
  };

  beforeEach(async () => {
    tmp = tempDir();
    clock = new ManualClock();
    await open();
  });
  afterEach(async () => {
    await registry.stop();
    store.close();
    tmp.cleanup();
  });

  const addPlug = async () =>
    (await registry.create({ name: 'Lamp', driver: 'test', capabilities: ['switch', 'power'] }, owner)).device;

  it('dedupes state reports, persists them and emits one device.state per change', async () => {
    const plug = await addPlug();
    driver.ctx.reportState(plug.id, { switch: true, power: 12.5 });
    driver.ctx.reportState(plug.id, { switch: true, power: 12.5 });
    driver.ctx.reportState(plug.id, { switch: false, bogus: 1, power: 'x' });
    const states = events.filter((e) => e.type === 'device.state').map((e) => e.payload);
    expect(states).toMatchObject([
      { deviceId: plug.id, capability: 'switch', value: true, previous: undefined },
      { deviceId: plug.id, capability: 'power', value: 12.5 },
      { deviceId: plug.id, capability: 'switch', value: false, previous: true },
    ]);
    // Every numeric telemetry reading is a sample, changed or not (history needs them all).
    expect(events.filter((e) => e.type === 'telemetry.sample')).toHaveLength(2);
    // The state survives a restart.
    await registry.stop();
    store.close();
    await open();
    expect(registry.get(plug.id, owner).state).toEqual({ switch: false, power: 12.5 });
  });

  it('emits every button report, even a repeat of the same value (presses are events)', async () => {
    const { device } = await registry.create({ name: 'Remote', driver: 'test', capabilities: ['button'] }, owner);
    driver.ctx.reportState(device.id, { button: 'single' });
    driver.ctx.reportState(device.id, { button: 'single' });
    driver.ctx.reportState(device.id, { button: 'double' });
    const presses = events.filter((e) => e.type === 'device.state').map((e) => (e.payload as { value: unknown }).value);
    expect(presses).toEqual(['single', 'single', 'double']);
  });

  it('a command resolves with the device once it confirms, and is audited with its actor', async () => {
    const plug = await addPlug();
    driver.ctx.reportAvailability(plug.id, true);
    const sent: BusEvents['device.command'][] = [];
    bus.on('test', 'device.command', (e) => {
      sent.push(e);
    });
    const device = await registry.command(plug.id, 'switch', true, member);
    expect(device.state.switch).toBe(true);
    expect(driver.commands).toEqual([{ deviceId: plug.id, capability: 'switch', value: true }]);
    const audit = store.audit.list(10).find((a) => a.action === 'device.command');
    expect(audit).toMatchObject({
      actor: member,
      target: plug.id,
      details: { capability: 'switch', value: true, outcome: 'confirmed' },
    });
    // The command log (history) listens to this event, not to the audit log.
    expect(sent).toEqual([
      {
        deviceId: plug.id,
        capability: 'switch',
        value: true,
        actor: member,
        outcome: 'confirmed',
        ms: 0,
        at: clock.now(),
      },
    ]);
  });

  it('fails with device_timeout when the device never confirms', async () => {
    const plug = await addPlug();
    driver.ctx.reportAvailability(plug.id, true);
    driver.confirm = false;
    const pending = registry.command(plug.id, 'switch', true, owner);
    await Promise.resolve();
    clock.advance(1000);
    await expect(pending).rejects.toMatchObject({ code: 'device_timeout' });
    expect(store.audit.list(10)[0]).toMatchObject({ action: 'device.command', details: { outcome: 'device_timeout' } });
  });

  it('fails at once with device_unavailable when the device goes offline while waiting', async () => {
    const plug = await addPlug();
    driver.ctx.reportAvailability(plug.id, true);
    driver.confirm = false;
    const pending = registry.command(plug.id, 'switch', true, owner);
    await Promise.resolve();
    driver.ctx.reportAvailability(plug.id, false);
    await expect(pending).rejects.toMatchObject({ code: 'device_unavailable' });
  });

  it('refuses bad commands with stable codes', async () => {
    const plug = await addPlug();
    await expect(registry.command(plug.id, 'switch', true, owner)).rejects.toMatchObject({
      code: 'device_unavailable',
    });
    driver.ctx.reportAvailability(plug.id, true);
    await expect(registry.command(plug.id, 'power', 5, owner)).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(registry.command(plug.id, 'brightness', 5, owner)).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(registry.command(plug.id, 'switch', 'yes', owner)).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(registry.command('dev_nope', 'switch', true, owner)).rejects.toMatchObject({
      code: 'device_not_found',
    });
    // A guest cannot see the device at all, so it cannot command it either.
    await expect(registry.command(plug.id, 'switch', true, guest)).rejects.toMatchObject({ code: 'device_not_found' });
    expect(driver.commands).toEqual([]);
  });

  it('refuses a value outside the model with value_out_of_range / value_not_allowed before the driver sees it', async () => {
    const { device: cover } = await registry.create(
      { name: 'Blind', driver: 'test', capabilities: ['cover', 'cover_position', 'color_x', 'climate_mode'] },
      owner,
    );
    driver.ctx.reportAvailability(cover.id, true);
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'sent',
        (e: { code: string }) => e.code,
      );
    expect(await code(registry.command(cover.id, 'cover_position', 101, owner))).toBe('value_out_of_range');
    expect(await code(registry.command(cover.id, 'color_x', 1.5, owner))).toBe('value_out_of_range');
    expect(await code(registry.command(cover.id, 'cover', 'up', owner))).toBe('value_not_allowed');
    expect(await code(registry.command(cover.id, 'climate_mode', 'turbo', owner))).toBe('value_not_allowed');
    expect(driver.commands).toEqual([]);
    // A device that reports a value off the list is not believed either.
    driver.ctx.reportState(cover.id, { cover: 'sideways', cover_position: 40 });
    expect(registry.get(cover.id, owner).state).toEqual({ cover_position: 40 });
  });

  it('enforces roles for changes and hides devices from guests', async () => {
    await expect(
      registry.create({ name: 'x', driver: 'test', capabilities: ['switch'] }, member),
    ).rejects.toMatchObject({ code: 'forbidden' });
    await expect(registry.create({ name: 'x', driver: 'nope', capabilities: ['switch'] }, owner)).rejects.toMatchObject(
      { code: 'validation_failed' },
    );
    await expect(registry.create({ name: 'x', driver: 'test', capabilities: ['warp'] }, owner)).rejects.toMatchObject({
      code: 'validation_failed',
    });
    const plug = await addPlug();
    expect(registry.list(member).map((d) => d.id)).toEqual([plug.id]);
    expect(registry.list(guest)).toEqual([]);
    expect(() => registry.get(plug.id, guest)).toThrowError(expect.objectContaining({ code: 'device_not_found' }));
    expect(() => registry.createRoom('Kitchen', member)).toThrowError(expect.objectContaining({ code: 'forbidden' }));
  });

  it('rooms: create, move a device in, delete the room leaves the device roomless', async () => {
    const room = registry.createRoom('Kitchen', owner);
    const plug = await addPlug();
    expect(registry.update(plug.id, { roomId: room.id }, owner).roomId).toBe(room.id);
    expect(() => registry.update(plug.id, { roomId: 'room_nope' }, owner)).toThrowError(
      expect.objectContaining({ code: 'room_not_found' }),
    );
    registry.deleteRoom(room.id, owner);
    expect(registry.get(plug.id, owner).roomId).toBeNull();
    expect(store.devices.byId(plug.id)?.roomId).toBeNull();
  });

  it('remove emits device.removed, deletes rows and fails a pending command', async () => {
    const plug = await addPlug();
    driver.ctx.reportAvailability(plug.id, true);
    driver.confirm = false;
    const pending = registry.command(plug.id, 'switch', true, owner);
    await Promise.resolve();
    await registry.remove(plug.id, owner);
    await expect(pending).rejects.toMatchObject({ code: 'device_not_found' });
    expect(store.devices.byId(plug.id)).toBeUndefined();
    expect(events.some((e) => e.type === 'device.removed')).toBe(true);
  });
});
