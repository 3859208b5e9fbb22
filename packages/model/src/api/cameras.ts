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
