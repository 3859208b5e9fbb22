import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { cameraInputArgs, spawnFfmpeg } from './ffmpeg-process.ts';
import { LiveStream } from './live.ts';
import { redact } from './url.ts';

export interface ClosedSegment {
  /** File name inside the camera's directory. */
  file: string;
  startAt: number;
  endAt: number;
  bytes: number;
}

export interface CameraRecorderOptions {
  cameraId: string;
  url: string;
  /** DATA/recordings/<camera>. */
  dir: string;
  segmentSeconds: number;
  clock: Clock;
  log: Logger;
  /** First restart delay; doubles on every failure up to `backoffMaxMs`, reset by a segment. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /**
   * Extra time the first segment of a run gets: connecting, RTSP setup and ffmpeg's stream
   * analysis come before it (seconds on a busy Pi), and are not a stall.
   */
  startGraceMs?: number;
  onSegment(segment: ClosedSegment): void;
  onAvailability(available: boolean, reason: string): void;
  ffmpeg?: string;
}

/** See `startGraceMs`: the RTSP I/O timeout (5 s) plus as much again for the analysis. */
export const DEFAULT_START_GRACE_MS = 10_000;

/** How long a stop waits for ffmpeg to close its segment after `q` before killing it. */
const STOP_GRACE_MS = 3000;

/**
 * One supervised ffmpeg for one camera: stream copy (never a decode) from RTSP over TCP into MP4
 * segments. ffmpeg prints each closed segment on stdout (`-segment_list pipe:1`, csv), which is
 * when it is indexed. A stall (no segment in twice the segment time) or an exit marks the camera
 * unavailable and restarts ffmpeg with back-off; the next closed segment marks it available.
 */
export class CameraRecorder {
  /** Live viewers, fed by the same ffmpeg (no second connection to the camera). */
  readonly live: LiveStream;
  readonly #o: CameraRecorderOptions;
  #child: ChildProcessWithoutNullStreams | undefined;
  #runPrefix = '';
  #stallTimer: TimerHandle | undefined;
  #restartTimer: TimerHandle | undefined;
  #backoffMs: number;
  #stopping = false;
  #available: boolean | null = null;
  #exited: Promise<void> = Promise.resolve();

  constructor(options: CameraRecorderOptions) {
    this.#o = options;
    this.#backoffMs = options.backoffInitialMs;
    this.live = new LiveStream(() => options.clock.now());
  }

  /** null until the first segment or failure. */
  get available(): boolean | null {
    return this.#available;
  }

