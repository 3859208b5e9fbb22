import type { EventBus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { CameraRow, ClipRow, RecorderRepo } from '../store/recorder-repo.ts';
import { parseCameraSettings, triggerMatches, type CameraTriggerLink } from './camera-settings.ts';

export interface ClipView {
  id: number;
  cameraId: string;
  at: string;
  start: string;
  end: string;
  source: string;
}

export interface ClipRequest {
  /** After now; default the camera's post-roll. */
  seconds?: number;
  /** user | rule | device | motion */
  source: string;
  details?: Record<string, unknown>;
}

const OWNER = 'recorder.clips';

/**
 * Event clips: windows of footage kept around an event, from the pre-roll before it (segments
 * already on disk) to the post-roll after, and the linked sensors that make them.
 */
export class EventClips {
  readonly #repo: RecorderRepo;
  readonly #bus: EventBus;
  readonly #clock: Clock;
  readonly #log: Logger;
  /** Linked sensors: `device\0capability` → cameras and the value that triggers them. */
  #links = new Map<string, { cameraId: string; link: CameraTriggerLink }[]>();

  constructor(deps: { repo: RecorderRepo; bus: EventBus; clock: Clock; log: Logger }) {
    this.#repo = deps.repo;
    this.#bus = deps.bus;
    this.#clock = deps.clock;
    this.#log = deps.log;
  }

  /**
   * Records an event clip of `camera`: [now − preRollS, now + seconds]. A clip of the camera
   * that is still open is extended instead (one motion sensor firing every few seconds is one
   * clip, and a rule reacting to its own clip cannot loop: an extension emits nothing).
   * Segments in the window are kept as event footage; the ones still to come are marked when
   * they are indexed (the segment INSERT looks for a clip over it).
   */
  clip(camera: CameraRow, input: ClipRequest): ClipView {
    if (camera.mode === 'off')
      throw new HubError('camera_off', 'the camera records nothing (mode off)', { id: camera.id });
    const settings = parseCameraSettings(camera.settings);
    const now = this.#clock.now();
    const endAt = now + (input.seconds ?? settings.postRollS) * 1000;
    const open = this.#repo.openClip(camera.id, now);
    let clip: ClipRow;
    if (open) {
      this.#repo.extendClip(open.id, endAt);
      clip = { ...open, endAt: Math.max(open.endAt, endAt) };
    } else {
      const row = {
        cameraId: camera.id,
        at: now,
        startAt: now - settings.preRollS * 1000,
        endAt,
        source: input.source,
        details: input.details ?? null,
      };
      clip = { id: this.#repo.insertClip(row), ...row };
      this.#repo.insertEvent(camera.id, now, 'clip', { clipId: clip.id, source: input.source, ...input.details });
      this.#bus.emit('recording.event', { cameraId: camera.id, kind: 'clip', at: now });
    }
    this.#repo.markEventSegments(camera.id, clip.startAt, clip.endAt);
    this.#log.info({ camera: camera.id, source: input.source, extended: open !== undefined }, 'event clip');
    return clipView(clip);
  }

  /** (Re)reads every camera's linked sensors; a matching `device.state` makes a clip. */
  link(cameras: CameraRow[]): void {
    const links = new Map<string, { cameraId: string; link: CameraTriggerLink }[]>();
    for (const camera of cameras) {
      for (const link of parseCameraSettings(camera.settings).triggers) {
        const key = `${link.device}\0${link.capability}`;
        links.set(key, [...(links.get(key) ?? []), { cameraId: camera.id, link }]);
      }
    }
    this.#links = links;
    this.#bus.offOwner(OWNER);
    if (links.size === 0) return;
    this.#bus.on(OWNER, 'device.state', (e) => {
      for (const { cameraId, link } of this.#links.get(`${e.deviceId}\0${e.capability}`) ?? []) {
        if (!triggerMatches(link, e.value)) continue;
        const camera = this.#repo.getCamera(cameraId);
        if (!camera || camera.mode === 'off') continue;
        try {
          this.clip(camera, {
            source: 'device',
            details: { device: e.deviceId, capability: e.capability, value: e.value },
          });
        } catch (err) {
          this.#log.warn({ err, camera: cameraId }, 'event clip from a linked sensor failed');
        }
      }
    });
  }

  stop(): void {
    this.#bus.offOwner(OWNER);
  }
}

export function clipView(c: ClipRow): ClipView {
  const iso = (t: number) => new Date(t).toISOString();
  return { id: c.id, cameraId: c.cameraId, at: iso(c.at), start: iso(c.startAt), end: iso(c.endAt), source: c.source };
}
