import type { CameraRow, RecorderRepo } from '../store/recorder-repo.ts';
import { parseCameraSettings, type CameraMode, type CameraSettings } from './camera-settings.ts';
import { clipView, type ClipView } from './event-clips.ts';
import { maskUrl } from './url.ts';

/** A camera as the API shows it: the URL's password is masked; only admins get the URLs at all. */
export interface CameraView {
  id: string;
  name: string;
  /** The source URL, password masked; absent for anyone below admin (`forViewer`). */
  url?: string;
  codec: string;
  width: number;
  height: number;
  fps: number;
  /** The sub stream (URL masked, absent below admin), or null: the camera has none. */
  sub: { url?: string; codec: string; width: number; height: number; fps: number } | null;
  mode: CameraMode;
  /** Absent for guests (its triggers name other devices). */
  settings?: CameraSettings;
  /** recording | starting | unavailable | off | storage_full */
  state: string;
  available: boolean;
  /** Set while something needs a person: `recorder_storage_full`. */
  alert: { code: string; since: string } | null;
  createdAt: string;
}

export interface Recordings {
  cameraId: string;
  from: string;
  to: string;
  segments: { start: string; end: string; bytes: number; kind: 'continuous' | 'event' }[];
  clips: ClipView[];
  events: { at: string; kind: string; details: Record<string, unknown> | null }[];
}

export const iso = (t: number) => new Date(t).toISOString();

/**
 * `available` is the camera's recorder's (undefined: none runs); `storageAlert` the storage
 * guard's alert, set while the volume is at its floor.
 */
export function cameraView(
  c: CameraRow,
  available: boolean | null | undefined,
  storageAlert: { code: string; since: string } | null,
): CameraView {
  const state =
    c.mode === 'off'
      ? 'off'
      : storageAlert !== null
        ? 'storage_full'
        : available === true
          ? 'recording'
          : available === false
            ? 'unavailable'
            : 'starting';
  return {
    id: c.id,
    name: c.name,
    url: maskUrl(c.url),
    codec: c.codec,
    width: c.width,
    height: c.height,
    fps: c.fps,
    sub: c.sub
      ? { url: maskUrl(c.sub.url), codec: c.sub.codec, width: c.sub.width, height: c.sub.height, fps: c.sub.fps }
      : null,
    mode: c.mode,
    settings: parseCameraSettings(c.settings),
    state,
    available: available === true,
    alert: c.mode === 'off' ? null : storageAlert,
    createdAt: iso(c.createdAt),
  };
}

/**
 * Who looks at a camera: admins configure cameras and see their source URLs (password masked);
 * members watch and play back, so they get everything but the URLs; guests (a share) get only
 * what watching needs: name, state, stream sizes, recordings. A camera URL carries the camera's
 * user name and LAN address even masked, and an ffmpeg failure reason can name the host.
 */
export type CameraViewer = 'admin' | 'member' | 'guest';

/** `view` as `viewer` may see it. */
export function cameraForViewer(view: CameraView, viewer: CameraViewer): CameraView {
  if (viewer === 'admin') return view;
  const { url: _url, settings, sub, ...rest } = view;
  const shown: CameraView = {
    ...rest,
    sub: sub ? { codec: sub.codec, width: sub.width, height: sub.height, fps: sub.fps } : null,
  };
  if (viewer === 'member' && settings) shown.settings = settings;
  return shown;
}

/**
 * `r` as `viewer` may see it: a guest gets no event details (who made a clip, an ffmpeg failure
 * reason naming the camera's host); a member no failure reason (the host again).
 */
export function recordingsForViewer(r: Recordings, viewer: CameraViewer): Recordings {
  if (viewer === 'admin') return r;
  return {
    ...r,
    events: r.events.map((e) => {
      if (viewer === 'guest' || e.details === null) return { ...e, details: null };
      const { reason: _reason, ...details } = e.details;
      return { ...e, details };
    }),
  };
}

/** The timeline of [from, to): segments, event clips and camera events. */
export function recordingsView(repo: RecorderRepo, id: string, from: number, to: number): Recordings {
  return {
    cameraId: id,
    from: iso(from),
    to: iso(to),
    segments: repo.segments(id, from, to).map((s) => ({
      start: iso(s.startAt),
      end: iso(s.endAt),
      bytes: s.bytes,
      kind: s.event ? ('event' as const) : ('continuous' as const),
    })),
    clips: repo.clips(id, from, to).map(clipView),
    events: repo.events(id, from, to).map((e) => ({ at: iso(e.at), kind: e.kind, details: e.details })),
  };
}
