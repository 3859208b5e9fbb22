import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./rtsp-camera.py', import.meta.url));
/** The system Python: Debian's python3-gi lives there, not in a pyenv or venv. */
const PYTHON = '/usr/bin/python3';

export interface RtspCameraOptions {
  port?: number;
  /** The mount path (default /cam); e.g. an XMEye-style path carrying credentials. */
  path?: string;
  user?: string;
  password?: string;
  /** h264 (default) or vp8, which the recorder must refuse. */
  codec?: 'h264' | 'vp8';
  /** Picture (default 320x240 at 10 fps) and encoder settings (benches use 1080p, ultrafast). */
  width?: number;
  height?: number;
  fps?: number;
  preset?: string;
  bitrateKbps?: number;
  /** Frames carry their capture time (see rtsp-camera.py) instead of the test pattern. */
  stamp?: boolean;
  /** Also serve a sub stream of this size at /sub. */
  sub?: { width: number; height: number };
  /**
   * The first test pattern: a still picture (default) or a moving ball, which `switchPattern`
   * toggles; or noise (`snow`), which uses the whole bitrate (large recordings in a few seconds).
   */
  pattern?: 'smpte' | 'ball' | 'snow';
}

/**
 * A real RTSP camera (GStreamer's RTSP server, H.264 320x240 at 10 fps, a keyframe every
 * second) that tests can stop and start again on the same port, like a camera losing power.
 */
export class RtspCamera {
  readonly #options: RtspCameraOptions;
  #proc: ChildProcess | undefined;
  port = 0;

  constructor(options: RtspCameraOptions = {}) {
    this.#options = options;
    this.port = options.port ?? 0;
  }

  /** rtsp://[user:password@]127.0.0.1:port/cam; credentials default to the camera's own. */
  url(credentials: { user?: string; password?: string } | null = this.#options): string {
    const auth = credentials?.user
      ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password ?? '')}@`
      : '';
    return `rtsp://${auth}127.0.0.1:${this.port}${this.#options.path ?? '/cam'}`;
  }

  /** The sub stream's URL (`sub` option), credentials as in `url`. */
  subUrl(credentials: { user?: string; password?: string } | null = this.#options): string {
    return this.url(credentials).replace(/\/cam$/, '/sub');
  }

  /** Still picture ↔ moving ball, on every stream (SIGUSR1 to the server). */
  switchPattern(): void {
    this.#proc?.kill('SIGUSR1');
  }

  async start(): Promise<void> {
    const args = [SCRIPT, '--port', String(this.port)];
    const o = this.#options;
    if (o.path) args.push('--path', o.path);
    if (o.codec) args.push('--codec', o.codec);
    if (o.width) args.push('--width', String(o.width));
    if (o.height) args.push('--height', String(o.height));
    if (o.fps) args.push('--fps', String(o.fps));
    if (o.preset) args.push('--preset', o.preset);
    if (o.bitrateKbps) args.push('--bitrate', String(o.bitrateKbps));
    if (o.stamp) args.push('--stamp');
    if (o.sub) args.push('--sub-width', String(o.sub.width), '--sub-height', String(o.sub.height));
    if (o.pattern) args.push('--pattern', o.pattern);
    if (this.#options.user) args.push('--user', this.#options.user, '--password', this.#options.password ?? '');
    const proc = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#proc = proc;
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    this.port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`RTSP camera did not start in 10 s: ${stderr}`));
      }, 10_000);
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        const m = /^READY (\d+)$/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      proc.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`RTSP camera exited with ${code}: ${stderr.trim()}`));
      });
    });
  }

  /** The camera's process id (benches read its CPU time). */
  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  /** Stops serving (SIGKILL: the camera vanishes without a goodbye). */
  async stop(): Promise<void> {
    const proc = this.#proc;
    this.#proc = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  }
}

/**
 * Why real-camera tests cannot run here, or null when they can: ffmpeg/ffprobe on PATH and
 * the GStreamer RTSP server starting (`scripts/run test` installs both from Debian).
 */
export async function rtspCameraUnavailable(): Promise<string | null> {
  for (const tool of ['ffmpeg', 'ffprobe']) {
    if (spawnSync(tool, ['-version'], { stdio: 'ignore' }).status !== 0)
      return `${tool} is not installed (apt-get install ffmpeg)`;
  }
  const camera = new RtspCamera();
  try {
    await camera.start();
    return null;
  } catch (err) {
    return (
      `the GStreamer RTSP test camera cannot start (apt-get install gir1.2-gst-rtsp-server-1.0 ` +
      `gstreamer1.0-plugins-{base,good,ugly} python3-gi): ${(err as Error).message}`
    );
  } finally {
    await camera.stop();
  }
}

/** ffprobe of a file: the first video stream and the container's duration (seconds). */
export function probeFile(path: string): { codec: string; width: number; height: number; duration: number } {
  const out = spawnSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=codec_name,width,height:format=duration',
      '-of',
      'json',
      path,
    ],
    { encoding: 'utf8' },
  );
  if (out.status !== 0) throw new Error(`ffprobe failed on ${path}: ${out.stderr}`);
  const json = JSON.parse(out.stdout) as {
    streams: { codec_name: string; width: number; height: number }[];
    format: { duration: string };
  };
  const s = json.streams[0]!;
  return { codec: s.codec_name, width: s.width, height: s.height, duration: Number(json.format.duration) };
}
