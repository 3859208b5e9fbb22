import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Actor, EventBus } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import { recordAudit } from '../store/audit-log.ts';
import { RecorderRepo, type CameraRow, type SubStreamInfo } from '../store/recorder-repo.ts';
import type { Store } from '../store/store.ts';
import { CameraRecorder, type ClosedSegment } from './camera-recorder.ts';
import {
  DEFAULT_CAMERA_SETTINGS, mergeCameraSettings, parseCameraSettings,
  type CameraMode, type CameraSettings,
} from './camera-settings.ts';
import { clipView, EventClips, type ClipRequest, type ClipView } from './event-clips.ts';
import { RangeExporter, type ExportedFile } from './export.ts';
import { RecordingsStorage } from './storage.ts';
import { FullSweep } from './full-sweep.ts';
import { reconcileAtStart, type ReconcileResult } from './reconcile.ts';
import { dayOf, INCOMING_DIR } from './segment-layout.ts';
import { HlsTickets, type LiveStreamName } from './hls-tickets.ts';
import { SubStream } from './sub-stream.ts';
import { DEFAULT_MOTION } from './motion.ts';
import type { HlsWindow } from './hls.ts';
import type { LiveViewer } from './live.ts';
import { probeCamera, type ProbeResult } from './probe.ts';
import { maskUrl, parseCameraUrl } from './url.ts';

export interface RecorderConfig {
  segmentSeconds: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Most bytes all segments may take (counting the ones being written); 0 = no byte limit. */
  budgetBytes: number;
  /** Free space the volume keeps: below it the oldest footage goes; with none left, recording stops. */
  minFreeBytes: number;
  maintenanceIntervalMs: number;
}

export const DEFAULT_RECORDER_CONFIG: RecorderConfig = {
  segmentSeconds: 4,
  backoffInitialMs: 1000,
  backoffMaxMs: 30_000,
  budgetBytes: 0,
  minFreeBytes: 1024 ** 3,
  maintenanceIntervalMs: 60_000,
};

/** The alert a camera carries while the volume is at its floor and nothing is written. */
export const STORAGE_FULL = 'recorder_storage_full';
/** Open segments are reserved at this many times the largest recent segment of their camera. */
const RESERVE_FACTOR = 2;
const RECENT_SEGMENTS = 5;
/** Once stopped at the floor, writing resumes when this much more than the floor is free. */
const MIN_RESUME_MARGIN = 1024 * 1024;

export interface RecorderDeps {
  store: Store;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  dataDir: string;
  config?: Partial<RecorderConfig>;
  /** ffprobe by default; tests of the API alone may stand in. */
  probe?: (url: string) => Promise<ProbeResult>;
  /** The ffmpeg binary (tests use a stand-in to make a camera stall on demand). */
  ffmpeg?: string;
  /** Free bytes on the recordings volume (statfs by default; tests stand in). */
  freeBytes?: (dir: string) => number;
  /** Checks linked sensors as the person linking them sees them (the device registry). */
  devices?: { get(id: string, actor: Actor): { capabilities: string[] } };
}

/** A camera as the API shows it: the URL's password is masked. */
export interface CameraView {
  id: string;
  name: string;
  url: string;
  codec: string;
  width: number;
  height: number;
  fps: number;
  /** The sub stream (URL masked), or null: the camera has none. */
  sub: { url: string; codec: string; width: number; height: number; fps: number } | null;
  mode: CameraMode;
  settings: CameraSettings;
  /** recording | starting | unavailable | off | storage_full */
  state: string;
  available: boolean;
  /** Set while something needs a person: `recorder_storage_full`. */
  alert: { code: string; since: string } | null;
  createdAt: string;
}

export interface CameraInput {
  name?: string;
  /** The camera's sub stream; null (on an update) removes it. */
  subUrl?: string | null;
  mode?: CameraMode;
  settings?: Partial<CameraSettings>;
}

