import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { cameraInputArgs, spawnFfmpeg } from './ffmpeg-process.ts';
import { LiveStream } from './live.ts';
import { MotionDetector, type MotionOptions } from './motion.ts';
import { redact } from './url.ts';

export interface SubStreamOptions {
  cameraId: string;
  /** The camera's sub stream (lower resolution), with credentials. */
  url: string;
  clock: Clock;
  log: Logger;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** When set, the same ffmpeg also decodes the sub stream at a low rate to detect motion. */
  motion?: MotionOptions & { onMotion(at: number, score: number): void };
  ffmpeg?: string;
}

/** No live bytes for this long: ffmpeg is killed and restarted (the RTSP timeout is 5 s). */
export const SUB_STALL_MS = 15_000;

/**
 * One supervised ffmpeg for a camera's sub stream: its video copied as fragmented MP4 (one
 * fragment per frame, on stdout) for live viewers and HLS on phones, never recorded. With
 * motion detection on, a second output of the same process decodes it at a few frames a second
 * and prints the frames whose scene change passes the threshold (fd 3). Restarted with
 * back-off when it exits or goes quiet.
 */
export class SubStream {
  readonly live: LiveStream;
  readonly #o: SubStreamOptions;
  readonly #motion: MotionDetector | undefined;
  #child: ChildProcessWithoutNullStreams | undefined;
  #stallTimer: TimerHandle | undefined;
  #lastData = 0;
  #restartTimer: TimerHandle | undefined;
  #backoffMs: number;
  #stopping = false;
  #exited: Promise<void> = Promise.resolve();

  constructor(options: SubStreamOptions) {
    this.#o = options;
    this.#backoffMs = options.backoffInitialMs;
    this.live = new LiveStream(() => options.clock.now());
    const motion = options.motion;
    if (motion) this.#motion = new MotionDetector(motion, () => options.clock.now(), motion.onMotion);
  }

  /** The ffmpeg arguments (exposed for tests). */
  args(): string[] {
    const args = [
      '-hide_banner',
      '-nostats',
      '-loglevel',
      'error',
      ...cameraInputArgs(), // the URL on fd 4, off the command line
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
      'pipe:1',
    ];
    if (this.#motion) args.push('-map', '0:v:0', '-vf', this.#motion.filter(), '-f', 'null', '-');
    return args;
  }

  start(): void {
    this.#stopping = false;
    this.#spawn();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.live.closeAll();
    this.#stallTimer?.cancel();
    this.#restartTimer?.cancel();
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL'); // nothing on disk to close properly
      await this.#exited;
    }
  }

  #spawn(): void {
    const { log, cameraId } = this.#o;
    const child = spawnFfmpeg(this.#o.ffmpeg ?? 'ffmpeg', this.args(), this.#o.url);
    this.#child = child;
    this.live.reset();
    this.#motion?.reset();
    child.stdout.on('data', (d: Buffer) => {
      this.#backoffMs = this.#o.backoffInitialMs;
      this.#lastData = this.#o.clock.now();
      try {
        this.live.push(d);
      } catch (err) {
        log.warn({ err, camera: cameraId }, 'sub stream unreadable; reset');
        this.live.reset();
      }
    });
    const motionOut = child.stdio[3] as Readable | null;
    if (motionOut && this.#motion) {
      const motion = this.#motion;
      createInterface({ input: motionOut }).on('line', (line) => motion.line(line));
    }
    motionOut?.on('error', () => {});
    let stderrTail = '';
    child.stderr.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString()).slice(-2000);
    });
    child.stdin.on('error', () => {});
    this.#exited = new Promise((resolve) => {
      let done = false;
      child.once('error', () => child.emit('close', null, null));
      child.once('close', (code, signal) => {
        if (done) return;
        done = true;
        this.#stallTimer?.cancel();
        if (this.#child === child) this.#child = undefined;
        if (!this.#stopping) {
          const reason = redact(stderrTail.trim().split('\n').pop() ?? '', this.#o.url);
          log.warn(
            { camera: cameraId, code, signal, ffmpeg: reason, retryInMs: this.#backoffMs },
            'sub stream stopped; restarting',
          );
          const delay = this.#backoffMs;
          this.#backoffMs = Math.min(this.#o.backoffMaxMs, this.#backoffMs * 2);
          this.#restartTimer = this.#o.clock.setTimeout(() => {
            if (!this.#stopping) this.#spawn();
          }, delay);
        }
        resolve();
      });
    });
    this.#lastData = this.#o.clock.now();
    this.#checkStall();
  }

  /** A check every SUB_STALL_MS (not a timer per chunk: 25 chunks a second). */
  #checkStall(): void {
    this.#stallTimer?.cancel();
    this.#stallTimer = this.#o.clock.setTimeout(() => {
      if (this.#stopping || !this.#child) return;
      if (this.#o.clock.now() - this.#lastData >= SUB_STALL_MS) {
        this.#o.log.warn({ camera: this.#o.cameraId }, 'sub stream silent: restarting its ffmpeg');
        this.#child.kill('SIGKILL');
        return;
      }
      this.#checkStall();
    }, SUB_STALL_MS);
  }
}
