import type { Actor } from '@hearth/model/values';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { EventBus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import { recordAudit } from '../store/audit-log.ts';
import { RecorderRepo, type CameraRow } from '../store/recorder-repo.ts';
import type { Store } from '../store/store.ts';
import type { ClosedSegment } from './camera-recorder.ts';
import { maskOldCameraAuditRows } from './audit-urls.ts';
import { checkMotion, checkTriggers, motionOf, probeSub, type CameraInput, type DeviceLookup } from './camera-input.ts';
import { DEFAULT_CAMERA_SETTINGS, mergeCameraSettings, parseCameraSettings } from './camera-settings.ts';
import { CameraStreams } from './camera-streams.ts';
import { EventClips, type ClipRequest, type ClipView } from './event-clips.ts';
import { MAX_EXPORT_MS, RangeExporter, roundOutRange, type ExportedFile, type ExportStats } from './export.ts';
import { FullSweep } from './full-sweep.ts';
import { HlsTickets, type LiveStreamName } from './hls-tickets.ts';
import type { HlsWindow } from './hls.ts';
import type { LiveViewer } from './live.ts';
import { Maintenance } from './maintenance.ts';
import { probeCamera, type ProbeResult } from './probe.ts';
import { reconcileAtStart, type ReconcileResult } from './reconcile.ts';
import { DEFAULT_RECORDER_CONFIG, type RecorderConfig } from './recorder-config.ts';
import { fileSegment } from './segment-intake.ts';
import { Snapshots } from './snapshot.ts';
import { StorageGuard, type StorageView } from './storage-guard.ts';
import { RecordingsStorage } from './storage.ts';
import { maskUrl, parseCameraUrl } from './url.ts';
import { cameraView, recordingsView, type CameraView, type Recordings } from './views.ts';

// What other code imports from here, now defined in the files above.
export { DEFAULT_RECORDER_CONFIG, type RecorderConfig } from './recorder-config.ts';
export { STORAGE_FULL, type StorageView } from './storage-guard.ts';
export type { CameraInput } from './camera-input.ts';
export type { CameraView, Recordings } from './views.ts';

/** Kept free beyond the floor and the open segments' reserve when an export is admitted. */
const EXPORT_MARGIN_BYTES = 1024 * 1024;

export interface RecorderDeps {
  store: Store;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  dataDir: string;
  /** Where recordings go (`recorder.dir`: their own volume, docs/writes.md); default DATA/recordings. */
  recordingsDir?: string;
  config?: Partial<RecorderConfig>;
  /** ffprobe by default; tests of the API alone may stand in. */
  probe?: (url: string) => Promise<ProbeResult>;
  /** The ffmpeg binary (tests use a stand-in to make a camera stall on demand). */
  ffmpeg?: string;
  /** Free bytes on the recordings volume (statfs by default; tests stand in). */
  freeBytes?: (dir: string) => number;
  /** Checks linked sensors as the person linking them sees them (the device registry). */
  devices?: DeviceLookup;
}

/**
 * The recorder part: cameras (added after an ffprobe), one CameraRecorder (supervised ffmpeg)
 * per camera that records, the segment index, event clips, storage limits, and playback of a
 * range as one stream-copied MP4. Availability changes, clips and the storage alert go on the
 * bus as `recording.event` and into `camera_events`, so they show on the timeline.
 *
 * This class is the part's face and its wiring: the running ffmpegs are CameraStreams, the
 * budget and floor StorageGuard, the periodic upkeep Maintenance.
 */
export class RecorderService {
  readonly repo: RecorderRepo;
  readonly root: string;
  readonly storage: RecordingsStorage;
  readonly #d: RecorderDeps;
  readonly #config: RecorderConfig;
  readonly #exporter: RangeExporter;
  readonly #streams: CameraStreams;
  readonly #guard: StorageGuard;
  readonly #maintenance: Maintenance;
  readonly #clips: EventClips;
  readonly #sweep: FullSweep;
  readonly #hlsTickets = new HlsTickets();
  readonly #snapshots: Snapshots;

  constructor(deps: RecorderDeps) {
    this.#d = deps;
    this.#config = { ...DEFAULT_RECORDER_CONFIG, ...deps.config };
    this.repo = new RecorderRepo(deps.store.db);
    this.root = deps.recordingsDir ?? join(deps.dataDir, 'recordings');
    this.storage = new RecordingsStorage(this.repo, this.root, deps.freeBytes);
    this.#snapshots = new Snapshots(this.repo, this.root);
    this.#exporter = new RangeExporter({
      root: this.root,
      log: deps.log,
      clock: deps.clock,
      limits: {
        perUser: this.#config.exportsPerUser,
        total: this.#config.exportsTotal,
        budgetBytes: this.#config.exportBudgetBytes,
      },
      // Only space above the floor and the open segments' reserve, with a margin: an export
      // must never be the reason footage is removed or recording stops.
      room: () => this.storage.free() - this.#config.minFreeBytes - this.#guard.reservedBytes() - EXPORT_MARGIN_BYTES,
      ...(deps.ffmpeg ? { ffmpeg: deps.ffmpeg } : {}),
    });
    this.#clips = new EventClips({ repo: this.repo, bus: deps.bus, clock: deps.clock, log: deps.log });
    this.#sweep = new FullSweep({ repo: this.repo, root: this.root, clock: deps.clock, log: deps.log });
    const { bus, clock, log } = deps;
    this.#guard = new StorageGuard({
      repo: this.repo,
      storage: this.storage,
      bus,
      clock,
      log,
      config: this.#config,
      recording: () => this.#streams.recording(),
      stopCamera: (id) => this.#streams.stop(id),
      startCamera: (camera) => this.#streams.start(camera),
      onFullChange: () => this.#maintenance.schedule(),
      exports: {
        bytesOnDisk: () => this.#exporter.bytesOnDisk(),
        reclaim: () => this.#exporter.reclaim(),
        budgetBytes: this.#config.exportBudgetBytes,
      },
    });
    this.#streams = new CameraStreams({
      repo: this.repo,
      bus,
      clock,
      log,
      root: this.root,
      config: this.#config,
      ...(deps.ffmpeg ? { ffmpeg: deps.ffmpeg } : {}),
      storageFull: () => this.#guard.full,
      onSegment: (cameraId, segment) => this.#onSegment(cameraId, segment),
      onMotion: (cameraId, at, score) => this.#onMotion(cameraId, at, score),
    });
    this.#maintenance = new Maintenance({
      repo: this.repo,
      storage: this.storage,
      exporter: this.#exporter,
      guard: this.#guard,
      clock,
      log,
      config: this.#config,
    });
  }

  /** Start-up as named steps (each testable alone): make the directory, reconcile, record. */
  async start(): Promise<void> {
    this.#maintenance.resume();
    this.#streams.resume();
    const steps: [string, () => void][] = [
      ['prepare_dir', () => mkdirSync(this.root, { recursive: true })],
      [
        'mask_audit',
        () => {
          const n = maskOldCameraAuditRows(this.repo, this.#d.store.settings);
          if (n) this.#d.log.info({ rows: n }, 'camera URLs in older audit rows masked');
        },
      ],
      ['reconcile', () => this.reconcile()],
      // Before recording: a full disk is made room on first.
      [
        'maintain',
        () => {
          this.maintain();
          this.#maintenance.schedule();
        },
      ],
      ['link_sensors', () => this.#clips.link(this.repo.listCameras())],
      [
        'start_recorders',
        () => {
          for (const camera of this.repo.listCameras()) this.#streams.start(camera);
        },
      ],
      ['sweep', () => this.#sweep.start()],
    ];
    for (const [name, step] of steps) {
      try {
        step();
      } catch (err) {
        throw new HubError('internal_error', `recorder start-up failed at ${name}`, { step: name }, { cause: err });
      }
    }
  }

  async stop(): Promise<void> {
    this.#maintenance.stop();
    this.#sweep.stop();
    await this.#streams.stopAll();
    this.#clips.stop();
    // Every ffmpeg closed its segment and each was indexed: the next start checks from here.
    this.#maintenance.markClean();
  }

  /** The background full sweep (tests drive it with the manual clock). */
  get sweep(): FullSweep {
    return this.#sweep;
  }

  /**
   * Makes the index and the files agree after whatever stopped the last hub, checking only what
   * a crash can have touched since each camera's clean mark (see reconcile.ts); returns what it
   * did and the file system work it took.
   */
  reconcile(): ReconcileResult {
    const result = reconcileAtStart(this.repo, this.root, this.#d.clock.now());
    const { rowsDropped, filesRemoved, work } = result;
    if (rowsDropped || filesRemoved)
      this.#d.log.warn({ rowsDropped, filesRemoved }, 'recordings reconciled with the index');
    this.#d.log.info(work, 'recordings reconcile work');
    return result;
  }

  /** Retention, old exports, budget and floor now (see Maintenance.run). */
  maintain(): { expired: number; evicted: number } {
    return this.#maintenance.run();
  }

  /** The storage figures and the alert, if any. */
  storageView(): StorageView {
    return this.#guard.view();
  }

  list(): CameraView[] {
    return this.repo.listCameras().map((c) => this.#view(c));
  }

  get(id: string): CameraView {
    return this.#view(this.#camera(id));
  }

  async add(input: { name: string; url: string } & CameraInput, actor: Actor): Promise<CameraView> {
    parseCameraUrl(input.url);
    if (input.subUrl) parseCameraUrl(input.subUrl, 'subUrl');
    const settings = mergeCameraSettings(DEFAULT_CAMERA_SETTINGS, input.settings ?? {});
    checkTriggers(settings, actor, this.#d.devices);
    checkMotion(settings, Boolean(input.subUrl));
    const probed = await (this.#d.probe ?? probeCamera)(input.url);
    const sub = input.subUrl ? await probeSub(input.subUrl, this.#d.probe ?? probeCamera) : null;
    const camera: CameraRow = {
      id: newId('cam'),
      name: input.name,
      url: input.url,
      ...probed,
      createdAt: this.#d.clock.now(),
      mode: input.mode ?? 'continuous',
      settings: JSON.stringify(settings),
      sub,
    };
    this.repo.insertCamera(camera);
    this.repo.markClean(camera.id, camera.createdAt);
    this.#d.log.info(
      { camera: camera.id, url: maskUrl(camera.url), ...(sub ? { subUrl: maskUrl(sub.url) } : {}) },
      'camera added',
    );
    this.#audit(actor, 'camera.add', camera.id, {
      name: camera.name,
      url: maskUrl(camera.url),
      codec: camera.codec,
      width: camera.width,
      height: camera.height,
      mode: camera.mode,
      ...(sub ? { subUrl: maskUrl(sub.url), subWidth: sub.width, subHeight: sub.height } : {}),
    });
    this.#clips.link(this.repo.listCameras());
    this.#streams.start(camera);
    return this.#view(camera);
  }

  /** Changes the name, mode or settings; a change of mode starts or stops the camera's ffmpeg. */
  async update(id: string, input: CameraInput, actor: Actor): Promise<CameraView> {
    const camera = this.#camera(id);
    const settings = mergeCameraSettings(parseCameraSettings(camera.settings), input.settings ?? {});
    // Only new links are checked: a sensor removed since must not block renaming the camera.
    if (input.settings?.triggers) checkTriggers(settings, actor, this.#d.devices);
    if (input.subUrl) parseCameraUrl(input.subUrl, 'subUrl');
    // Removing the sub stream turns motion detection off with it.
    if (input.subUrl === null && !input.settings?.motion) settings.motion = false;
    checkMotion(settings, input.subUrl === undefined ? Boolean(camera.sub) : Boolean(input.subUrl));
    const sub =
      input.subUrl === undefined
        ? (camera.sub ?? null)
        : input.subUrl === null
          ? null
          : await probeSub(input.subUrl, this.#d.probe ?? probeCamera);
    const next: CameraRow = {
      ...camera,
      name: input.name ?? camera.name,
      mode: input.mode ?? camera.mode,
      settings: JSON.stringify(settings),
      sub,
    };
    this.repo.updateCamera(id, next);
    if (input.subUrl !== undefined) this.repo.setSubStream(id, sub);
    this.#audit(actor, 'camera.update', id, {
      name: next.name,
      mode: next.mode,
      settings,
      ...(input.subUrl !== undefined ? { subUrl: sub ? maskUrl(sub.url) : null } : {}),
    });
    this.#clips.link(this.repo.listCameras());
    if (next.mode !== camera.mode) {
      await this.#streams.stop(id);
      this.#streams.start(next);
    } else if (input.subUrl !== undefined || motionOf(next) !== motionOf(camera)) {
      // Only the sub stream changed: recording goes on without a gap.
      await this.#streams.restartSubStream(next);
    }
    return this.#view(next);
  }

  async remove(id: string, actor: Actor): Promise<void> {
    const camera = this.#camera(id);
    await this.#streams.stop(id);
    this.repo.deleteCamera(id);
    rmSync(join(this.root, id), { recursive: true, force: true });
    this.#guard.forget(id);
    this.#exporter.forgetCamera(id);
    this.#snapshots.forget(id);
    this.#clips.link(this.repo.listCameras());
    this.#audit(actor, 'camera.remove', id, { name: camera.name });
  }

  /** An event clip of the camera now (see EventClips.clip). */
  clip(id: string, input: ClipRequest): ClipView {
    return this.#clips.clip(this.#camera(id), input);
  }

  recordings(id: string, from: number, to: number): Recordings {
    this.#camera(id);
    return recordingsView(this.repo, id, from, to);
  }

  /**
   * [from, to) as one seekable MP4 file, stream-copied (see RangeExporter), rounded out to
   * tenths of a second. `user`: whose export bound it counts against; `maxMs`: the longest range this
   * caller may ask for (at most an hour; the API passes a minute for requests through the relay).
   */
  async exportRange(
    id: string,
    from: number,
    to: number,
    opts: { user: string; maxMs?: number },
  ): Promise<ExportedFile & { cameraName: string }> {
    const camera = this.#camera(id);
    if (from >= to) throw new HubError('validation_failed', "'from' must be before 'to'", { field: 'from' });
    const maxMs = Math.min(opts.maxMs ?? MAX_EXPORT_MS, MAX_EXPORT_MS);
    if (to - from > maxMs)
      throw new HubError('recording_range_too_large', `a range may span at most ${maxMs / 1000} seconds`, {
        from,
        to,
        maxMs,
      });
    const range = roundOutRange(from, to);
    const file = await this.#exporter.export({
      cameraId: id,
      ...range,
      segments: this.repo.segments(id, range.from, range.to),
      user: opts.user,
    });
    return { ...file, cameraName: camera.name };
  }

  /** Export runs, refusals and cache use since start (`/metrics`). */
  exportStats(): ExportStats {
    return this.#exporter.stats();
  }

  /** A JPEG of the newest recorded picture, one decode per closed segment (see Snapshots). */
  async snapshot(id: string): Promise<Buffer> {
    this.#camera(id);
    return this.#snapshots.take(id);
  }

  /** Adds a live viewer of a camera's main or sub stream; returns its removal. */
  watch(id: string, viewer: LiveViewer, stream: LiveStreamName = 'main'): () => void {
    return this.#streams.live(this.#camera(id), stream).add(viewer);
  }

  /**
   * A ticket for the camera's HLS playlist, valid until `expiresAt` (the session's access token
   * expiry). Native HLS players cannot send an Authorization header, so the playlist, init and
   * segment URLs carry this instead of the access token: it opens only this camera's HLS.
   */
  hlsTicket(id: string, expiresAt: number, stream: LiveStreamName = 'main'): { ticket: string; expiresAt: number } {
    const window = this.#streams.live(this.#camera(id), stream).hls;
    const now = this.#d.clock.now();
    window.touch(now);
    return { ticket: this.#hlsTickets.issue(id, stream, expiresAt, now), expiresAt };
  }

  /** The HLS window a ticket opens; `unauthorized` for an unknown, expired or other camera's ticket. */
  hls(id: string, ticket: string): HlsWindow {
    const now = this.#d.clock.now();
    const stream = this.#hlsTickets.check(id, ticket, now);
    const window = this.#streams.live(this.#camera(id), stream).hls;
    window.touch(now);
    return window;
  }

  #onSegment(cameraId: string, segment: ClosedSegment): void {
    if (!fileSegment(this.repo, this.root, this.#d.log, cameraId, segment)) return;
    this.#guard.noteSegment(cameraId, segment.bytes);
    const camera = this.repo.getCamera(cameraId);
    if (camera && camera.mode === 'events')
      this.storage.pruneOutsideEvents(
        cameraId,
        this.#d.clock.now(),
        parseCameraSettings(camera.settings).preRollS * 1000,
      );
    // Every segment: a tight budget or a filling volume is noticed within one segment.
    this.#guard.enforce();
  }

  /** A change of motion detection on the sub stream: one event, and a clip in events mode. */
  #onMotion(cameraId: string, at: number, score: number): void {
    const camera = this.repo.getCamera(cameraId);
    if (!camera) return;
    this.repo.insertEvent(cameraId, at, 'motion', { score });
    this.#d.bus.emit('recording.event', { cameraId, kind: 'motion', at });
    if (camera.mode !== 'events') return;
    try {
      this.#clips.clip(camera, { source: 'motion', details: { score } });
    } catch (err) {
      this.#d.log.warn({ err, camera: cameraId }, 'event clip from motion failed');
    }
  }

  #camera(id: string): CameraRow {
    const camera = this.repo.getCamera(id);
    if (!camera) throw new HubError('camera_not_found', 'no such camera', { id });
    return camera;
  }

  #view(c: CameraRow): CameraView {
    return cameraView(c, this.#streams.available(c.id), this.#guard.alert());
  }

  #audit(actor: Actor, action: string, target: string, details: Record<string, unknown>): void {
    recordAudit(this.#d.store, this.#d.bus, { actor, action, target, details, at: this.#d.clock.now() });
  }
}
