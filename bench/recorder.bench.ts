/**
 * bench/recorder: what recording a 1080p camera costs the hub, against transcoding the same
 * camera, and how late the live view shows a frame. One run, three phases of --seconds each
 * (default 25; the whole bench stays under two minutes):
 *
 *  1. hub: the real hub process records the camera (stream copy into segments, the same ffmpeg
 *     feeding the live view) with one live viewer on the fMP4 WebSocket. CPU = the recorder's
 *     ffmpeg + the hub process (it splits the live stream, sends it and indexes segments),
 *     read from /proc over the phase, per minute of video.
 *  2. mpeg1: what node-rtsp-stream runs per camera, `ffmpeg -i URL -f mpegts -codec:v mpeg1video
 *     -b:v 1000k -` (it always re-encodes), its output decoded as a viewer would.
 *  3. x264: a recorder that re-encodes, `-c:v libx264 -preset veryfast` into 4 s MP4 segments.
 *  Peers' CPU is per minute of video they actually processed (`-progress` out_time), so one that
 *  cannot keep up on this machine is not flattered; their speed against real time is reported.
 *
 * Latency ("glass to glass"): the camera (`rtsp-camera.py --stamp`) paints each frame's capture
 * time (wall clock, ms) into the picture as a grid of cells. The viewer pipes what it receives
 * into `ffmpeg` (no buffering) that scales each decoded frame to the 16x8 grid; latency = the
 * time the decoded frame reaches the bench minus the time painted into it. For the hub this is
 * WebSocket → fMP4 fragments (a fragment per keyframe, one a second) → decode, i.e. what a
 * browser with MSE could show at the earliest, minus its own decode and paint; for mpeg1 it is
 * the transcoder's MPEG-TS pipe → decode. Everything runs on this machine's loopback.
 *
 * The camera itself (GStreamer x264enc ultrafast, 1080p25, 4 Mbit/s) runs here too and is not
 * counted. Its picture (flat cells) is cheap to encode, so the transcoding peers' encoder costs
 * are lower than with a real scene: the ratios understate what re-encoding costs.
 *
 * Options: --seconds=N per phase (25), --fps=N (25), --size=WxH (1920x1080).
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSeconds, makeTempDir, removeTempDir, sleep, spawnTracked, stopChild, waitFor } from './lib/proc.ts';
import { percentile as percentileSorted } from './lib/stats.ts';
import type { BenchContext, BenchSmoke } from './run.ts';

export const description =
  'recorder: CPU per minute of 1080p recorded by stream copy vs transcoding (mpeg1 as node-rtsp-stream, libx264); live view glass-to-glass latency';

/** 1 s phases of a small picture, with shorter settle waits (ctx.smoke). */
export const smoke: BenchSmoke = {
  args: ['--seconds=1', '--size=640x360'],
  keys: ['hubCpuSPerMin', 'mpeg1CpuSPerMin', 'x264CpuSPerMin', 'liveFrames'],
};

const STAMP_BITS = 48;
const GRID = 16 * 8;

