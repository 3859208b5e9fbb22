import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from '../../src/store/store.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { footageFiles } from '../helpers/footage.ts';
import { childCommandLines } from '../helpers/processes.ts';
import { probeFile, RtspCamera, rtspCameraUnavailable } from '../helpers/rtsp-camera.ts';
import { tempDir } from '../helpers/temp.ts';
import { pollUntil } from '../helpers/poll.ts';

// The real thing end to end: the hub process, ffmpeg, and GStreamer's RTSP server as the camera.
const unavailable = await rtspCameraUnavailable();
if (unavailable) console.warn(`SKIPPING recorder tests: ${unavailable}`);

const SEGMENT_S = 2;
const PASSWORD = 'S3cret-p@ss';

describe.skipIf(unavailable !== null)('recorder with a real RTSP camera', () => {
  const tmp = tempDir();
  const camera = new RtspCamera({ user: 'viewer', password: PASSWORD });
  let hub: HubProcess;
  let token: string;
  let cameraId: string;
  // No free-space floor: a nearly full CI disk must not make the recorder delete what we check.
  const env = {
    HEARTH_RECORDER_SEGMENT_S: String(SEGMENT_S),
    HEARTH_RECORDER_BACKOFF_MAX_MS: '1000',
    HEARTH_RECORDER_MIN_FREE_MB: '0',
  };

  beforeAll(async () => {
    await camera.start();
    hub = await startHub(tmp.dir, [], env);
    token = await setupOwner(hub);
  });

  afterAll(async () => {
    await hub?.stop();
    await camera.stop();
    tmp.cleanup();
  });

  it('refuses what it cannot record with a code', async () => {
    const notRtsp = await api(hub.baseUrl, 'POST', '/api/v1/cameras', {
      token,
      body: { name: 'x', url: 'http://127.0.0.1/cam' },
    });
    expect(notRtsp.status).toBe(400);
    expect(notRtsp.body.error.code).toBe('validation_failed');

    // Nothing listens on port 1.
    const nobody = await api(hub.baseUrl, 'POST', '/api/v1/cameras', {
      token,
      body: { name: 'x', url: 'rtsp://127.0.0.1:1/cam' },
    });
    expect(nobody.status).toBe(502);
    expect(nobody.body.error.code).toBe('camera_unreachable');

    const wrong = await api(hub.baseUrl, 'POST', '/api/v1/cameras', {
      token,
      body: { name: 'x', url: camera.url({ user: 'viewer', password: 'wrong-pw' }) },
    });
    expect(wrong.status).toBe(502);
    expect(wrong.body.error.code).toBe('camera_unreachable');
    expect(wrong.body.error.details.reason).toBe('unauthorized');
    expect(JSON.stringify(wrong.body)).not.toContain('wrong-pw');

    const vp8 = new RtspCamera({ codec: 'vp8' });
    await vp8.start();
    try {
      const unsupported = await api(hub.baseUrl, 'POST', '/api/v1/cameras', {
        token,
        body: { name: 'x', url: vp8.url() },
      });
      expect(unsupported.status).toBe(422);
      expect(unsupported.body.error).toMatchObject({
        code: 'camera_unsupported',
        details: { reason: 'codec', codec: 'vp8' },
      });
    } finally {
      await vp8.stop();
    }

    const list = await api(hub.baseUrl, 'GET', '/api/v1/cameras', { token });
    expect(list.body).toEqual([]);
  });

  it('adds a camera after probing it and never shows its password', async () => {
    const res = await api(hub.baseUrl, 'POST', '/api/v1/cameras', {
      token,
      body: { name: 'Porch', url: camera.url() },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'Porch', codec: 'h264', width: 320, height: 240, fps: 10 });
    expect(res.body.url).toBe(`rtsp://viewer:***@127.0.0.1:${camera.port}/cam`);
    cameraId = res.body.id;

    const one = await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}`, { token });
    const all = await api(hub.baseUrl, 'GET', '/api/v1/cameras', { token });
    const audit = await api(hub.baseUrl, 'GET', '/api/v1/audit', { token });
    expect(audit.body.entries.find((e: { action: string }) => e.action === 'camera.add')).toMatchObject({
      target: cameraId,
      details: { url: res.body.url },
    });
    for (const body of [res.body, one.body, all.body, audit.body]) {
      expect(JSON.stringify(body)).not.toContain(PASSWORD);
      expect(JSON.stringify(body)).not.toContain(encodeURIComponent(PASSWORD));
    }
  });

  it('records H.264 segments of about the segment time and indexes each one', async () => {
    const rec = await pollUntil('three segments', async () => {
      const r = await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/recordings`, { token });
      return r.body.segments.length >= 3 ? r.body : undefined;
    });
    const root = join(tmp.dir, 'recordings');
    // Closed segments are in the directory of the UTC day they started; ffmpeg writes into incoming/.
    const files = footageFiles(root, cameraId);
    expect(files.length).toBeGreaterThanOrEqual(rec.segments.length);
    for (const file of files) {
      expect(file).toMatch(new RegExp(`^${cameraId}/\\d{4}-\\d\\d-\\d\\d/\\d+-\\d{5}\\.mp4$`));
      const info = probeFile(join(root, file));
      expect(info).toMatchObject({ codec: 'h264', width: 320, height: 240 });
      // Cuts land on keyframes (one a second), so a segment is the segment time ± a second.
      expect(info.duration).toBeGreaterThanOrEqual(SEGMENT_S - 1);
      expect(info.duration).toBeLessThanOrEqual(SEGMENT_S + 1.5);
    }
    for (const s of rec.segments) {
      expect(s.bytes).toBeGreaterThan(1000);
      const ms = Date.parse(s.end) - Date.parse(s.start);
      expect(ms).toBeGreaterThanOrEqual((SEGMENT_S - 1) * 1000);
      expect(ms).toBeLessThanOrEqual((SEGMENT_S + 1.5) * 1000);
    }
    const cam = await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}`, { token });
    expect(cam.body.available).toBe(true);
  });

  it("keeps the camera URL and its password off ffmpeg's command line", () => {
    const ffmpegs = childCommandLines(hub.proc.pid!, 'ffmpeg');
    expect(ffmpegs).toHaveLength(1);
    const argv = ffmpegs[0]!.join(' ');
    expect(argv).toContain('-i pipe:4');
    for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), `127.0.0.1:${camera.port}`])
      expect(argv).not.toContain(secret);
  });

  it('plays a range back as one MP4 without re-encoding', async () => {
    const rec = (await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/recordings`, { token })).body;
    const segments = rec.segments.slice(0, 3);
    const from = Date.parse(segments[0].start);
    const to = Date.parse(segments[2].end);
    const res = await fetch(`${hub.baseUrl}/api/v1/cameras/${cameraId}/playback?from=${from}&to=${to}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    const file = join(tmp.dir, 'playback.mp4');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const info = probeFile(file);
    expect(info).toMatchObject({ codec: 'h264', width: 320, height: 240 });
    const expected = (to - from) / 1000;
    expect(info.duration).toBeGreaterThanOrEqual(expected - 1.5);
    expect(info.duration).toBeLessThanOrEqual(expected + 1.5);

    const empty = await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/playback?from=1000&to=2000`, { token });
    expect(empty.status).toBe(404);
    expect(empty.body.error.code).toBe('recording_not_found');
    const tooLong = await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/playback?from=0&to=${2 * 3_600_000}`, {
      token,
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.code).toBe('recording_range_too_large');
  });

  it('makes playback seekable: Range requests get 206 with the bytes asked for', async () => {
    const rec = (await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/recordings`, { token })).body;
    const from = Date.parse(rec.segments[0].start);
    const to = Date.parse(rec.segments[2].end);
    const url = `${hub.baseUrl}/api/v1/cameras/${cameraId}/playback?from=${from}&to=${to}`;
    const headers = { authorization: `Bearer ${token}` };
    const whole = Buffer.from(await (await fetch(url, { headers })).arrayBuffer());
    // faststart: the index (moov) comes before the media (mdat), so a player can seek at once.
    const top: string[] = [];
    for (let at = 0; at < whole.length; at += whole.readUInt32BE(at))
      top.push(whole.toString('latin1', at + 4, at + 8));
    expect(top.indexOf('moov')).toBeLessThan(top.indexOf('mdat'));

    const part = await fetch(url, { headers: { ...headers, range: 'bytes=100-1099' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-1099/${whole.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(whole.subarray(100, 1100));
    const tail = await fetch(url, { headers: { ...headers, range: 'bytes=-500' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(whole.subarray(whole.length - 500));
    const outside = await fetch(url, { headers: { ...headers, range: `bytes=${whole.length}-` } });
    expect(outside.status).toBe(416);
    expect(((await outside.json()) as { error: { code: string } }).error.code).toBe('range_not_satisfiable');
  });

  it('exports a clip as an MP4 download, stream-copied', async () => {
    const rec = (await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/recordings`, { token })).body;
    const from = Date.parse(rec.segments[1].start);
    const to = Date.parse(rec.segments[2].end);
    const res = await fetch(
      `${hub.baseUrl}/api/v1/cameras/${cameraId}/clip?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="porch-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.mp4"$/,
    );
    const file = join(tmp.dir, 'export.mp4');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    expect(Number(res.headers.get('content-length'))).toBe(readFileSync(file).length);
    const info = probeFile(file);
    expect(info).toMatchObject({ codec: 'h264', width: 320, height: 240 });
    expect(info.duration).toBeGreaterThanOrEqual((to - from) / 1000 - 1.5);
    expect(info.duration).toBeLessThanOrEqual((to - from) / 1000 + 1.5);
  });

  it('serves a JPEG snapshot of the newest recorded picture', async () => {
    const res = await fetch(`${hub.baseUrl}/api/v1/cameras/${cameraId}/snapshot`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const file = join(tmp.dir, 'snapshot.jpg');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    expect(probeFile(file)).toMatchObject({ codec: 'mjpeg', width: 320, height: 240 });
  });

  it('streams live fragmented MP4 over a WebSocket: init segment, then moof+mdat fragments', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${hub.http}/api/v1/cameras/${cameraId}/live?token=${token}`);
    const messages: Buffer[] = [];
    ws.on('message', (data: Buffer) => messages.push(Buffer.from(data)));
    await pollUntil('init and three fragments', async () => messages.length >= 4, 20_000).finally(() => ws.close());
    const boxType = (b: Buffer, at = 0) => b.toString('latin1', at + 4, at + 8);
    expect(boxType(messages[0]!)).toBe('ftyp');
    expect(boxType(messages[0]!, messages[0]!.readUInt32BE(0))).toBe('moov');
    for (const fragment of messages.slice(1)) {
      expect(boxType(fragment)).toBe('moof');
      expect(boxType(fragment, fragment.readUInt32BE(0))).toBe('mdat');
    }
    const file = join(tmp.dir, 'live.mp4');
    writeFileSync(file, Buffer.concat(messages));
    expect(probeFile(file)).toMatchObject({ codec: 'h264', width: 320, height: 240 });
    // A viewer's first picture is a keyframe, whenever it joined (a decoder cannot start elsewhere).
    const first = join(tmp.dir, 'live-first.mp4');
    writeFileSync(first, Buffer.concat(messages.slice(0, 2)));
    const frames = spawnSync(
      'ffprobe',
      ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame', '-of', 'csv=p=0', first],
      { encoding: 'utf8' },
    );
    expect(frames.stdout.trim().split('\n')[0]).toBe('1');
  });

  it('serves HLS as the fallback: a session gets a ticket, ffprobe plays the playlist over HTTP', async () => {
    const anonymous = await api(hub.baseUrl, 'POST', `/api/v1/cameras/${cameraId}/hls`, {});
    expect(anonymous.status).toBe(401);
    const grant = await api(hub.baseUrl, 'POST', `/api/v1/cameras/${cameraId}/hls`, { token });
    expect(grant.status).toBe(201);
    const playlistUrl = `${hub.baseUrl}${grant.body.playlist}`;
    const playlist = await fetch(playlistUrl);
    expect(playlist.status).toBe(200);
    expect(playlist.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    const text = await playlist.text();
    expect(text).toContain('#EXT-X-MAP:URI="init.mp4"');
    expect(text.match(/#EXTINF:/g)!.length).toBeGreaterThanOrEqual(2);
    // A real HLS client end to end: playlist, init segment and media segments over HTTP.
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
        playlistUrl,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    // (the HLS demuxer lists the stream under its program too: every line is the same stream)
    expect(new Set(probe.stdout.trim().split('\n').filter(Boolean))).toEqual(new Set(['h264,320,240']));

    const forged = await api(hub.baseUrl, 'GET', grant.body.playlist.replace(/hls\/[^/]+\//, 'hls/not-a-ticket/'));
    expect(forged.status).toBe(401);
    expect(forged.body.error.code).toBe('unauthorized');
    const gone = await api(hub.baseUrl, 'GET', grant.body.playlist.replace('index.m3u8', 'seg-999999.m4s'));
    expect(gone.status).toBe(404);
  });

  it('refuses a live viewer without a token', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${hub.http}/api/v1/cameras/${cameraId}/live`);
    const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    expect(code).toBe(4401);
  });

  it('marks the camera unavailable when it goes away and recovers when it comes back', async () => {
    await camera.stop();
    await pollUntil('camera unavailable', async () => {
      const r = await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}`, { token });
      return r.body.available === false;
    });
    const lostAt = Date.now();
    await camera.start(); // same port
    await pollUntil('camera available again', async () => {
      const r = await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}`, { token });
      return r.body.available === true;
    });
    const rec = (await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/recordings`, { token })).body;
    const kinds = rec.events.map((e: { kind: string }) => e.kind);
    expect(kinds).toEqual(['camera_available', 'camera_unavailable', 'camera_available']);
    // Recording resumed: a segment that started after the camera was lost.
    expect(rec.segments.some((s: { start: string }) => Date.parse(s.start) > lostAt - SEGMENT_S * 1000)).toBe(true);
  });

  it('never writes the password to the logs', () => {
    const logs = JSON.stringify(hub.logs);
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toContain(encodeURIComponent(PASSWORD));
  });

  it('closes the open segment on a clean stop, so every file is in the index', async () => {
    await hub.stop();
    // Nothing left in incoming/, every file in the index (playback exports are not footage).
    expect(footageFiles(join(tmp.dir, 'recordings'), cameraId, true)).toEqual(indexedPaths());
    hub = await startHub(tmp.dir, [], env);
    token = await login();
  });

  it('survives a killed hub: its ffmpeg goes, recording resumes, no orphan file and no dangling row', async () => {
    const dir = join(tmp.dir, 'recordings', cameraId);
    const before = (await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/recordings?from=0`, { token })).body
      .segments.length;
    await hub.kill9();
    // Its ffmpeg dies with it (parent-death signal), or it would go on recording beside the next.
    await pollUntil("the dead hub's ffmpeg to exit", async () => ffmpegsWriting(dir) === 0, 5000);
    // What the killed ffmpeg was writing is in incoming/; add a stray file there and in today's day.
    const strays = [
      join(dir, 'incoming', '1-00001.mp4'),
      join(dir, new Date().toISOString().slice(0, 10), '1-00002.mp4'),
    ];
    for (const f of strays) writeFileSync(f, 'half a segment');

    hub = await startHub(tmp.dir, [], env);
    token = await login();
    for (const f of strays) expect(existsSync(f)).toBe(false);
    const rec = await pollUntil('recording to resume', async () => {
      const r = await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/recordings?from=0`, { token });
      return r.body.segments.length >= before + 2 ? r.body : undefined;
    });
    expect(rec.segments.length).toBeGreaterThan(0);
    // The index and the files agree while it records: every row read before listing the files
    // has its file, and every file has a row by the time the listing is done.
    const rowsBefore = indexedPaths();
    const files = footageFiles(join(tmp.dir, 'recordings'), cameraId);
    const rowsAfter = indexedPaths();
    expect(files).toEqual(expect.arrayContaining(rowsBefore));
    expect(rowsAfter).toEqual(expect.arrayContaining(files));
    expect(ffmpegsWriting(dir)).toBe(1);
  });

  it('removes a camera with its recordings', async () => {
    const t = token;
    const res = await api(hub.baseUrl, 'DELETE', `/api/v1/cameras/${cameraId}`, { token: t });
    expect(res.status).toBe(204);
    expect(existsSync(join(tmp.dir, 'recordings', cameraId))).toBe(false);
    const gone = await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}`, { token: t });
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('camera_not_found');
  });

  /** The camera's segment rows as the database file has them. */
  function indexedPaths(): string[] {
    const db = new Database(join(tmp.dir, DATABASE_FILE), { readonly: true });
    try {
      return (db.prepare('SELECT path FROM camera_segments WHERE camera_id = ?').all(cameraId) as { path: string }[])
        .map((r) => r.path)
        .sort();
    } finally {
      db.close();
    }
  }

  /** ffmpeg processes whose command line writes into `dir`. */
  function ffmpegsWriting(dir: string): number {
    let n = 0;
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        if (cmd[0]?.endsWith('ffmpeg') && cmd.some((a) => a.startsWith(dir))) n++;
      } catch {
        /* gone meanwhile */
      }
    }
    return n;
  }

  async function login(): Promise<string> {
    const res = await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
      body: { username: 'owner', password: 'correct horse battery' },
    });
    return res.body.accessToken as string;
  }
});
