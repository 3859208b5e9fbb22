/** GET /cameras, /cameras/:id. */
export interface Camera {
  id: string;
  name: string;
  codec: string;
  width: number;
  height: number;
  fps: number;
  state: string;
  available: boolean;
  alert: { code: string; since: string } | null;
}

/** GET /cameras/:id/recordings: what was kept over a time range. */
export interface Recordings {
  segments: { start: string; end: string; bytes: number }[];
  events: { at: string; kind: string }[];
  clips: { start: string; end: string; source: string }[];
}

/** GET /cameras/storage. */
export interface CameraStorage {
  usedBytes: number;
  freeBytes: number;
  budgetBytes: number;
  minFreeBytes: number;
  alert: { code: string; since: string } | null;
}

/** When a camera records: all the time, around events, or not at all. */
export type CameraMode = 'continuous' | 'events' | 'off';

/** A device state that starts an event recording (any change, or this value). */
export interface CameraTrigger {
  device: string;
  capability: string;
  value?: boolean | number | string;
}

/** A camera's recording settings: how long recordings are kept, pre- and post-roll, what triggers events. */
export interface CameraSettings {
  continuousDays: number;
  eventDays: number;
  preRollS: number;
  postRollS: number;
  triggers: CameraTrigger[];
  motion: boolean;
  motionThreshold: number;
}

/** POST /cameras: a camera by its RTSP address (the settings not given keep their defaults). */
export interface CameraCreate {
  name: string;
  url: string;
  subUrl?: string;
  mode?: CameraMode;
  settings?: Partial<CameraSettings>;
}

/** PATCH /cameras/:id: `subUrl: null` removes the sub stream. */
export interface CameraPatch {
  name?: string;
  subUrl?: string | null;
  mode?: CameraMode;
  settings?: Partial<CameraSettings>;
}

/** POST /cameras/:id/clips: keep the last seconds as a clip. */
export interface ClipCreate {
  seconds?: number;
}
