import { join } from 'node:path';
import type { EventBus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { CameraRow, RecorderRepo, SubStreamInfo } from '../store/recorder-repo.ts';
import { CameraRecorder, type ClosedSegment } from './camera-recorder.ts';
import { parseCameraSettings } from './camera-settings.ts';
import type { LiveStreamName } from './hls-tickets.ts';
import type { HlsWindow } from './hls.ts';
import type { LiveViewer } from './live.ts';
import { DEFAULT_MOTION } from './motion.ts';
import type { RecorderConfig } from './recorder-config.ts';
import { INCOMING_DIR } from './segment-layout.ts';
import { STORAGE_FULL } from './storage-guard.ts';
import { SubStream } from './sub-stream.ts';

export interface CameraStreamsDeps {
  repo: RecorderRepo;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  /** DATA/recordings. */
  root: string;
  config: RecorderConfig;
  ffmpeg?: string;
  /** True while the volume is at its floor: nothing records, nothing can be watched. */
  storageFull: () => boolean;
  onSegment: (cameraId: string, segment: ClosedSegment) => void;
  onMotion: (cameraId: string, at: number, score: number) => void;
}

/** What a live viewer or an HLS ticket attaches to: one stream of one camera. */
export interface LiveSource {
  hls: HlsWindow;
  add(viewer: LiveViewer): () => void;
}

/**
 * The running ffmpegs of the cameras: one CameraRecorder per camera that records, and its sub
 * stream's ffmpeg alongside. Availability changes go into `camera_events` and on the bus.
 */
export class CameraStreams {
  readonly #d: CameraStreamsDeps;
  readonly #recorders = new Map<string, CameraRecorder>();
  /** One ffmpeg per sub stream, running alongside the camera's recorder. */
  readonly #subStreams = new Map<string, SubStream>();
  #stopped = false;

  constructor(deps: CameraStreamsDeps) {
    this.#d = deps;
  }

  /** The cameras whose recorder runs now. */
  recording(): string[] {
    return [...this.#recorders.keys()];
  }

  /** The camera's recorder: true recording, false unavailable, null or undefined starting. */
  available(id: string): boolean | null | undefined {
    return this.#recorders.get(id)?.available;
  }

  /** Cameras may start again (after stopAll). */
  resume(): void {
    this.#stopped = false;
  }

  /** Stops every ffmpeg; nothing starts until `resume`. */
  async stopAll(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#recorders.values(), ...this.#subStreams.values()].map((r) => r.stop()));
    this.#recorders.clear();
    this.#subStreams.clear();
  }

  async stop(id: string): Promise<void> {
    const recorder = this.#recorders.get(id);
    const sub = this.#subStreams.get(id);
    this.#recorders.delete(id);
    this.#subStreams.delete(id);
    await Promise.all([recorder?.stop(), sub?.stop()]);
  }

  start(camera: CameraRow): void {
    if (camera.mode === 'off' || this.#d.storageFull() || this.#stopped || this.#recorders.has(camera.id)) return;
    const { clock, log, bus, repo, config } = this.#d;
    const recorder = new CameraRecorder({
      cameraId: camera.id,
      url: camera.url,
      dir: join(this.#d.root, camera.id, INCOMING_DIR),
      segmentSeconds: config.segmentSeconds,
      backoffInitialMs: config.backoffInitialMs,
      backoffMaxMs: config.backoffMaxMs,
      clock,
      log,
      ...(this.#d.ffmpeg ? { ffmpeg: this.#d.ffmpeg } : {}),
      onSegment: (s) => this.#d.onSegment(camera.id, s),
      onAvailability: (available, reason) => {
        const at = clock.now();
        const kind = available ? 'camera_available' : 'camera_unavailable';
        repo.insertEvent(camera.id, at, kind, { reason });
        log.info({ camera: camera.id, available, reason }, available ? 'camera recording' : 'camera unavailable');
        bus.emit('recording.event', { cameraId: camera.id, kind, at });
      },
    });
    this.#recorders.set(camera.id, recorder);
    recorder.start();
    if (camera.sub) this.#startSubStream(camera, camera.sub);
  }

  /** Restarts only the sub stream's ffmpeg (a new sub URL or motion setting); none when `camera.sub` is null. */
  async restartSubStream(camera: CameraRow): Promise<void> {
    await this.#subStreams.get(camera.id)?.stop();
    this.#subStreams.delete(camera.id);
    if (camera.sub && this.#recorders.has(camera.id)) this.#startSubStream(camera, camera.sub);
  }

  /** The camera's main or sub stream for live viewers and HLS. */
  live(camera: CameraRow, stream: LiveStreamName): LiveSource {
    const id = camera.id;
    if (stream === 'sub' && !camera.sub) {
      throw new HubError('validation_failed', "query: 'stream' sub: this camera has no sub stream", {
        location: 'query',
        field: 'stream',
        rule: 'no_sub_stream',
      });
    }
    if (camera.mode === 'off') throw new HubError('camera_off', 'the camera records nothing (mode off)', { id });
    if (this.#d.storageFull()) throw new HubError(STORAGE_FULL, 'recording is stopped: the volume is full', { id });
    const source = stream === 'sub' ? this.#subStreams.get(id) : this.#recorders.get(id);
    if (!source) throw new HubError('camera_not_found', 'no such camera', { id });
    return source.live;
  }

  /** The sub stream's own ffmpeg: live view and HLS for phones (recording stays on the main stream). */
  #startSubStream(camera: CameraRow, sub: SubStreamInfo): void {
    const settings = parseCameraSettings(camera.settings);
    const motion = settings.motion
      ? {
          ...DEFAULT_MOTION,
          threshold: settings.motionThreshold,
          onMotion: (at: number, score: number) => this.#d.onMotion(camera.id, at, score),
        }
      : undefined;
    const stream = new SubStream({
      ...(motion ? { motion } : {}),
      cameraId: camera.id,
      url: sub.url,
      clock: this.#d.clock,
      log: this.#d.log,
      backoffInitialMs: this.#d.config.backoffInitialMs,
      backoffMaxMs: this.#d.config.backoffMaxMs,
      ...(this.#d.ffmpeg ? { ffmpeg: this.#d.ffmpeg } : {}),
    });
    this.#subStreams.set(camera.id, stream);
    stream.start();
  }
}
