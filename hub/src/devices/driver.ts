import type { StateValue } from '@hearth/model/values';
import type { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { DeviceRow } from '../store/devices-repo.ts';

/**
 * What the registry gives a driver: the only way a driver reports what its devices say.
 * The registry dedupes, persists and emits `device.state` / `device.availability` /
 * `telemetry.sample` on the bus; drivers never emit those themselves.
 */
export interface DriverContext {
  log: Logger;
  reportState(deviceId: string, values: Record<string, StateValue>, at?: number): void;
  reportAvailability(deviceId: string, available: boolean, at?: number): void;
  /**
   * Replaces a device's driver-owned config (stored at once, before this returns): e.g. the
   * plug driver's command counter, which must be on disk before the command leaves.
   */
  saveConfig(deviceId: string, config: Record<string, unknown>): void;
  /** Fails the device's commands waiting for confirmation now (the device said it refused them). */
  failCommands(deviceId: string, error: HubError): void;
  /** Devices of this driver, as stored. */
  devices(): DeviceRow[];
  /** One device of this driver, or undefined (unknown, or another driver's). */
  device(deviceId: string): DeviceRow | undefined;
}

/**
 * A device family (Hearth plugs, Zigbee, cameras, generic MQTT). One instance per family.
 * `command` hands the command to the device and resolves when it was sent; the confirmation
 * arrives later through `reportState`, which is what `DeviceRegistry.command` waits for.
 * A driver that knows the device refused the command throws a HubError (`device_rejected`).
 */
export interface Driver {
  readonly name: string;
  start(ctx: DriverContext): Promise<void>;
  stop(): Promise<void>;
  command(device: DeviceRow, capability: string, value: StateValue): Promise<void>;
  /** Called after the registry stored a new device of this driver; may return secrets shown once. */
  // biome-ignore lint/suspicious/noConfusingVoidType: drivers with nothing to provision return nothing.
  deviceAdded?(device: DeviceRow): Promise<DeviceProvisioning | void> | DeviceProvisioning | void;
  /** Called after a device of this driver was removed: revoke its credentials, forget it. */
  deviceRemoved?(device: DeviceRow): Promise<void> | void;
}

/** What a driver hands back once, when a device is added: e.g. its MQTT credentials. */
export interface DeviceProvisioning {
  mqtt?: { username: string; password: string };
}