/** q-th percentile (0..100) of unsorted milliseconds. */
function percentile(values: number[], q: number): number {
  return percentileSorted(
    [...values].sort((a, b) => a - b),
    q / 100,
  );
}

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: ctx.args,
    options: {
      seconds: { type: 'string', default: '25' },
      fps: { type: 'string', default: '25' },
      size: { type: 'string', default: '1920x1080' },
    },
    strict: true,
  });
  const phaseS = Number(values.seconds);
  const fps = Number(values.fps);
  const size = /^(\d+)x(\d+)$/.exec(values.size);
  if (!size) throw new Error('--size must be WIDTHxHEIGHT, e.g. 1920x1080');
  const [width, height] = [Number(size[1]), Number(size[2])];
  // Waits for steady state before a phase is measured; a smoke run only needs the phases to run.
  const settleMs = ctx.smoke ? 1000 : 3000;
  const { RtspCamera, rtspCameraUnavailable } = await import('../hub/test/helpers/rtsp-camera.ts');
  const { startHub } = await import('../hub/test/helpers/hub-process.ts');
  const { api, setupOwner } = await import('../hub/test/helpers/http.ts');
  const why = await rtspCameraUnavailable();
  if (why) throw new Error(why);

  const tmp = makeTempDir('hearth-bench-recorder-');
  const camera = new RtspCamera({ width, height, fps, preset: 'ultrafast', bitrateKbps: 4000, stamp: true });
  await camera.start();
  const url = camera.url();
  ctx.log(`camera: ${url} ${values.size} at ${fps} fps, H.264 4 Mbit/s, stamped frames`);
  const hub = await startHub(join(tmp, 'data'), [], {
    HEARTH_RECORDER_SEGMENT_S: ctx.smoke ? '1' : '4',
    HEARTH_RECORDER_MIN_FREE_MB: '0',
  });
  try {
    const token = await setupOwner(hub);
    const added = await api(hub.baseUrl, 'POST', '/api/v1/cameras', { token, body: { name: 'Bench', url } });
    if (added.status !== 201) throw new Error(`adding the camera failed: ${JSON.stringify(added.body)}`);
    const cameraId = added.body.id as string;
    await waitFor(
      'the first segment',
      async () => (await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}`, { token })).body.available === true,
      30_000,
      200,
    );
    const recorderPid = ffmpegWriting(join(tmp, 'data', 'recordings', cameraId));
    if (!recorderPid) throw new Error('the recorder ffmpeg was not found');

    // ---- phase 1: the hub --------------------------------------------------------------------
    ctx.log(`phase 1 (${phaseS} s): the hub records and one live viewer watches`);
    const viewer = decoder('mp4');
    const ws = new WebSocket(`ws://127.0.0.1:${hub.http}/api/v1/cameras/${cameraId}/live?token=${token}`);
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (m) => {
      viewer.proc.stdin!.write(Buffer.from(m.data as ArrayBuffer));
    };
    await sleep(settleMs); // the viewer's first fragment and decoder start-up are not the steady state
    viewer.latencies.length = 0;
    const hubCpu0 = cpuSeconds(hub.proc.pid!) + cpuSeconds(recorderPid);
    const ffCpu0 = cpuSeconds(recorderPid);
    const t0 = Date.now();
    await sleep(phaseS * 1000);
    const wallS = (Date.now() - t0) / 1000;
    const recorderFfmpegCpuS = cpuSeconds(recorderPid) - ffCpu0;
    const hubTotalCpuS = cpuSeconds(hub.proc.pid!) + cpuSeconds(recorderPid) - hubCpu0;
    const hubLatency = [...viewer.latencies];
    ws.close();
    viewer.proc.stdin!.end(); // at the end of its input the decoder exits without waiting for a signal
    await stopChild(viewer.proc);
    const hubCpuPerMin = hubTotalCpuS / (wallS / 60);
    ctx.log(
      `  hub: ${hubCpuPerMin.toFixed(2)} CPU s per minute of video (recorder ffmpeg ` +
        `${(recorderFfmpegCpuS / (wallS / 60)).toFixed(2)}, hub process ` +
        `${((hubTotalCpuS - recorderFfmpegCpuS) / (wallS / 60)).toFixed(2)}); live latency p50 ` +
        `${percentile(hubLatency, 50)} ms, p95 ${percentile(hubLatency, 95)} ms (` +
        `${hubLatency.length} frames)`,
    );

    // ---- phase 2: node-rtsp-stream's transcode ------------------------------------------------
    ctx.log(`phase 2 (${phaseS} s): ffmpeg to MPEG-1 (node-rtsp-stream), decoded by a viewer`);
    const mpeg1 = transcoder(['-f', 'mpegts', '-codec:v', 'mpeg1video', '-b:v', '1000k', 'pipe:1'], url);
    const mpeg1Viewer = decoder('mpegts');
    mpeg1.proc.stdout!.pipe(mpeg1Viewer.proc.stdin!);
    await sleep(settleMs);
    mpeg1Viewer.latencies.length = 0;
    const mpeg1Result = await measure(mpeg1, phaseS, settleMs);
    const mpeg1Latency = [...mpeg1Viewer.latencies];
    await stopChild(mpeg1.proc);
    await stopChild(mpeg1Viewer.proc);
    ctx.log(
      `  mpeg1: ${mpeg1Result.cpuPerMin.toFixed(2)} CPU s per minute of video at ` +
        `${mpeg1Result.speed.toFixed(2)}x real time; latency p50 ${percentile(mpeg1Latency, 50)} ` +
        `ms, p95 ${percentile(mpeg1Latency, 95)} ms (${mpeg1Latency.length} frames)`,
    );

    // ---- phase 3: a recorder that re-encodes ---------------------------------------------------
    ctx.log(`phase 3 (${phaseS} s): ffmpeg re-encoding with libx264 veryfast into segments`);
    const x264 = transcoder(
      [
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-f',
        'segment',
        '-segment_time',
        '4',
        '-segment_format',
        'mp4',
        join(tmp, 'x264-%05d.mp4'),
      ],
      url,
    );
    const x264Result = await measure(x264, phaseS, settleMs);
    await stopChild(x264.proc);
    ctx.log(
      `  x264: ${x264Result.cpuPerMin.toFixed(2)} CPU s per minute of video at ${x264Result.speed.toFixed(2)}x real time`,
    );

    const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
    return {
      phaseS,
      resolution: values.size,
      fps,
      hubCpuSPerMin: round(hubCpuPerMin, 3),
      hubRecorderFfmpegCpuSPerMin: round(recorderFfmpegCpuS / (wallS / 60), 3),
      mpeg1CpuSPerMin: round(mpeg1Result.cpuPerMin),
      mpeg1Speed: round(mpeg1Result.speed),
      x264CpuSPerMin: round(x264Result.cpuPerMin),
      x264Speed: round(x264Result.speed),
      ratioCpuMpeg1VsHub: round(mpeg1Result.cpuPerMin / hubCpuPerMin, 1),
      ratioCpuX264VsHub: round(x264Result.cpuPerMin / hubCpuPerMin, 1),
      liveLatencyP50Ms: percentile(hubLatency, 50),
      liveLatencyP95Ms: percentile(hubLatency, 95),
      liveFrames: hubLatency.length,
      mpeg1LatencyP50Ms: percentile(mpeg1Latency, 50),
      mpeg1LatencyP95Ms: percentile(mpeg1Latency, 95),
      ratioLatencyP50HubVsMpeg1: round(percentile(hubLatency, 50) / Math.max(1, percentile(mpeg1Latency, 50))),
    };
  } finally {
    await hub.stop();
    await camera.stop();
    removeTempDir(tmp);
  }
}

