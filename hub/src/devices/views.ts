import type { StateValue } from '@hearth/model/values';
import type { Device, Room } from '@hearth/model/api';
import type { DeviceRow } from '../store/devices-repo.ts';
import type { RoomRow } from '../store/rooms-repo.ts';

/**
 * A device and a room as the API and the UI see them (the contract in DESIGN.md): the shared
 * model's types, so the UI reads exactly what the hub builds.
 */
export type DeviceView = Device;
export type RoomView = Room;

export function toDeviceView(
  row: DeviceRow,
  state: ReadonlyMap<string, { value: StateValue; at: number }>,
): DeviceView {
  const values: Record<string, StateValue> = {};
  let updatedAt = row.updatedAt;
  for (const [capability, { value, at }] of state) {
    values[capability] = value;
    if (at > updatedAt) updatedAt = at;
  }
  return {
    id: row.id,
    name: row.name,
    roomId: row.roomId,
    driver: row.driver,
    model: row.model,
    capabilities: row.capabilities,
    available: row.available,
    state: values,
    updatedAt: new Date(updatedAt).toISOString(),
  };
}

export function toRoomView(row: RoomRow): RoomView {
  return { id: row.id, name: row.name, homeId: row.homeId, createdAt: new Date(row.createdAt).toISOString() };
}