export interface Recordings {
  cameraId: string;
  from: string;
  to: string;
  segments: { start: string; end: string; bytes: number; kind: 'continuous' | 'event' }[];
  clips: ClipView[];
  events: { at: string; kind: string; details: Record<string, unknown> | null }[];
}

export interface StorageView {
  usedBytes: number;
  freeBytes: number;
  budgetBytes: number;
  minFreeBytes: number;
  /** Held back for the segments being written. */
  reservedBytes: number;
  alert: { code: string; since: string } | null;
}

const iso = (t: number) => new Date(t).toISOString();
/** What the sub stream's ffmpeg depends on in the settings (a change restarts it). */
const motionOf = (c: CameraRow) => { const s = parseCameraSettings(c.settings); return `${s.motion}:${s.motionThreshold}`; };

/**
 * The recorder part: cameras (added after an ffprobe), one CameraRecorder (supervised ffmpeg)
 * per camera that records, the segment index, event clips, storage limits, and playback of a
 * range as one stream-copied MP4. Availability changes, clips and the storage alert go on the
 * bus as `recording.event` and into `camera_events`, so they show on the timeline.
 */
export class RecorderService {
  readonly repo: RecorderRepo;
  readonly root: string;
  readonly storage: RecordingsStorage;
  readonly #d: RecorderDeps;
  readonly #config: RecorderConfig;
  readonly #exporter: RangeExporter;
  readonly #recorders = new Map<string, CameraRecorder>();
  /** One ffmpeg per sub stream, running alongside the camera's recorder. */
  readonly #subStreams = new Map<string, SubStream>();
  /** Sizes of each camera's last segments: what its open segment is expected to reach. */
  readonly #recentSizes = new Map<string, number[]>();
  readonly #clips: EventClips;
  readonly #sweep: FullSweep;
  #maintenanceTimer: TimerHandle | undefined;
  /** Since when the volume is at its floor (recording stopped), or undefined. */
  #fullSince: number | undefined;
  #stopped = false;
  readonly #hlsTickets = new HlsTickets();

  constructor(deps: RecorderDeps) {
    this.#d = deps;
    this.#config = { ...DEFAULT_RECORDER_CONFIG, ...deps.config };
    this.repo = new RecorderRepo(deps.store.db);
    this.root = join(deps.dataDir, 'recordings');
    this.storage = new RecordingsStorage(this.repo, this.root, deps.freeBytes);
    this.#exporter = new RangeExporter(this.root, deps.log);
    this.#clips = new EventClips({ repo: this.repo, bus: deps.bus, clock: deps.clock, log: deps.log });
    this.#sweep = new FullSweep({ repo: this.repo, root: this.root, clock: deps.clock, log: deps.log });
  }

