/**
 * What a camera records and keeps: its mode, how long each kind of footage stays, the pre- and
 * post-roll around an event, and the sensors whose changes make an event clip. Stored as JSON
 * in `cameras.settings` (the mode has its own column); anything missing takes the default.
 */
import type { CameraMode } from '../store/recorder-repo.ts';

export type { CameraMode };

export const CAMERA_MODES: readonly CameraMode[] = ['continuous', 'events', 'off'];

/** A device capability whose change records an event clip (a motion or contact sensor). */
export interface CameraTriggerLink {
  device: string;
  capability: string;
  /** The value that means "something happened"; without it, `true`. */
  value?: boolean | number | string;
}

export interface CameraSettings {
  /** Days continuous footage stays (segments outside every event clip). */
  continuousDays: number;
  /** Days event clips stay. */
  eventDays: number;
  /** Seconds of footage kept before an event (taken from the segments already recorded). */
  preRollS: number;
  /** Seconds kept after an event when its source gives no length (a sensor). */
  postRollS: number;
  triggers: CameraTriggerLink[];
  /** Motion detection on the sub stream (a camera without one cannot turn it on). */
  motion: boolean;
  /** Scene-change score (0..1) a sampled frame needs to count as motion. */
  motionThreshold: number;
}

export const DEFAULT_CAMERA_SETTINGS: CameraSettings = {
  continuousDays: 7,
  eventDays: 30,
  preRollS: 10,
  postRollS: 20,
  triggers: [],
  motion: false,
  motionThreshold: 0.02,
};

/** Reads the stored JSON: unknown or missing fields fall back to the defaults. */
export function parseCameraSettings(json: string): CameraSettings {
  let raw: Partial<CameraSettings> = {};
  try {
    raw = JSON.parse(json) as Partial<CameraSettings>;
  } catch {
    /* a broken value is the defaults, not a crash at start */
  }
  return mergeCameraSettings(DEFAULT_CAMERA_SETTINGS, raw);
}

export function mergeCameraSettings(base: CameraSettings, patch: Partial<CameraSettings>): CameraSettings {
  return {
    continuousDays: patch.continuousDays ?? base.continuousDays,
    eventDays: patch.eventDays ?? base.eventDays,
    preRollS: patch.preRollS ?? base.preRollS,
    postRollS: patch.postRollS ?? base.postRollS,
    triggers: patch.triggers ?? base.triggers,
    motion: patch.motion ?? base.motion,
    motionThreshold: patch.motionThreshold ?? base.motionThreshold,
  };
}

/** Does this state value mean the linked sensor saw something? */
export function triggerMatches(link: CameraTriggerLink, value: unknown): boolean {
  return link.value === undefined ? value === true : value === link.value;
}
