/**
 * Motion from ffmpeg's scene-change score on the decoded sub stream: `fps` frames a second,
 * scaled down to `width`, and only frames whose score (0 = same picture, 1 = a new scene)
 * passes `threshold` reach `metadata=print`, which writes two lines per frame to fd 3:
 *   frame:12   pts:1200   pts_time:6
 *   lavfi.scene_score=0.046
 * Decoding a 640x360 sub stream at 2 fps is a few percent of a Pi core; the main stream is
 * never decoded.
 */
export interface MotionOptions {
  /** Scene score a frame needs to count as motion (ffmpeg's `scene`, 0..1). */
  threshold: number;
  /** Frames decoded per second. */
  fps: number;
  /** Width the frames are scaled to before comparing (height keeps the aspect). */
  width: number;
  /** After a motion event, further motion is quiet this long (an open clip is extended anyway). */
  cooldownMs: number;
}

export const DEFAULT_MOTION: MotionOptions = { threshold: 0.02, fps: 2, width: 160, cooldownMs: 10_000 };

/**
 * Seconds of each ffmpeg run ignored: the first decoded frames are compared with nothing (or
 * with the encoder's first, blurry keyframe) and score as a change on a still scene.
 */
const WARMUP_S = 2;

export class MotionDetector {
  readonly #o: MotionOptions;
  readonly #now: () => number;
  readonly #onMotion: (at: number, score: number) => void;
  #ptsTime: number | undefined;
  #last = Number.NEGATIVE_INFINITY;

  constructor(options: MotionOptions, now: () => number, onMotion: (at: number, score: number) => void) {
    this.#o = options;
    this.#now = now;
    this.#onMotion = onMotion;
  }

  /** The `-vf` of the decoding output (its metadata lines go to fd 3, unbuffered: `direct`,
   * or they would wait in a 32 KiB buffer). */
  filter(): string {
    const { fps, width, threshold } = this.#o;
    return `fps=${fps},scale=${width}:-2,select=gt(scene\\,${threshold}),metadata=mode=print:file='pipe\\:3':direct=1`;
  }

  /** A new ffmpeg run: timestamps start again. */
  reset(): void {
    this.#ptsTime = undefined;
  }

  line(text: string): void {
    const frame = /^frame:\d+\s+pts:\S+\s+pts_time:(-?[\d.]+)/.exec(text);
    if (frame) {
      this.#ptsTime = Number(frame[1]);
      return;
    }
    const score = /^lavfi\.scene_score=([\d.]+)/.exec(text);
    if (!score || this.#ptsTime === undefined || this.#ptsTime < WARMUP_S) return;
    const now = this.#now();
    if (now - this.#last < this.#o.cooldownMs) return;
    this.#last = now;
    this.#onMotion(now, Number(score[1]));
  }
}