  /** Start-up as named steps (each testable alone): make the directory, reconcile, record. */
  async start(): Promise<void> {
    this.#stopped = false;
    const steps: [string, () => void][] = [
      ['prepare_dir', () => mkdirSync(this.root, { recursive: true })],
      ['reconcile', () => this.reconcile()],
      // Before recording: a full disk is made room on first.
      ['maintain', () => { this.maintain(); this.#scheduleMaintenance(); }],
      ['link_sensors', () => this.#clips.link(this.repo.listCameras())],
      ['start_recorders', () => { for (const camera of this.repo.listCameras()) this.#startRecorder(camera); }],
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
    this.#stopped = true;
    this.#maintenanceTimer?.cancel();
    this.#sweep.stop();
    await Promise.all([...this.#recorders.values(), ...this.#subStreams.values()].map((r) => r.stop()));
    this.#recorders.clear();
    this.#subStreams.clear();
    this.#clips.stop();
    // Every ffmpeg closed its segment and each was indexed: the next start checks from here.
    this.#markClean();
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
    if (rowsDropped || filesRemoved) this.#d.log.warn({ rowsDropped, filesRemoved }, 'recordings reconciled with the index');
    this.#d.log.info(work, 'recordings reconcile work');
    return result;
  }

  /**
   * Retention per camera and kind (continuous after `continuousDays`, event clips after
   * `eventDays`), footage outside events for cameras in events mode, old exports, then the
   * budget and the floor. Returns how many segments retention and the budget removed.
   */
  maintain(): { expired: number; evicted: number } {
    const now = this.#d.clock.now();
    let expired = 0;
    for (const camera of this.repo.listCameras()) {
      const settings = parseCameraSettings(camera.settings);
      expired += this.storage.expire(camera.id, now, settings);
      if (camera.mode === 'events') expired += this.storage.pruneOutsideEvents(camera.id, now, settings.preRollS * 1000);
    }
    this.#exporter.sweep(Date.now());
    const { evicted } = this.#enforceLimits();
    this.#markClean();
    if (expired) this.#d.log.info({ expired }, 'recordings past their retention removed');
    return { expired, evicted };
  }

  /**
   * Records that index and files agree now for every camera. True whenever nothing is half-done:
   * a segment is indexed and moved in one synchronous step, removals go through the trash.
   */
  #markClean(): void {
    const now = this.#d.clock.now();
    for (const camera of this.repo.listCameras()) this.repo.markClean(camera.id, now);
  }

  /** The storage figures and the alert, if any. */
  storageView(): StorageView {
    return {
      usedBytes: this.repo.totalBytes(),
      freeBytes: this.storage.free(),
      budgetBytes: this.#config.budgetBytes,
      minFreeBytes: this.#config.minFreeBytes,
      reservedBytes: this.#reserveBytes(),
      alert: this.#alert(),
    };
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
    this.#checkSettings(settings, actor);
    this.#checkMotion(settings, Boolean(input.subUrl));
    const probed = await (this.#d.probe ?? probeCamera)(input.url);
    const sub = input.subUrl ? await this.#probeSub(input.subUrl) : null;
    const camera: CameraRow = {
      id: newId('cam'), name: input.name, url: input.url, ...probed, createdAt: this.#d.clock.now(),
      mode: input.mode ?? 'continuous', settings: JSON.stringify(settings), sub,
    };
    this.repo.insertCamera(camera);
    this.repo.markClean(camera.id, camera.createdAt);
    this.#audit(actor, 'camera.add', camera.id, {
      name: camera.name, url: maskUrl(camera.url), codec: camera.codec, width: camera.width, height: camera.height, mode: camera.mode,
      ...(sub ? { subUrl: maskUrl(sub.url), subWidth: sub.width, subHeight: sub.height } : {}),
    });
    this.#clips.link(this.repo.listCameras());
    this.#startRecorder(camera);
    return this.#view(camera);
  }

  /** Changes the name, mode or settings; a change of mode starts or stops the camera's ffmpeg. */
  async update(id: string, input: CameraInput, actor: Actor): Promise<CameraView> {
    const camera = this.#camera(id);
    const settings = mergeCameraSettings(parseCameraSettings(camera.settings), input.settings ?? {});
    // Only new links are checked: a sensor removed since must not block renaming the camera.
    if (input.settings?.triggers) this.#checkSettings(settings, actor);
    if (input.subUrl) parseCameraUrl(input.subUrl, 'subUrl');
    // Removing the sub stream turns motion detection off with it.
    if (input.subUrl === null && !input.settings?.motion) settings.motion = false;
    this.#checkMotion(settings, input.subUrl === undefined ? Boolean(camera.sub) : Boolean(input.subUrl));
    const sub = input.subUrl === undefined ? camera.sub ?? null : input.subUrl === null ? null : await this.#probeSub(input.subUrl);
    const next: CameraRow = { ...camera, name: input.name ?? camera.name, mode: input.mode ?? camera.mode, settings: JSON.stringify(settings), sub };
    this.repo.updateCamera(id, next);
    if (input.subUrl !== undefined) this.repo.setSubStream(id, sub);
    this.#audit(actor, 'camera.update', id, { name: next.name, mode: next.mode, settings, ...(input.subUrl !== undefined ? { subUrl: sub ? maskUrl(sub.url) : null } : {}) });
    this.#clips.link(this.repo.listCameras());
    if (next.mode !== camera.mode) {
      await this.#stopRecorder(id);
      this.#startRecorder(next);
    } else if (input.subUrl !== undefined || motionOf(next) !== motionOf(camera)) {
      // Only the sub stream changed: recording goes on without a gap.
      await this.#subStreams.get(id)?.stop();
      this.#subStreams.delete(id);
      if (next.sub && this.#recorders.has(id)) this.#startSubStream(next, next.sub);
    }
    return this.#view(next);
  }

  async remove(id: string, actor: Actor): Promise<void> {
    const camera = this.#camera(id);
    await this.#stopRecorder(id);
    this.repo.deleteCamera(id);
    rmSync(join(this.root, id), { recursive: true, force: true });
    this.#recentSizes.delete(id);
    this.#clips.link(this.repo.listCameras());
    this.#audit(actor, 'camera.remove', id, { name: camera.name });
  }

  /** An event clip of the camera now (see EventClips.clip). */
  clip(id: string, input: ClipRequest): ClipView {
    return this.#clips.clip(this.#camera(id), input);
  }

  recordings(id: string, from: number, to: number): Recordings {
    this.#camera(id);
    return {
      cameraId: id,
      from: iso(from),
      to: iso(to),
      segments: this.repo.segments(id, from, to).map((s) => ({ start: iso(s.startAt), end: iso(s.endAt), bytes: s.bytes, kind: s.event ? 'event' as const : 'continuous' as const })),
      clips: this.repo.clips(id, from, to).map(clipView),
      events: this.repo.events(id, from, to).map((e) => ({ at: iso(e.at), kind: e.kind, details: e.details })),
    };
  }

  /** [from, to) as one seekable MP4 file, stream-copied (see RangeExporter). */
  async exportRange(id: string, from: number, to: number): Promise<ExportedFile & { cameraName: string }> {
    const camera = this.#camera(id);
    if (from >= to) throw new HubError('validation_failed', "'from' must be before 'to'", { field: 'from' });
    const file = await this.#exporter.export(id, from, to, this.repo.segments(id, from, to));
    return { ...file, cameraName: camera.name };
  }

  /**
   * A JPEG of the newest recorded picture (the last second of the newest closed segment, so at
   * most about one segment old). Decodes one GOP in software, once per request: no decoder
   * runs while nobody asks.
   */
  async snapshot(id: string): Promise<Buffer> {
    this.#camera(id);
    const segment = this.repo.latestSegment(id);
    if (!segment) throw new HubError('recording_not_found', 'nothing recorded yet', { id });
    const result = await runBuffer('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-sseof', '-1', '-i', join(this.root, segment.path),
      '-frames:v', '1', '-c:v', 'mjpeg', '-f', 'image2', 'pipe:1',
    ], 10_000);
    if (result.code !== 0 || result.stdout.length === 0) {
      throw new HubError('internal_error', 'could not make a snapshot', { ffmpeg: result.stderr.trim().slice(-300) });
    }
    return result.stdout;
  }

  /** Adds a live viewer of a camera's main or sub stream; returns its removal. */
  watch(id: string, viewer: LiveViewer, stream: LiveStreamName = 'main'): () => void {
    return this.#liveOf(id, stream).add(viewer);
  }

  /**
   * A ticket for the camera's HLS playlist, valid until `expiresAt` (the session's access token
   * expiry). Native HLS players cannot send an Authorization header, so the playlist, init and
   * segment URLs carry this instead of the access token: it opens only this camera's HLS.
   */
  hlsTicket(id: string, expiresAt: number, stream: LiveStreamName = 'main'): { ticket: string; expiresAt: number } {
    const window = this.#liveOf(id, stream).hls;
    const now = this.#d.clock.now();
    window.touch(now);
    return { ticket: this.#hlsTickets.issue(id, stream, expiresAt, now), expiresAt };
  }

  /** The HLS window a ticket opens; `unauthorized` for an unknown, expired or other camera's ticket. */
  hls(id: string, ticket: string): HlsWindow {
    const now = this.#d.clock.now();
    const stream = this.#hlsTickets.check(id, ticket, now);
    const window = this.#liveOf(id, stream).hls;
    window.touch(now);
    return window;
  }

  #liveOf(id: string, stream: LiveStreamName): { hls: HlsWindow; add(viewer: LiveViewer): () => void } {
    const camera = this.#camera(id);
    if (stream === 'sub' && !camera.sub) {
      throw new HubError('validation_failed', "query: 'stream' sub: this camera has no sub stream", { location: 'query', field: 'stream', rule: 'no_sub_stream' });
    }
    if (camera.mode === 'off') throw new HubError('camera_off', 'the camera records nothing (mode off)', { id });
    if (this.#fullSince !== undefined) throw new HubError(STORAGE_FULL, 'recording is stopped: the volume is full', { id });
    const source = stream === 'sub' ? this.#subStreams.get(id) : this.#recorders.get(id);
    if (!source) throw new HubError('camera_not_found', 'no such camera', { id });
    return source.live;
  }

  /** Probes a sub stream like the main one; its errors say `details.stream: sub`. */
  async #probeSub(url: string): Promise<SubStreamInfo> {
    try {
      return { url, ...await (this.#d.probe ?? probeCamera)(url) };
    } catch (err) {
      if (err instanceof HubError) throw new HubError(err.code, `sub stream: ${err.message}`, { ...err.details, stream: 'sub' });
      throw err;
    }
  }

  /** Budget and floor; stops every recorder at the floor and restarts them when space returns. */
  #enforceLimits(): { evicted: number } {
    const c = this.#config;
    const check = this.storage.enforce({ budgetBytes: c.budgetBytes, minFreeBytes: c.minFreeBytes }, this.#reserveBytes());
    if (check.evicted) this.#d.log.info({ evicted: check.evicted, usedBytes: check.usedBytes, freeBytes: check.freeBytes }, 'oldest recordings removed for the storage limits');
    if (this.#fullSince === undefined && check.atFloor) this.#storageFull(check.freeBytes);
    else if (this.#fullSince !== undefined && check.freeBytes >= c.minFreeBytes + Math.max(MIN_RESUME_MARGIN, this.#reserveBytes(true))) this.#storageAvailable(check.freeBytes);
    return { evicted: check.evicted };
  }

  #storageFull(freeBytes: number): void {
    const now = this.#d.clock.now();
    this.#fullSince = now;
    this.#d.log.error({ freeBytes, minFreeBytes: this.#config.minFreeBytes, code: STORAGE_FULL }, 'recordings volume at its free-space floor with no recordings left to remove: recording stopped');
    for (const camera of this.repo.listCameras()) {
      this.repo.insertEvent(camera.id, now, 'storage_full', { code: STORAGE_FULL, freeBytes, minFreeBytes: this.#config.minFreeBytes });
      this.#d.bus.emit('recording.event', { cameraId: camera.id, kind: 'storage_full', at: now });
      void this.#stopRecorder(camera.id);
    }
    this.#scheduleMaintenance();
  }

  #storageAvailable(freeBytes: number): void {
    const now = this.#d.clock.now();
    this.#fullSince = undefined;
    this.#d.log.info({ freeBytes }, 'space on the recordings volume again: recording resumes');
    for (const camera of this.repo.listCameras()) {
      this.repo.insertEvent(camera.id, now, 'storage_ok', { freeBytes });
      this.#d.bus.emit('recording.event', { cameraId: camera.id, kind: 'storage_ok', at: now });
      this.#startRecorder(camera);
    }
    this.#scheduleMaintenance();
  }

  /**
   * What the open segments will add before they are indexed: twice the largest recent segment
   * of each recording camera. `all` counts every camera that would record (for resuming).
   */
  #reserveBytes(all = false): number {
    let n = 0;
    const ids = all ? this.repo.listCameras().filter((c) => c.mode !== 'off').map((c) => c.id) : [...this.#recorders.keys()];
    for (const id of ids) n += RESERVE_FACTOR * Math.max(0, ...(this.#recentSizes.get(id) ?? []));
    return n;
  }

  #alert(): { code: string; since: string } | null {
    return this.#fullSince === undefined ? null : { code: STORAGE_FULL, since: iso(this.#fullSince) };
  }

  #onSegment(cameraId: string, segment: ClosedSegment): void {
    // The row first, then the move into its day: a hub killed between the two leaves the file
    // in incoming/ with its row, which the next start moves into place (reconcile.ts).
    const path = `${cameraId}/${dayOf(segment.startAt)}/${segment.file}`;
    this.repo.insertSegment({ cameraId, startAt: segment.startAt, endAt: segment.endAt, bytes: segment.bytes, path });
    try {
      mkdirSync(dirname(join(this.root, path)), { recursive: true });
      renameSync(join(this.root, cameraId, INCOMING_DIR, segment.file), join(this.root, path));
    } catch (err) {
      const row = this.repo.segments(cameraId, segment.startAt, segment.endAt).find((s) => s.path === path);
      if (row) this.repo.deleteSegment(row.id);
      this.#d.log.error({ err, camera: cameraId }, 'could not move a segment into its day directory; dropped');
      return;
    }
    const sizes = this.#recentSizes.get(cameraId) ?? [];
    sizes.push(segment.bytes);
    if (sizes.length > RECENT_SEGMENTS) sizes.shift();
    this.#recentSizes.set(cameraId, sizes);
    const camera = this.repo.getCamera(cameraId);
    if (camera && camera.mode === 'events') this.storage.pruneOutsideEvents(cameraId, this.#d.clock.now(), parseCameraSettings(camera.settings).preRollS * 1000);
    // Every segment: a tight budget or a filling volume is noticed within one segment.
    this.#enforceLimits();
  }

  /** Motion is computed on the sub stream only: the main stream is never decoded. */
  #checkMotion(settings: CameraSettings, hasSub: boolean): void {
    if (settings.motion && !hasSub) {
      throw new HubError('validation_failed', "body: 'settings.motion' needs a sub stream (subUrl)", { location: 'body', field: 'settings.motion', rule: 'needs_sub_stream' });
    }
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

  #checkSettings(settings: CameraSettings, actor: Actor): void {
    const devices = this.#d.devices;
    if (!devices) return;
    for (const [i, link] of settings.triggers.entries()) {
      const device = devices.get(link.device, actor); // device_not_found
      if (!device.capabilities.includes(link.capability)) {
        throw new HubError('validation_failed', `device ${link.device} has no capability '${link.capability}'`, { field: `settings.triggers.${i}.capability` });
      }
    }
  }

  #scheduleMaintenance(): void {
    this.#maintenanceTimer?.cancel();
    if (this.#stopped) return;
    // At the floor, space is looked for every segment time: recording resumes soon after it returns.
    const ms = this.#fullSince === undefined ? this.#config.maintenanceIntervalMs : this.#config.segmentSeconds * 1000;
    this.#maintenanceTimer = this.#d.clock.setTimeout(() => {
      this.#maintenanceTimer = undefined;
      try {
        this.maintain();
      } catch (err) {
        this.#d.log.error({ err }, 'recordings maintenance failed');
      }
      if (!this.#maintenanceTimer) this.#scheduleMaintenance();
    }, ms);
  }

  #camera(id: string): CameraRow {
    const camera = this.repo.getCamera(id);
    if (!camera) throw new HubError('camera_not_found', 'no such camera', { id });
    return camera;
  }

  #view(c: CameraRow): CameraView {
    const available = this.#recorders.get(c.id)?.available;
    const state = c.mode === 'off' ? 'off'
      : this.#fullSince !== undefined ? 'storage_full'
      : available === true ? 'recording' : available === false ? 'unavailable' : 'starting';
    return {
      id: c.id, name: c.name, url: maskUrl(c.url), codec: c.codec, width: c.width, height: c.height, fps: c.fps,
      sub: c.sub ? { url: maskUrl(c.sub.url), codec: c.sub.codec, width: c.sub.width, height: c.sub.height, fps: c.sub.fps } : null,
      mode: c.mode, settings: parseCameraSettings(c.settings), state,
      available: available === true,
      alert: c.mode === 'off' ? null : this.#alert(),
      createdAt: iso(c.createdAt),
    };
  }

  async #stopRecorder(id: string): Promise<void> {
    const recorder = this.#recorders.get(id);
    const sub = this.#subStreams.get(id);
    this.#recorders.delete(id);
    this.#subStreams.delete(id);
    await Promise.all([recorder?.stop(), sub?.stop()]);
  }

  #startRecorder(camera: CameraRow): void {
    if (camera.mode === 'off' || this.#fullSince !== undefined || this.#stopped || this.#recorders.has(camera.id)) return;
    const { clock, log, bus } = this.#d;
    const recorder = new CameraRecorder({
      cameraId: camera.id,
      url: camera.url,
      dir: join(this.root, camera.id, INCOMING_DIR),
      segmentSeconds: this.#config.segmentSeconds,
      backoffInitialMs: this.#config.backoffInitialMs,
      backoffMaxMs: this.#config.backoffMaxMs,
      clock,
      log,
      ...(this.#d.ffmpeg ? { ffmpeg: this.#d.ffmpeg } : {}),
      onSegment: (s) => this.#onSegment(camera.id, s),
      onAvailability: (available, reason) => {
        const at = clock.now();
        const kind = available ? 'camera_available' : 'camera_unavailable';
        this.repo.insertEvent(camera.id, at, kind, { reason });
        log.info({ camera: camera.id, available, reason }, available ? 'camera recording' : 'camera unavailable');
        bus.emit('recording.event', { cameraId: camera.id, kind, at });
      },
    });
    this.#recorders.set(camera.id, recorder);
    recorder.start();
    if (camera.sub) this.#startSubStream(camera, camera.sub);
  }

  /** The sub stream's own ffmpeg: live view and HLS for phones (recording stays on the main stream). */
  #startSubStream(camera: CameraRow, sub: SubStreamInfo): void {
    const settings = parseCameraSettings(camera.settings);
    const motion = settings.motion
      ? { ...DEFAULT_MOTION, threshold: settings.motionThreshold, onMotion: (at: number, score: number) => this.#onMotion(camera.id, at, score) }
      : undefined;
    const stream = new SubStream({
      ...(motion ? { motion } : {}),
      cameraId: camera.id,
      url: sub.url,
      clock: this.#d.clock,
      log: this.#d.log,
      backoffInitialMs: this.#config.backoffInitialMs,
      backoffMaxMs: this.#config.backoffMaxMs,
      ...(this.#d.ffmpeg ? { ffmpeg: this.#d.ffmpeg } : {}),
    });
    this.#subStreams.set(camera.id, stream);
    stream.start();
  }

  #audit(actor: Actor, action: string, target: string, details: Record<string, unknown>): void {
    recordAudit(this.#d.store, this.#d.bus, { actor, action, target, details, at: this.#d.clock.now() });
  }
}

/** Runs a program and collects its binary stdout, killed after `timeoutMs`. */
function runBuffer(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout: Buffer.concat(chunks), stderr }); });
  });
}
