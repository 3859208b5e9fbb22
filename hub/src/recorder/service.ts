import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Actor, EventBus } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import { recordAudit } from '../store/audit-log.ts';
import { RecorderRepo, type CameraRow } from '../store/recorder-repo.ts';
import type { Store } from '../store/store.ts';
import { CameraRecorder } from './camera-recorder.ts';
import type { LiveViewer } from './live.ts';
import { probeCamera, type ProbeResult } from './probe.ts';
import { maskUrl, parseCameraUrl } from './url.ts';

export interface RecorderConfig {
  segmentSeconds: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Segments older than this go (all cameras; per camera and per kind come with event clips). */
  retentionDays: number;
  /** Most bytes all segments may take; 0 = no limit but the free-space floor. */
  budgetBytes: number;
  /** Free space the volume keeps: below it the oldest segments go first. */
  minFreeBytes: number;
  maintenanceIntervalMs: number;
}

export const DEFAULT_RECORDER_CONFIG: RecorderConfig = {
  segmentSeconds: 4,
  backoffInitialMs: 1000,
  backoffMaxMs: 30_000,
  retentionDays: 14,
  budgetBytes: 0,
  minFreeBytes: 1024 ** 3,
  maintenanceIntervalMs: 60_000,
};

const DAY_MS = 86_400_000;
/** Rows (and files) deleted per statement: bounded work per step on an SD card. */
const DELETE_BATCH = 50;

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
  available: boolean;
  createdAt: string;
}

export interface Recordings {
  cameraId: string;
  from: string;
  to: string;
  segments: { start: string; end: string; bytes: number }[];
  events: { at: string; kind: string; details: Record<string, unknown> | null }[];
}

const OWNER = 'recorder';

/**
 * The recorder part: cameras (added after an ffprobe), one CameraRecorder (supervised ffmpeg)
 * per camera, the segment index, and playback of a range as one stream-copied MP4.
 * Availability changes go on the bus as `recording.event` (`camera_unavailable` /
 * `camera_available`) and into `camera_events`, so gaps show on the timeline.
 */
export class RecorderService {
  readonly repo: RecorderRepo;
  readonly root: string;
  readonly #d: RecorderDeps;
  readonly #config: RecorderConfig;
  readonly #recorders = new Map<string, CameraRecorder>();
  #maintenanceTimer: TimerHandle | undefined;
  #floorWarned = false;

  constructor(deps: RecorderDeps) {
    this.#d = deps;
    this.#config = { ...DEFAULT_RECORDER_CONFIG, ...deps.config };
    this.repo = new RecorderRepo(deps.store.db);
    this.root = join(deps.dataDir, 'recordings');
  }

