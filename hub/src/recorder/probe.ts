import { spawn } from 'node:child_process';
import { HubError } from '../core/errors.ts';
import { cameraInputArgs, cameraInputList } from './ffmpeg-process.ts';
import { redact } from './url.ts';

export interface ProbeResult {
  codec: string;
  width: number;
  height: number;
  fps: number;
}

/** What the recorder can copy into MP4 segments without transcoding. */
export const RECORDABLE_CODECS = new Set(['h264', 'hevc']);

/** Runs a program, collecting stdout/stderr, killed after `timeoutMs`; `stdin` is written to it. */
export function run(
  cmd: string,
  args: string[],
  timeoutMs: number,
  stdin?: string,
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => {}); // a program that failed at once closed it
    child.stdin.end(stdin ?? '');
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

function frameRate(text: string | undefined): number {
  const [n, d] = (text ?? '0/0').split('/').map(Number);
  return d ? Math.round((n! / d) * 100) / 100 : 0;
}

/**
 * Asks the camera what it sends (ffprobe over RTSP/TCP). No answer, refusal or a 401 is
 * `camera_unreachable`; a stream without video in a codec we can copy is `camera_unsupported`.
 * Error messages and details never carry the URL's credentials.
 */
export async function probeCamera(url: string, timeoutMs = 10_000): Promise<ProbeResult> {
  // The URL goes in on stdin (see cameraInputArgs), not on the command line.
  const args = [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=codec_name,width,height,avg_frame_rate,r_frame_rate',
    '-of',
    'json',
    ...cameraInputArgs(0),
  ];
  const result = await run('ffprobe', args, timeoutMs, cameraInputList(url, Math.floor(timeoutMs * 1000 * 0.8)));
  if (result.code !== 0 || result.timedOut) {
    const text = redact(result.stderr.trim().split('\n').pop() ?? '', url);
    // It answered, but with a stream ffmpeg cannot read: the camera's format, not the network.
    if (!result.timedOut && /Invalid data found/i.test(result.stderr)) {
      throw new HubError('camera_unsupported', 'the camera sends a stream the recorder cannot read', {
        reason: 'unreadable',
        ffprobe: text,
      });
    }
    const reason = result.timedOut
      ? 'timeout'
      : /401|unauthori[sz]ed/i.test(result.stderr)
        ? 'unauthorized'
        : 'no_answer';
    throw new HubError('camera_unreachable', `the camera did not answer (${reason})`, { reason, ffprobe: text });
  }
  let streams: Record<string, unknown>[] = [];
  try {
    streams = (JSON.parse(result.stdout) as { streams?: Record<string, unknown>[] }).streams ?? [];
  } catch {
    /* treated as no video below */
  }
  const video = streams[0];
  if (!video) throw new HubError('camera_unsupported', 'the camera sends no video', { reason: 'no_video' });
  const codec = String(video.codec_name ?? 'unknown');
  if (!RECORDABLE_CODECS.has(codec)) {
    throw new HubError('camera_unsupported', `the camera sends ${codec}; the recorder copies H.264 or H.265 only`, {
      reason: 'codec',
      codec,
    });
  }
  const width = Number(video.width ?? 0);
  const height = Number(video.height ?? 0);
  if (!width || !height)
    throw new HubError('camera_unsupported', 'the camera sends no picture size', { reason: 'resolution' });
  const fps = frameRate(video.avg_frame_rate as string) || frameRate(video.r_frame_rate as string);
  return { codec, width, height, fps };
}