/** An ffmpeg that decodes what is written to its stdin and reports each frame's painted time. */
function decoder(format: 'mp4' | 'mpegts'): { proc: ChildProcess; latencies: number[] } {
  const proc = spawnTracked(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-fflags',
      'nobuffer',
      '-flags',
      'low_delay',
      '-probesize',
      '32',
      '-analyzeduration',
      '0',
      '-f',
      format,
      '-i',
      'pipe:0',
      '-vf',
      'scale=16:8:flags=area',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'gray',
      'pipe:1',
    ],
    { stdio: ['pipe', 'pipe', 'ignore'] },
  );
  const latencies: number[] = [];
  let pending = Buffer.alloc(0);
  proc.stdout!.on('data', (d: Buffer) => {
    const now = Date.now();
    pending = Buffer.concat([pending, d]);
    while (pending.length >= GRID) {
      const painted = readStamp(pending.subarray(0, GRID));
      pending = pending.subarray(GRID);
      // A frame whose cells did not survive (a broken decode) reads as nonsense: skipped.
      if (painted > now - 60_000 && painted <= now) latencies.push(now - painted);
    }
  });
  proc.stdin!.on('error', () => {});
  return { proc, latencies };
}

function readStamp(cells: Buffer): number {
  let v = 0;
  for (let i = 0; i < STAMP_BITS; i++) v = v * 2 + (cells[i]! > 128 ? 1 : 0);
  return v;
}

/** An ffmpeg transcoding the camera, reporting how much video it has processed. */
function transcoder(output: string[], url: string): { proc: ChildProcess; outTimeS: () => number } {
  const proc = spawnTracked(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-nostats',
      '-progress',
      'pipe:2',
      '-rtsp_transport',
      'tcp',
      '-i',
      url,
      '-an',
      ...output,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let outTimeUs = 0;
  proc.stderr!.on('data', (d: Buffer) => {
    for (const m of d.toString().matchAll(/out_time_us=(\d+)/g)) outTimeUs = Number(m[1]);
  });
  return { proc, outTimeS: () => outTimeUs / 1e6 };
}

/** CPU and video processed over `seconds`, after a warm-up that is not counted. */
async function measure(
  t: { proc: ChildProcess; outTimeS: () => number },
  seconds: number,
  warmupMs: number,
): Promise<{ cpuPerMin: number; speed: number }> {
  await waitFor('the transcoder to start', () => t.outTimeS() > 0, 30_000, 100);
  await sleep(warmupMs);
  const cpu0 = cpuSeconds(t.proc.pid!);
  const video0 = t.outTimeS();
  const wall0 = Date.now();
  await sleep(seconds * 1000);
  const cpu = cpuSeconds(t.proc.pid!) - cpu0;
  const video = t.outTimeS() - video0;
  const wall = (Date.now() - wall0) / 1000;
  return { cpuPerMin: cpu / Math.max(0.001, video / 60), speed: video / wall };
}

/** The pid of the ffmpeg whose command line writes into `dir` (the hub's recorder). */
function ffmpegWriting(dir: string): number | undefined {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.endsWith('ffmpeg') && cmd.some((a) => a.startsWith(dir))) return Number(pid);
    } catch {
      /* gone meanwhile */
    }
  }
  return undefined;
}