  /** The ffmpeg arguments for a run writing `<prefix>-NNNNN.mp4` (exposed for tests). */
  args(prefix: string): string[] {
    return [
      '-hide_banner',
      '-nostats',
      '-loglevel',
      'error',
      // The URL (with its credentials) comes on fd 4, not on the command line.
      ...cameraInputArgs(),
      '-map',
      '0:v:0',
      '-c',
      'copy',
      '-f',
      'segment',
      '-segment_time',
      String(this.#o.segmentSeconds),
      '-reset_timestamps',
      '1',
      '-segment_format',
      'mp4',
      '-segment_list',
      'pipe:1',
      '-segment_list_type',
      'csv',
      join(this.#o.dir, `${prefix}-%05d.mp4`),
      // The same packets, copied again, as fragmented MP4 for live viewers (fd 3, always read).
      // A fragment per frame: a viewer sees a frame as soon as it arrives, not a GOP later
      // (bench/recorder: p50 ~0.67 s with a fragment per keyframe at one a second).
      '-map',
      '0:v:0',
      '-c',
      'copy',
      '-f',
      'mp4',
      '-movflags',
      'frag_every_frame+empty_moov+default_base_moof',
      '-flush_packets',
      '1',
      'pipe:3',
    ];
  }

  start(): void {
    this.#stopping = false;
    mkdirSync(this.#o.dir, { recursive: true });
    this.#spawn();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.live.closeAll();
    this.#stallTimer?.cancel();
    this.#restartTimer?.cancel();
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      // `q` makes ffmpeg close the open segment properly (and print it, so it is indexed).
      child.stdin.end('q\n');
      const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await this.#exited;
      clearTimeout(killer);
    }
  }

  #spawn(): void {
    const { clock, log } = this.#o;
    this.#runPrefix = String(clock.now());
    const prefix = this.#runPrefix;
    const child = spawnFfmpeg(this.#o.ffmpeg ?? 'ffmpeg', this.args(prefix), this.#o.url);
    this.live.reset();
    const liveOut = child.stdio[3] as Readable | null;
    liveOut?.on('data', (d: Buffer) => {
      try {
        this.live.push(d);
      } catch (err) {
        log.warn({ err, camera: this.#o.cameraId }, 'live stream unreadable; reset');
        this.live.reset();
      }
    });
    liveOut?.on('error', () => {});
    this.#child = child;
    const indexed = new Set<string>();
    let stderrTail = '';
    child.stderr.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString()).slice(-2000);
    });
    child.stdin.on('error', () => {}); // ffmpeg may be gone already when we say `q`
    createInterface({ input: child.stdout }).on('line', (line) => {
      const segment = this.#parseListLine(line);
      if (!segment) return;
      indexed.add(segment.file);
      this.#segmentClosed(segment);
    });
    this.#exited = new Promise((resolve) => {
      let done = false;
      // A binary that cannot start emits 'error' (and maybe no 'close'): the same as an exit.
      child.once('error', (err) => {
        log.error({ err: redact(String(err), this.#o.url), camera: this.#o.cameraId }, 'ffmpeg could not start');
        child.emit('close', null, null);
      });
      child.once('close', (code, signal) => {
        if (done) return;
        done = true;
        this.#stallTimer?.cancel();
        this.#removeUnindexed(prefix, indexed);
        if (this.#child === child) this.#child = undefined;
        if (!this.#stopping) {
          const reason = redact(stderrTail.trim().split('\n').pop() ?? '', this.#o.url);
          log.warn(
            { camera: this.#o.cameraId, code, signal, ffmpeg: reason, retryInMs: this.#backoffMs },
            'recorder stopped; restarting',
          );
          this.#setAvailable(false, 'ffmpeg_exited');
          this.#scheduleRestart();
        }
        resolve();
      });
    });
    this.#armStall(this.#o.startGraceMs ?? DEFAULT_START_GRACE_MS);
  }

  #parseListLine(line: string): ClosedSegment | undefined {
    // csv: file,start_time,end_time (seconds since this run started)
    const m = /^(.*),([\d.]+),([\d.]+)$/.exec(line.trim());
    if (!m) return undefined;
    const file = m[1]!.replace(/^"|"$/g, '');
    let bytes = 0;
    try {
      bytes = statSync(join(this.#o.dir, file)).size;
    } catch {
      return undefined;
    }
    const endAt = this.#o.clock.now();
    const durationMs = Math.max(0, Math.round((Number(m[3]) - Number(m[2])) * 1000));
    return { file, startAt: endAt - durationMs, endAt, bytes };
  }

  #segmentClosed(segment: ClosedSegment): void {
    this.#backoffMs = this.#o.backoffInitialMs;
    this.#armStall();
    try {
      this.#o.onSegment(segment);
    } catch (err) {
      this.#o.log.error({ err, camera: this.#o.cameraId }, 'indexing a segment failed');
    }
    this.#setAvailable(true, 'recording');
  }

  #armStall(graceMs = 0): void {
    this.#stallTimer?.cancel();
    const ms = 2 * this.#o.segmentSeconds * 1000 + graceMs;
    this.#stallTimer = this.#o.clock.setTimeout(() => {
      if (this.#stopping || !this.#child) return;
      this.#o.log.warn({ camera: this.#o.cameraId, ms }, 'no segment in twice the segment time: restarting ffmpeg');
      this.#setAvailable(false, 'stalled');
      this.#child.kill('SIGKILL');
    }, ms);
  }

  #scheduleRestart(): void {
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#o.backoffMaxMs, this.#backoffMs * 2);
    this.#restartTimer = this.#o.clock.setTimeout(() => {
      if (!this.#stopping) this.#spawn();
    }, delay);
  }

  #setAvailable(available: boolean, reason: string): void {
    if (this.#available === available) return;
    this.#available = available;
    this.#o.onAvailability(available, reason);
  }

  /** A run's files that were never reported closed are partial (no moov): they go. */
  #removeUnindexed(prefix: string, indexed: Set<string>): void {
    try {
      for (const file of readdirSync(this.#o.dir)) {
        if (file.startsWith(`${prefix}-`) && !indexed.has(file)) rmSync(join(this.#o.dir, file), { force: true });
      }
    } catch {
      /* directory removed with the camera */
    }
  }
}
