import type { Actor, StateValue } from '../values.ts';

/** GET /devices, /devices/:id; the device.added / device.updated events. */
export interface Device {
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

/** POST /devices: the new device, and for an MQTT device its broker login (the password shown once). */
export interface DeviceCreated {
  device: Device;
  mqtt?: { username: string; password: string };
}

/** GET /rooms. */
export interface Room {
  id: string;
  name: string;
  homeId: string;
  createdAt: string;
}

/** GET /history/events: one entry of a device's command and event log. */
export interface DeviceLogEvent {
  id: number;
  at: string;
  kind: string;
  capability: string | null;
  value: StateValue;
  previous: StateValue;
  actor: Actor | null;
  outcome: string | null;
}

/** GET /history/events: a page of the log, newest first; `nextBefore` asks for the page before. */
export interface DeviceLogPage {
  events: DeviceLogEvent[];
  nextBefore: number | null;
}

/** One device's wanted state in a scene. */
export interface SceneState {
  device: string;
  capability: string;
  value: StateValue;
}

/** GET /scenes. */
export interface Scene {
  id: string;
  name: string;
  states: SceneState[];
}

/** POST /scenes/:id/activate: each state with its command's outcome (`ok` or an error code). */
export interface SceneActivation {
  results: (SceneState & { result: string })[];
}

/** GET /plugs/discovered: an unpaired plug seen on the network. */
export interface DiscoveredPlug {
  id: string;
  model: string;
  firmware: string;
  address: string;
}

/** GET /plugs/firmware: a signed firmware image the hub holds. */
export interface FirmwareImage {
  model: string;
  version: string;
  size: number;
  sha256: string;
  addedAt: number;
}

export type PlugUpdateState = 'sending' | 'downloading' | 'rebooting' | 'done' | 'failed';

/** GET /plugs/:id/update: a plug's firmware and its update in progress or last done. */
export interface PlugUpdateView {
  deviceId: string;
  model: string;
  firmware: string | null;
  update: {
    version: string;
    from: string | null;
    state: PlugUpdateState;
    offset: number;
    size: number;
    progress: number;
    error: string | null;
    startedAt: number;
    updatedAt: number;
  } | null;
}

/** The plug.update event of the /events stream. */
export interface PlugUpdateProgress {
  deviceId: string;
  state: PlugUpdateState;
  version: string;
  offset: number;
  size: number;
  error: string | null;
  at: number;
}

/** A firmware rollout in waves. */
export interface PlugRollout {
  id: string;
  model: string;
  version: string;
  state: 'running' | 'paused' | 'done' | 'cancelled';
  wave: number;
  waves: number;
  pausedReason: string | null;
  plugs: {
    deviceId: string;
    wave: number;
    state: 'pending' | 'updating' | 'done' | 'failed' | 'skipped';
    error: string | null;
  }[];
}

/** GET /plugs/rollout: the current or last rollout, null when none ran. */
export interface PlugRolloutView {
  rollout: PlugRollout | null;
}

/** GET /zigbee: the radio's state and whether it lets devices join. */
export interface ZigbeeStatus {
  state: 'starting' | 'running' | 'failed' | 'stopped' | 'off' | string;
  adapter?: string;
  port?: string;
  permitJoin: boolean;
  /** When joining closes (epoch ms), or null. */
  permitJoinUntil?: number | null;
  /** Failed starts since the radio last ran: `starting` with failures is a retry. */
  failures?: number;
}

export type ZigbeeJoinStatus = 'joined' | 'interviewing' | 'interview_failed' | 'added' | 'unsupported' | 'left';

/** A device joining the Zigbee network (the zigbee.device events). */
export interface ZigbeeJoiner {
  ieee: string;
  status: ZigbeeJoinStatus;
  deviceId?: string;
  model?: string;
  /** Already a Hearth device when it (re)joined: herdsman interviews it again, nothing is added. */
  rejoined?: boolean;
}

/** POST /devices: a device of a driver that takes devices by hand (the generic MQTT one). */
export interface DeviceCreate {
  name: string;
  roomId?: string | null;
  driver: string;
  model?: string;
  capabilities: string[];
  config?: Record<string, unknown>;
}

/** PATCH /devices/:id: a new name or room (at least one). */
export interface DevicePatch {
  name?: string;
  roomId?: string | null;
}

/** POST /devices/:id/commands. */
export interface DeviceCommand {
  capability: string;
  value: StateValue;
}

/** POST /rooms, PATCH /rooms/:id. */
export interface RoomBody {
  name: string;
}

/** POST /plugs/:id/pair: the code printed on the plug (or its QR text) and where it goes. */
export interface PlugPair {
  setupCode: string;
  name: string;
  roomId?: string | null;
}

/** POST /plugs/firmware: a signed image (the manifest, the release key's signature, the bytes in base64). */
export interface FirmwareUpload {
  manifest: { model: string; version: string; size: number; sha256: string };
  sig: string;
  image: string;
}

/** POST /plugs/:id/update: one plug to a version the hub holds (an older one only with `downgrade`). */
export interface PlugUpdateStart {
  version: string;
  downgrade?: boolean;
}

/** POST /plugs/rollout: every plug of a model (or the ones named) to a version, in waves. */
export interface PlugRolloutStart {
  model: string;
  version: string;
  plugs?: string[];
  waveSize?: number;
  downgrade?: boolean;
}

/** POST /zigbee/permit-join: open the network for new devices for this long (0 closes it). */
export interface ZigbeePermitJoin {
  seconds: number;
}

/** POST /scenes, PUT /scenes/:id: a name and the device states it sets (checked like commands). */
export interface SceneBody {
  name: string;
  states: SceneState[];
}
