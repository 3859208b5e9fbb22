import type { Actor, StateValue } from '@hearth/model/values';
import { CAPABILITIES, checkValue, isKnownCapability, valueProblem } from '@hearth/model/capabilities';
import type { EventBus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import { HubError, isHubError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import { recordAudit } from '../store/audit-log.ts';
import type { DeviceRow } from '../store/devices-repo.ts';
import type { Store } from '../store/store.ts';
import { requireRole } from './access.ts';
import type { Driver, DriverContext } from './driver.ts';
import { PendingCommands } from './pending-commands.ts';
import { Presence } from './presence.ts';
import { DEFAULT_MAX_SHARES, Sharing, type Reach } from './sharing.ts';
import { toDeviceView, toRoomView, type DeviceView, type RoomView } from './views.ts';

export type { DeviceView, RoomView } from './views.ts';

export interface RegistryDeps {
  store: Store;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  commandTimeoutMs: number;
  /**
   * The latest telemetry readings are kept by history (every sample is there): the registry does
   * not write them to `device_state` and gets them back at start through `restoreReadings`
   * (docs/writes.md). Without it (a registry alone, in tests) they are written at once.
   */
  telemetryInHistory?: boolean;
  /** The most shares the home holds (`devices.maxShares`); DEFAULT_MAX_SHARES when absent. */
  maxShares?: number;
}

export interface CreateDeviceInput {
  /** Drivers whose devices carry their own identity (a plug's `plug-…` id) set it; else one is made. */
  id?: string;
  name: string;
  roomId?: string | null;
  driver: string;
  model?: string;
  capabilities: string[];
  config?: Record<string, unknown>;
}

interface LiveDevice {
  row: DeviceRow;
  state: Map<string, { value: StateValue; at: number }>;
}

/**
 * Homes, rooms and devices, their current state and availability. The only source of
 * `device.state`, `device.availability` and `telemetry.sample` on the bus: drivers report raw
 * updates here, the registry dedupes, persists and emits. `command` is the one way anything
 * (API, rules) tells a device what to do.
 */
export class DeviceRegistry {
  readonly #deps: RegistryDeps;
  readonly #drivers = new Map<string, Driver>();
  readonly #devices = new Map<string, LiveDevice>();
  readonly #pending: PendingCommands;
  #started: Driver[] = [];
  /** Who reaches what beyond their role (devices/sharing.ts); its `reach` is the one access check. */
  readonly sharing: Sharing;
  /** Who is home (devices/presence.ts), from toggles, phones and device states. */
  readonly presence: Presence;

  constructor(deps: RegistryDeps) {
    this.#deps = deps;
    this.#pending = new PendingCommands(deps.clock);
    this.sharing = new Sharing({
      store: deps.store,
      bus: deps.bus,
      clock: deps.clock,
      log: deps.log,
      maxShares: deps.maxShares ?? DEFAULT_MAX_SHARES,
      roomOf: (id) => this.#devices.get(id)?.row.roomId,
    });
    this.presence = new Presence({
      store: deps.store,
      bus: deps.bus,
      clock: deps.clock,
      stateOf: (id, capability) => this.#devices.get(id)?.state.get(capability)?.value,
    });
  }

  registerDriver(driver: Driver): void {
    if (this.#drivers.has(driver.name)) throw new Error(`driver ${driver.name} registered twice`);
    this.#drivers.set(driver.name, driver);
  }

  async start(): Promise<void> {
    this.#ensureHome();
    this.#load();
    this.sharing.start();
    this.presence.start();
    for (const driver of this.#drivers.values()) {
      await driver.start(this.#contextFor(driver));
      this.#started.push(driver);
    }
  }

  async stop(): Promise<void> {
    for (const driver of this.#started.reverse()) {
      try {
        await driver.stop();
      } catch (err) {
        this.#deps.log.error({ err, driver: driver.name }, 'driver failed to stop');
      }
    }
    this.#started = [];
    this.sharing.stop();
    this.presence.stop();
    for (const id of this.#devices.keys())
      this.#pending.failDevice(id, new HubError('not_ready', 'the hub is stopping'));
  }

  // ---- reading ----------------------------------------------------------------------------

  /**
   * How far `actor` reaches a device: the sharing check (devices/sharing.ts) for a device that
   * exists. Every device surface (API, events, history, energy, the relay, bridges) asks this.
   */
  access(actor: Actor, deviceId: string): Reach {
    return this.#devices.has(deviceId) ? this.sharing.reach(actor, { kind: 'device', id: deviceId }) : 'none';
  }

  /** Guests see only the devices shared with them (directly or through their room). */
  canSee(actor: Actor, deviceId: string): boolean {
    return this.access(actor, deviceId) !== 'none';
  }

  list(actor: Actor): DeviceView[] {
    const views: DeviceView[] = [];
    for (const device of this.#devices.values()) {
      if (this.canSee(actor, device.row.id)) views.push(toDeviceView(device.row, device.state));
    }
    return views;
  }

  get(id: string, actor: Actor): DeviceView {
    const device = this.#devices.get(id);
    // An unseen device answers exactly like a missing one: no probing for ids.
    if (!device || !this.canSee(actor, id)) throw new HubError('device_not_found', `no device ${id}`, { deviceId: id });
    return toDeviceView(device.row, device.state);
  }

  counts(): { total: number; available: number; pendingCommands: number } {
    let available = 0;
    for (const d of this.#devices.values()) if (d.row.available) available++;
    return { total: this.#devices.size, available, pendingCommands: this.#pending.size };
  }

  // ---- changing devices -------------------------------------------------------------------

  /**
   * Adds a device. `provision`, when given, runs after the row is stored (so credentials can
   * reference it) but before the device is live or announced: pairing a plug claims it there.
   * If it throws, the row is removed again and nothing was announced.
   */
  async create(
    input: CreateDeviceInput,
    actor: Actor,
    provision?: (row: DeviceRow) => Promise<void>,
  ): Promise<{ device: DeviceView; mqtt?: { username: string; password: string } }> {
    requireRole(actor, 'admin', 'adding a device');
    const driver = this.#drivers.get(input.driver);
    if (!driver) throw new HubError('validation_failed', `unknown driver '${input.driver}'`, { field: 'driver' });
    const unknown = input.capabilities.filter((c) => !isKnownCapability(c));
    if (unknown.length > 0)
      throw new HubError('validation_failed', `unknown capabilities: ${unknown.join(', ')}`, {
        field: 'capabilities',
        unknown,
      });
    if (input.roomId) this.#requireRoom(input.roomId);
    if (input.id !== undefined && (this.#devices.has(input.id) || this.#deps.store.devices.byId(input.id))) {
      throw new HubError('conflict', `device ${input.id} exists`, { deviceId: input.id });
    }
    const now = this.#deps.clock.now();
    const row: DeviceRow = {
      id: input.id ?? newId('dev'),
      name: input.name,
      roomId: input.roomId ?? null,
      driver: input.driver,
      model: input.model ?? 'generic',
      capabilities: [...new Set(input.capabilities)],
      config: input.config ?? {},
      available: false,
      createdAt: now,
      updatedAt: now,
    };
    this.#deps.store.devices.insert(row);
    if (provision) {
      try {
        await provision(row);
      } catch (err) {
        this.#deps.store.devices.delete(row.id);
        throw err;
      }
    }
    this.#devices.set(row.id, { row, state: new Map() });
    let provisioning: Awaited<ReturnType<NonNullable<Driver['deviceAdded']>>>;
    try {
      provisioning = await driver.deviceAdded?.(row);
    } catch (err) {
      // Nothing half-made: a device its driver could not take is removed again.
      this.#deps.store.devices.delete(row.id);
      this.#devices.delete(row.id);
      throw err;
    }
    this.#audit(actor, 'device.add', row.id, { name: row.name, driver: row.driver });
    this.#deps.bus.emit('device.added', { deviceId: row.id, at: now });
    const device = toDeviceView(row, new Map());
    return provisioning?.mqtt ? { device, mqtt: provisioning.mqtt } : { device };
  }

  update(id: string, input: { name?: string; roomId?: string | null }, actor: Actor): DeviceView {
    requireRole(actor, 'admin', 'changing a device');
    const device = this.#requireDevice(id, actor);
    if (input.roomId) this.#requireRoom(input.roomId);
    const now = this.#deps.clock.now();
    this.#deps.store.devices.update(id, input, now);
    device.row = this.#deps.store.devices.byId(id)!;
    this.#audit(actor, 'device.update', id, input);
    this.#deps.bus.emit('device.updated', { deviceId: id, at: now });
    return toDeviceView(device.row, device.state);
  }

  async remove(id: string, actor: Actor): Promise<void> {
    requireRole(actor, 'admin', 'removing a device');
    const device = this.#requireDevice(id, actor);
    const driver = this.#drivers.get(device.row.driver);
    // Revoke first (credentials, subscriptions), so a removed device can do nothing more.
    await driver?.deviceRemoved?.(device.row);
    this.#deps.store.devices.delete(id);
    this.#devices.delete(id);
    this.#pending.failDevice(id, new HubError('device_not_found', `device ${id} was removed`));
    const now = this.#deps.clock.now();
    this.#audit(actor, 'device.remove', id, { name: device.row.name });
    this.#deps.bus.emit('device.removed', { deviceId: id, at: now });
  }

  // ---- commands ---------------------------------------------------------------------------

  async command(deviceId: string, capability: string, value: StateValue, actor: Actor): Promise<DeviceView> {
    const device = this.#requireDevice(deviceId, actor);
    // A guest commands only what is shared with them to control; seen but view-only says so.
    if (this.access(actor, deviceId) !== 'control')
      throw new HubError('share_view_only', `device ${deviceId} is shared to view only`, { deviceId });
    if (!device.row.capabilities.includes(capability)) {
      throw new HubError('validation_failed', `device ${deviceId} has no capability '${capability}'`, {
        field: 'capability',
      });
    }
    if (!CAPABILITIES[capability]?.writable) {
      throw new HubError('validation_failed', `'${capability}' is read-only`, { field: 'capability' });
    }
    const invalid = valueProblem(capability, value);
    if (invalid) throw new HubError(invalid.code, invalid.message, { field: 'value' });
    if (!device.row.available) throw new HubError('device_unavailable', `device ${deviceId} is offline`, { deviceId });
    const driver = this.#drivers.get(device.row.driver);
    if (!driver) throw new HubError('driver_not_found', `driver ${device.row.driver} is not running`);

    const started = this.#deps.clock.now();
    const wait = this.#pending.wait(deviceId, capability, value, this.#deps.commandTimeoutMs);
    let outcome = 'confirmed';
    try {
      try {
        await driver.command(device.row, capability, value);
      } catch (err) {
        wait.cancel();
        throw isHubError(err)
          ? err
          : new HubError(
              'device_rejected',
              `driver ${driver.name} failed to send: ${(err as Error).message}`,
              undefined,
              { cause: err },
            );
      }
      await wait.confirmed;
    } catch (err) {
      outcome = isHubError(err) ? err.code : 'internal_error';
      throw err;
    } finally {
      const at = this.#deps.clock.now();
      this.#audit(actor, 'device.command', deviceId, { capability, value, outcome, ms: at - started });
      this.#deps.bus.emit('device.command', { deviceId, capability, value, actor, outcome, ms: at - started, at });
    }
    return this.get(deviceId, actor);
  }

  // ---- rooms ------------------------------------------------------------------------------

  listRooms(): RoomView[] {
    return this.#deps.store.rooms.list().map(toRoomView);
  }

  createRoom(name: string, actor: Actor): RoomView {
    requireRole(actor, 'admin', 'adding a room');
    const home = this.#ensureHome();
    const row = { id: newId('room'), homeId: home, name, createdAt: this.#deps.clock.now() };
    this.#deps.store.rooms.insert(row);
    this.#audit(actor, 'room.add', row.id, { name });
    return toRoomView(row);
  }

  renameRoom(id: string, name: string, actor: Actor): RoomView {
    requireRole(actor, 'admin', 'renaming a room');
    if (!this.#deps.store.rooms.rename(id, name)) throw new HubError('room_not_found', `no room ${id}`);
    this.#audit(actor, 'room.rename', id, { name });
    return toRoomView(this.#deps.store.rooms.byId(id)!);
  }

  deleteRoom(id: string, actor: Actor): void {
    requireRole(actor, 'admin', 'removing a room');
    if (!this.#deps.store.rooms.delete(id)) throw new HubError('room_not_found', `no room ${id}`);
    this.sharing.forget('room', id);
    // Devices in it stay, without a room (ON DELETE SET NULL); keep the cache in step.
    for (const device of this.#devices.values())
      if (device.row.roomId === id) device.row = { ...device.row, roomId: null };
    this.#audit(actor, 'room.remove', id);
  }

  // ---- what drivers report ----------------------------------------------------------------

  #contextFor(driver: Driver): DriverContext {
    return {
      log: this.#deps.log.child({ driver: driver.name }),
      reportState: (deviceId, values, at) =>
        this.#reportState(driver.name, deviceId, values, at ?? this.#deps.clock.now()),
      reportAvailability: (deviceId, available, at) =>
        this.#reportAvailability(driver.name, deviceId, available, at ?? this.#deps.clock.now()),
      saveConfig: (deviceId, config) => this.#saveConfig(driver.name, deviceId, config),
      failCommands: (deviceId, error) => {
        if (this.#devices.get(deviceId)?.row.driver === driver.name) this.#pending.failDevice(deviceId, error);
      },
      devices: () => [...this.#devices.values()].filter((d) => d.row.driver === driver.name).map((d) => d.row),
      device: (deviceId) => {
        const device = this.#devices.get(deviceId);
        return device?.row.driver === driver.name ? device.row : undefined;
      },
    };
  }

  #reportState(driverName: string, deviceId: string, values: Record<string, StateValue>, at: number): void {
    const device = this.#devices.get(deviceId);
    if (!device || device.row.driver !== driverName) return;
    for (const [capability, value] of Object.entries(values)) {
      // Devices say what they want; only the capabilities they were created with count, with
      // values of the right type. Anything else is logged and dropped, never stored.
      if (!device.row.capabilities.includes(capability) || checkValue(capability, value) !== undefined) {
        this.#deps.log.debug({ deviceId, capability, value }, 'ignored state report');
        continue;
      }
      const previous = device.state.get(capability);
      if (CAPABILITIES[capability]?.telemetry && typeof value === 'number') {
        this.#deps.bus.emit('telemetry.sample', { deviceId, capability, value, at });
      }
      if (!previous || previous.value !== value || CAPABILITIES[capability]?.event) {
        device.state.set(capability, { value, at });
        // A telemetry reading is a history sample already (telemetry.sample above): written
        // here too, every 30 s, it was half of what 50 idle plugs wrote (issue 13).
        const inHistory =
          this.#deps.telemetryInHistory && CAPABILITIES[capability]?.telemetry && typeof value === 'number';
        if (!inHistory) this.#deps.store.devices.saveState({ deviceId, capability, value, updatedAt: at });
        this.#deps.bus.emit('device.state', { deviceId, capability, value, previous: previous?.value, at });
      }
      this.#pending.reported(deviceId, capability, value);
    }
  }

  #saveConfig(driverName: string, deviceId: string, config: Record<string, unknown>): void {
    const device = this.#devices.get(deviceId);
    if (!device || device.row.driver !== driverName)
      throw new HubError('device_not_found', `no device ${deviceId}`, { deviceId });
    const now = this.#deps.clock.now();
    this.#deps.store.devices.setConfig(deviceId, config, now);
    device.row = { ...device.row, config, updatedAt: now };
  }

  #reportAvailability(driverName: string, deviceId: string, available: boolean, at: number): void {
    const device = this.#devices.get(deviceId);
    if (!device || device.row.driver !== driverName || device.row.available === available) return;
    device.row = { ...device.row, available, updatedAt: at };
    this.#deps.store.devices.setAvailable(deviceId, available, at);
    this.#deps.bus.emit('device.availability', { deviceId, available, at });
    if (!available)
      this.#pending.failDevice(
        deviceId,
        new HubError('device_unavailable', `device ${deviceId} went offline`, { deviceId }),
      );
  }

  // ---- helpers ----------------------------------------------------------------------------

  #load(): void {
    this.#devices.clear();
    for (const row of this.#deps.store.devices.list()) this.#devices.set(row.id, { row, state: new Map() });
    for (const s of this.#deps.store.devices.states()) {
      this.#devices.get(s.deviceId)?.state.set(s.capability, { value: s.value, at: s.updatedAt });
    }
  }

  /**
   * The latest telemetry readings as history has them (HistoryService.latestReadings), put back
   * into memory after start: `device_state` holds no telemetry written by this version, only what
   * an older one left (loaded by #load, kept where history has nothing newer: if history could
   * not start, that is what is shown). A reading already reported since start is newer and
   * stays. Nothing is emitted, as for the rows #load reads.
   */
  restoreReadings(readings: Iterable<{ deviceId: string; capability: string; value: number; at: number }>): number {
    let restored = 0;
    for (const r of readings) {
      const device = this.#devices.get(r.deviceId);
      if (!device?.row.capabilities.includes(r.capability) || !CAPABILITIES[r.capability]?.telemetry) continue;
      const current = device.state.get(r.capability);
      if (current && current.at >= r.at) continue;
      device.state.set(r.capability, { value: r.value, at: r.at });
      restored++;
    }
    return restored;
  }

  #ensureHome(): string {
    const homes = this.#deps.store.rooms.homes();
    if (homes[0]) return homes[0].id;
    const home = { id: newId('home'), name: 'Home', createdAt: this.#deps.clock.now() };
    this.#deps.store.rooms.insertHome(home);
    return home.id;
  }

  #requireDevice(id: string, actor: Actor): LiveDevice {
    const device = this.#devices.get(id);
    if (!device || !this.canSee(actor, id)) throw new HubError('device_not_found', `no device ${id}`, { deviceId: id });
    return device;
  }

  #requireRoom(id: string): void {
    if (!this.#deps.store.rooms.byId(id)) throw new HubError('room_not_found', `no room ${id}`, { field: 'roomId' });
  }

  #audit(actor: Actor, action: string, target?: string, details?: Record<string, unknown>): void {
    recordAudit(this.#deps.store, this.#deps.bus, {
      actor,
      action,
      ...(target ? { target } : {}),
      ...(details ? { details } : {}),
      at: this.#deps.clock.now(),
    });
  }
}
