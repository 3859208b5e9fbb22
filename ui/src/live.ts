import type { Device, Room } from '@hearth/model/api';
import { api } from './api/client.ts';
import { connectEvents } from './api/events.ts';
import type { HubEvent } from './api/types.ts';
import { createStore } from './store.ts';

/**
 * The home as the UI knows it: devices and rooms loaded over REST, then kept current by the
 * events stream. After every (re)connect everything is reloaded, so nothing missed while the
 * hub was unreachable stays stale.
 */
export const devices = createStore<Map<string, Device>>(new Map());
export const rooms = createStore<Room[]>([]);
export const loaded = createStore(false);

function patch(id: string, change: (device: Device) => Device): void {
  const current = devices.get().get(id);
  if (!current) return;
  const next = new Map(devices.get());
  next.set(id, change(current));
  devices.set(next);
}

/** Replaces one device with what the hub answered (a confirmed command, a rename). */
export function putDevice(device: Device): void {
  const next = new Map(devices.get());
  next.set(device.id, device);
  devices.set(next);
}

export function dropDevice(id: string): void {
  const next = new Map(devices.get());
  next.delete(id);
  devices.set(next);
}

export async function reload(): Promise<void> {
  const [list, roomList] = await Promise.all([
    api<Device[]>('GET', '/devices'),
    api<Room[]>('GET', '/rooms').catch(() => [] as Room[]),
  ]);
  devices.set(new Map(list.map((d) => [d.id, d])));
  rooms.set(roomList);
  loaded.set(true);
}

async function refetch(id: string): Promise<void> {
  try {
    putDevice(await api<Device>('GET', `/devices/${id}`));
  } catch {
    dropDevice(id);
  }
}

function apply(event: HubEvent): void {
  const id = event.deviceId;
  if (!id) return;
  switch (event.type) {
    case 'device.state':
    case 'telemetry.sample':
      patch(id, (d) => ({ ...d, state: { ...d.state, [event.capability!]: event.value ?? null } }));
      break;
    case 'device.availability':
      patch(id, (d) => ({ ...d, available: event.available === true }));
      break;
    case 'device.added':
    case 'device.updated':
      void refetch(id);
      break;
    case 'device.removed':
      dropDevice(id);
      break;
  }
}

const followers = new Set<(event: HubEvent) => void>();

/**
 * Follows events this file does not keep (e.g. `zigbee.device` while pairing) on the one events
 * stream; returns the function that stops following.
 */
export function onHubEvent(listener: (event: HubEvent) => void): () => void {
  followers.add(listener);
  return () => void followers.delete(listener);
}

/** Starts the live view of the home; returns the stop function (on logout). */
export function startLive(): () => void {
  return connectEvents(
    (event) => {
      apply(event);
      for (const follow of [...followers]) follow(event);
    },
    () => void reload().catch(() => undefined),
  );
}
