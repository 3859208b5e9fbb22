import type { StateValue } from '../core/bus.ts';
import type { DeviceRow } from '../store/devices-repo.ts';
import type { RoomRow } from '../store/rooms-repo.ts';

/** A device as the API and the UI see it (the contract in DESIGN.md). */
export interface DeviceView {
  id: string;
  name: string;
  roomId: string | null;
  driver: string;
  model: string;
  capabilities: string[];
  available: boolean;
  state: Record<string, StateValue>;
  updatedAt: string;
}

export interface RoomView {
  id: string;
  name: string;
  homeId: string;
  createdAt: string;
}

export function toDeviceView(row: DeviceRow, state: ReadonlyMap<string, { value: StateValue; at: number }>): DeviceView {
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
