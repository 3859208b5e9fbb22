import type { Actor } from '@hearth/model/values';
import { HubError } from '../core/errors.ts';
import type { CameraRow, SubStreamInfo } from '../store/recorder-repo.ts';
import { parseCameraSettings, type CameraMode, type CameraSettings } from './camera-settings.ts';
import type { ProbeResult } from './probe.ts';

export interface CameraInput {
  name?: string;
  /** The camera's sub stream; null (on an update) removes it. */
  subUrl?: string | null;
  mode?: CameraMode;
  settings?: Partial<CameraSettings>;
}

/** The device registry as the recorder sees it: a device and its capabilities, for an actor. */
export interface DeviceLookup {
  get(id: string, actor: Actor): { capabilities: string[] };
}

/** What the sub stream's ffmpeg depends on in the settings (a change restarts it). */
export const motionOf = (c: CameraRow) => {
  const s = parseCameraSettings(c.settings);
  return `${s.motion}:${s.motionThreshold}`;
};

/** Linked sensors must exist for the actor and have the linked capability. */
export function checkTriggers(settings: CameraSettings, actor: Actor, devices: DeviceLookup | undefined): void {
  if (!devices) return;
  for (const [i, link] of settings.triggers.entries()) {
    const device = devices.get(link.device, actor); // device_not_found
    if (!device.capabilities.includes(link.capability)) {
      throw new HubError('validation_failed', `device ${link.device} has no capability '${link.capability}'`, {
        field: `settings.triggers.${i}.capability`,
      });
    }
  }
}

/** Motion is computed on the sub stream only: the main stream is never decoded. */
export function checkMotion(settings: CameraSettings, hasSub: boolean): void {
  if (settings.motion && !hasSub) {
    throw new HubError('validation_failed', "body: 'settings.motion' needs a sub stream (subUrl)", {
      location: 'body',
      field: 'settings.motion',
      rule: 'needs_sub_stream',
    });
  }
}

/** Probes a sub stream like the main one; its errors say `details.stream: sub`. */
export async function probeSub(url: string, probe: (url: string) => Promise<ProbeResult>): Promise<SubStreamInfo> {
  try {
    return { url, ...(await probe(url)) };
  } catch (err) {
    if (err instanceof HubError)
      throw new HubError(err.code, `sub stream: ${err.message}`, { ...err.details, stream: 'sub' });
    throw err;
  }
}
