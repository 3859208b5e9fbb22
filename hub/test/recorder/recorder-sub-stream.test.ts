import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { footageFiles } from '../helpers/footage.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { childCommandLines } from '../helpers/processes.ts';
import { probeFile, RtspCamera, rtspCameraUnavailable } from '../helpers/rtsp-camera.ts';
import { tempDir } from '../helpers/temp.ts';
import { pollUntil } from '../helpers/poll.ts';

// A camera with a 320x240 main stream at /cam and a 160x120 sub stream at /sub (GStreamer).
const unavailable = await rtspCameraUnavailable();
if (unavailable) console.warn(`SKIPPING sub stream tests: ${unavailable}`);

const PASSWORD = 'Sub-s3cret';

describe.skipIf(unavailable !== null)('sub stream with a real RTSP camera', () => {
  const tmp = tempDir();
  const camera = new RtspCamera({ user: 'viewer', password: PASSWORD, sub: { width: 160, height: 120 } });
  let hub: HubProcess;
  let token: string;
  let cameraId: string;

  beforeAll(async () => {
    await camera.start();
    hub = await startHub(tmp.dir, [], { HEARTH_RECORDER_SEGMENT_S: '2', HEARTH_RECORDER_MIN_FREE_MB: '0' });
    token = await setupOwner(hub);
  });

  afterAll(async () => {
    await hub?.stop();
    await camera.stop();
    tmp.cleanup();
  });

  it('probes the sub stream like the main one and refuses it with its own field', async () => {
    const notRtsp = await api(hub.baseUrl, 'POST', '/api/v1/cameras', {
      token,
      body: { name: 'x', url: camera.url(), subUrl: 'http://127.0.0.1/sub' },
    });
    expect(notRtsp.status).toBe(400);
    expect(notRtsp.body.error).toMatchObject({ code: 'validation_failed', details: { field: 'subUrl' } });
    const wrong = await api(hub.baseUrl, 'POST', '/api/v1/cameras', {
      token,
      body: { name: 'x', url: camera.url(), subUrl: camera.subUrl({ user: 'viewer', password: 'nope' }) },
    });
    expect(wrong.status).toBe(502);
    expect(wrong.body.error).toMatchObject({
      code: 'camera_unreachable',
      details: { reason: 'unauthorized', stream: 'sub' },
    });
    expect((await api(hub.baseUrl, 'GET', '/api/v1/cameras', { token })).body).toEqual([]);
  });

  it('adds a camera with a sub stream, masked like the main one', async () => {
    const res = await api(hub.baseUrl, 'POST', '/api/v1/cameras', {
      token,
      body: { name: 'Garden', url: camera.url(), subUrl: camera.subUrl() },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      width: 320,
      height: 240,
      sub: { url: `rtsp://viewer:***@127.0.0.1:${camera.port}/sub`, codec: 'h264', width: 160, height: 120 },
    });
    cameraId = res.body.id;
    const audit = await api(hub.baseUrl, 'GET', '/api/v1/audit', { token });
    for (const body of [res.body, audit.body]) expect(JSON.stringify(body)).not.toContain(PASSWORD);
  });

  it('serves live view of either stream over the WebSocket, and records the main one', async () => {
    for (const [stream, width, height] of [
      ['sub', 160, 120],
      ['main', 320, 240],
    ] as const) {
      const ws = new WebSocket(
        `ws://127.0.0.1:${hub.http}/api/v1/cameras/${cameraId}/live?token=${token}&stream=${stream}`,
      );
      const messages: Buffer[] = [];
      ws.on('message', (data: Buffer) => messages.push(Buffer.from(data)));
      await pollUntil(`${stream}: init and three fragments`, async () => messages.length >= 4, 20_000).finally(() =>
        ws.close(),
      );
      const file = join(tmp.dir, `live-${stream}.mp4`);
      writeFileSync(file, Buffer.concat(messages));
      expect(probeFile(file)).toMatchObject({ codec: 'h264', width, height });
    }
    const root = join(tmp.dir, 'recordings');
    await pollUntil('a recorded segment', async () => footageFiles(root, cameraId).length > 0);
    for (const file of footageFiles(root, cameraId))
      expect(probeFile(join(root, file))).toMatchObject({ width: 320, height: 240 });
    // One ffmpeg per stream: the recorder (segments) and the sub stream's own; neither has
    // the URL or its password on its command line (ffmpeg reads them from fd 4).
    expect(recorders()).toBe(1);
    expect(subStreams()).toBe(1);
    for (const argv of childCommandLines(hub.proc.pid!, 'ffmpeg')) expect(argv.join(' ')).not.toContain(PASSWORD);
  });

  it('serves HLS of the sub stream with ?stream=sub', async () => {
    const grant = await api(hub.baseUrl, 'POST', `/api/v1/cameras/${cameraId}/hls?stream=sub`, { token });
    expect(grant.status).toBe(201);
    const probe = spawnSync(
      'ffprobe',
      [
        '-v',
        'error',
        '-select_streams',
        'v:0',
        '-show_entries',
        'stream=codec_name,width,height',
        '-of',
        'csv=p=0',
        `${hub.baseUrl}${grant.body.playlist}`,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(new Set(probe.stdout.trim().split('\n').filter(Boolean))).toEqual(new Set(['h264,160,120']));
    const bad = await api(hub.baseUrl, 'POST', `/api/v1/cameras/${cameraId}/hls?stream=thumbnail`, { token });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
  });

  it('removes the sub stream on PATCH subUrl null: its ffmpeg goes, recording goes on', async () => {
    const res = await api(hub.baseUrl, 'PATCH', `/api/v1/cameras/${cameraId}`, { token, body: { subUrl: null } });
    expect(res.status).toBe(200);
    expect(res.body.sub).toBeNull();
    const hls = await api(hub.baseUrl, 'POST', `/api/v1/cameras/${cameraId}/hls?stream=sub`, { token });
    expect(hls.status).toBe(400);
    expect(hls.body.error).toMatchObject({ code: 'validation_failed', details: { field: 'stream' } });
    await pollUntil('the sub stream ffmpeg to exit', async () => subStreams() === 0, 5000);
    expect(recorders()).toBe(1);
  });

  it('never writes the password to the logs', () => {
    expect(JSON.stringify(hub.logs)).not.toContain(PASSWORD);
  });

  /** The hub's ffmpeg processes that write segments (the recorder) and those that do not (sub stream). */
  function recorders(): number {
    return childCommandLines(hub.proc.pid!, 'ffmpeg').filter((argv) => argv.includes('segment')).length;
  }
  function subStreams(): number {
    return childCommandLines(hub.proc.pid!, 'ffmpeg').filter((argv) => !argv.includes('segment')).length;
  }
});