  /** Start-up as named steps (each testable alone): make the directory, reconcile, record. */
  async start(): Promise<void> {
    const steps: [string, () => void][] = [
      ['prepare_dir', () => mkdirSync(this.root, { recursive: true })],
      ['reconcile', () => this.reconcile()],
      // Before recording: a full disk is made room on first.
      ['maintain', () => { this.maintain(); this.#scheduleMaintenance(); }],
      ['start_recorders', () => { for (const camera of this.repo.listCameras()) this.#startRecorder(camera); }],
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
    this.#maintenanceTimer?.cancel();
    await Promise.all([...this.#recorders.values()].map((r) => r.stop()));
    this.#recorders.clear();
    this.#d.bus.offOwner(OWNER);
  }

  /**
   * Makes the index and the files agree: rows whose file is gone are deleted; files no row
   * points at (a segment a killed hub never saw close, playback lists) are removed, and so are
   * directories of cameras that no longer exist. Returns what it did.
   */
  reconcile(): { rowsDropped: number; filesRemoved: number } {
    let rowsDropped = 0;
    let filesRemoved = 0;
    const cameras = new Set(this.repo.listCameras().map((c) => c.id));
    for (const entry of existsSync(this.root) ? readdirSync(this.root, { withFileTypes: true }) : []) {
      if (entry.isDirectory() && cameras.has(entry.name)) continue;
      rmSync(join(this.root, entry.name), { recursive: true, force: true });
      filesRemoved++;
    }
    for (const cameraId of cameras) {
      const dir = join(this.root, cameraId);
      mkdirSync(dir, { recursive: true });
      const known = new Set<string>();
      for (const row of this.repo.allSegmentPaths(cameraId)) {
        if (existsSync(join(this.root, row.path))) known.add(row.path);
        else { this.repo.deleteSegment(row.id); rowsDropped++; }
      }
      for (const file of readdirSync(dir)) {
        if (!known.has(`${cameraId}/${file}`)) { rmSync(join(dir, file), { recursive: true, force: true }); filesRemoved++; }
      }
    }
    if (rowsDropped || filesRemoved) this.#d.log.warn({ rowsDropped, filesRemoved }, 'recordings reconciled with the index');
    return { rowsDropped, filesRemoved };
  }

  /**
   * Retention, then the budget: segments past `retentionDays` go; then, oldest first across
   * cameras, while the segments take more than `budgetBytes` or the volume has less than
   * `minFreeBytes` free. Returns how many segments each rule removed.
   */
  maintain(): { expired: number; evicted: number } {
    const c = this.#config;
    let expired = 0;
    for (;;) {
      const batch = this.repo.segmentsEndedBefore(this.#d.clock.now() - c.retentionDays * DAY_MS, DELETE_BATCH);
      for (const s of batch) this.#deleteSegment(s.id, s.path);
      expired += batch.length;
      if (batch.length < DELETE_BATCH) break;
    }
    let evicted = 0;
    let total = this.repo.totalBytes();
    let free = (this.#d.freeBytes ?? freeBytesOf)(this.root);
    const over = () => (c.budgetBytes > 0 && total > c.budgetBytes) || free < c.minFreeBytes;
    while (over()) {
      const batch = this.repo.oldestSegments(DELETE_BATCH);
      if (batch.length === 0) break;
      for (const s of batch) {
        if (!over()) break;
        this.#deleteSegment(s.id, s.path);
        total -= s.bytes;
        free += s.bytes;
        evicted++;
      }
    }
    if (free < c.minFreeBytes) {
      // Nothing of ours left to remove: something else fills the volume.
      if (!this.#floorWarned) this.#d.log.error({ free, minFree: c.minFreeBytes }, 'recordings volume below its free-space floor with no recordings left to remove');
      this.#floorWarned = true;
    } else this.#floorWarned = false;
    if (expired || evicted) this.#d.log.info({ expired, evicted, totalBytes: total }, 'recordings removed');
    return { expired, evicted };
  }

  list(): CameraView[] {
    return this.repo.listCameras().map((c) => this.#view(c));
  }

  get(id: string): CameraView {
    return this.#view(this.#camera(id));
  }

  async add(input: { name: string; url: string }, actor: Actor): Promise<CameraView> {
    parseCameraUrl(input.url);
    const probed = await (this.#d.probe ?? probeCamera)(input.url);
    const camera: CameraRow = { id: newId('cam'), name: input.name, url: input.url, ...probed, createdAt: this.#d.clock.now() };
    this.repo.insertCamera(camera);
    this.#audit(actor, 'camera.add', camera.id, { name: camera.name, url: maskUrl(camera.url), codec: camera.codec, width: camera.width, height: camera.height });
    this.#startRecorder(camera);
    return this.#view(camera);
  }

  async remove(id: string, actor: Actor): Promise<void> {
    const camera = this.#camera(id);
    const recorder = this.#recorders.get(id);
    this.#recorders.delete(id);
    await recorder?.stop();
    this.repo.deleteCamera(id);
    rmSync(join(this.root, id), { recursive: true, force: true });
    this.#audit(actor, 'camera.remove', id, { name: camera.name });
  }

  recordings(id: string, from: number, to: number): Recordings {
    this.#camera(id);
    const iso = (t: number) => new Date(t).toISOString();
    return {
      cameraId: id,
      from: iso(from),
      to: iso(to),
      segments: this.repo.segments(id, from, to).map((s) => ({ start: iso(s.startAt), end: iso(s.endAt), bytes: s.bytes })),
      events: this.repo.events(id, from, to).map((e) => ({ at: iso(e.at), kind: e.kind, details: e.details })),
    };
  }

  /**
   * One MP4 of [from, to): the overlapping segments joined by ffmpeg's concat demuxer with
   * stream copy (no decode), trimmed with inpoint/outpoint (copy cuts land on keyframes), as
   * fragmented MP4 so it streams without seeking back.
   */
  playback(id: string, from: number, to: number): Readable {
    this.#camera(id);
    const segments = this.repo.segments(id, from, to);
    if (segments.length === 0) throw new HubError('recording_not_found', 'nothing was recorded in that range', { from, to });
    const lines = ['ffconcat version 1.0'];
    for (const s of segments) {
      lines.push(`file '${join(this.root, s.path).replace(/'/g, "'\\''")}'`);
      if (from > s.startAt) lines.push(`inpoint ${((from - s.startAt) / 1000).toFixed(3)}`);
      if (to < s.endAt) lines.push(`outpoint ${((to - s.startAt) / 1000).toFixed(3)}`);
    }
    const list = join(this.root, id, `.playback-${newId('pb')}.ffconcat`);
    writeFileSync(list, `${lines.join('\n')}\n`);
    const child = spawn('ffmpeg', [
      '-hide_banner', '-nostats', '-loglevel', 'error',
      '-f', 'concat', '-safe', '0', '-i', list,
      '-c', 'copy', '-movflags', 'frag_keyframe+empty_moov', '-f', 'mp4', 'pipe:1',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
    child.once('close', (code) => {
      rmSync(list, { force: true });
      if (code) this.#d.log.warn({ camera: id, code, ffmpeg: stderr.trim() }, 'playback ffmpeg failed');
    });
    // The client went away: stop copying.
    child.stdout.once('close', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
    return child.stdout;
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

  /** Adds a live viewer of a camera; returns its removal. */
  watch(id: string, viewer: LiveViewer): () => void {
    this.#camera(id);
    const recorder = this.#recorders.get(id);
    if (!recorder) throw new HubError('camera_not_found', 'no such camera', { id });
    return recorder.live.add(viewer);
  }

  #deleteSegment(id: number, path: string): void {
    rmSync(join(this.root, path), { force: true });
    this.repo.deleteSegment(id);
  }

  #scheduleMaintenance(): void {
    this.#maintenanceTimer = this.#d.clock.setTimeout(() => {
      try {
        this.maintain();
      } catch (err) {
        this.#d.log.error({ err }, 'recordings maintenance failed');
      }
      this.#scheduleMaintenance();
    }, this.#config.maintenanceIntervalMs);
  }

  #camera(id: string): CameraRow {
    const camera = this.repo.getCamera(id);
    if (!camera) throw new HubError('camera_not_found', 'no such camera', { id });
    return camera;
  }

  #view(c: CameraRow): CameraView {
    return {
      id: c.id, name: c.name, url: maskUrl(c.url), codec: c.codec, width: c.width, height: c.height, fps: c.fps,
      available: this.#recorders.get(c.id)?.available === true,
      createdAt: new Date(c.createdAt).toISOString(),
    };
  }

  #startRecorder(camera: CameraRow): void {
    const { clock, log, bus } = this.#d;
    const recorder = new CameraRecorder({
      cameraId: camera.id,
      url: camera.url,
      dir: join(this.root, camera.id),
      segmentSeconds: this.#config.segmentSeconds,
      backoffInitialMs: this.#config.backoffInitialMs,
      backoffMaxMs: this.#config.backoffMaxMs,
      clock,
      log,
      ...(this.#d.ffmpeg ? { ffmpeg: this.#d.ffmpeg } : {}),
      onSegment: (s) => this.repo.insertSegment({ cameraId: camera.id, startAt: s.startAt, endAt: s.endAt, bytes: s.bytes, path: `${camera.id}/${s.file}` }),
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
  }

  #audit(actor: Actor, action: string, target: string, details: Record<string, unknown>): void {
    recordAudit(this.#d.store, this.#d.bus, { actor, action, target, details, at: this.#d.clock.now() });
  }
}

function freeBytesOf(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
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
