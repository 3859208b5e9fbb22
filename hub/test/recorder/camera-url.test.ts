import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/core/bus.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { isHubError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import { CameraRecorder } from '../../src/recorder/camera-recorder.ts';
import { RecorderService } from '../../src/recorder/service.ts';
import { Store } from '../../src/store/store.ts';
import { ffconcatQuote } from '../../src/recorder/ffconcat.ts';
import { cameraInputList } from '../../src/recorder/ffmpeg-process.ts';
import { maskUrl, parseCameraUrl, redact } from '../../src/recorder/url.ts';
import { tempDir } from '../helpers/temp.ts';

// Camera URLs carry credentials in many shapes; every one must be masked by the one function
// the API, the audit log and the logs use, and no URL may smuggle lines into ffmpeg's lists.

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return isHubError(err) ? `${err.code}:${String(err.details?.rule)}` : 'not a HubError';
  }
};

describe('masking camera URL credentials', () => {
  const forms: [string, string, string][] = [
    // [url, masked, the secret]
    ['rtsp://admin:S3cret@10.0.0.5:554/stream1', 'rtsp://admin:***@10.0.0.5:554/stream1', 'S3cret'],
    ['rtsp://admin:p@ss@10.0.0.5/s', 'rtsp://admin:***@10.0.0.5/s', 'p@ss'],
    [
      'rtsp://10.0.0.5:554/cam/realmonitor?channel=1&subtype=0&user=admin&password=Qu3ry-pw',
      'rtsp://10.0.0.5:554/cam/realmonitor?channel=1&subtype=0&user=admin&password=***',
      'Qu3ry-pw',
    ],
    [
      'rtsp://10.0.0.5/live?user=admin&pwd=Pwd-secret&ch=2',
      'rtsp://10.0.0.5/live?user=admin&pwd=***&ch=2',
      'Pwd-secret',
    ],
    [
      'rtsp://10.0.0.5/live.sdp?usr=admin&pass=Pass-secret',
      'rtsp://10.0.0.5/live.sdp?usr=admin&pass=***',
      'Pass-secret',
    ],
    [
      'rtsp://10.0.0.5/live?USER=admin&PassWord=Caps-secret',
      'rtsp://10.0.0.5/live?USER=admin&PassWord=***',
      'Caps-secret',
    ],
    ['rtsp://10.0.0.5/live?%70assword=Enc-secret', 'rtsp://10.0.0.5/live?%70assword=***', 'Enc-secret'],
    // XMEye: the credentials are path parameters joined by underscores.
    [
      'rtsp://10.0.0.5:554/user=admin_password=tlJwpbo6_channel=1_stream=0.sdp?real_stream',
      'rtsp://10.0.0.5:554/user=admin_password=***_channel=1_stream=0.sdp?real_stream',
      'tlJwpbo6',
    ],
    ['rtsp://10.0.0.5/cam;password=Semi-secret', 'rtsp://10.0.0.5/cam;password=***', 'Semi-secret'],
    ['rtsp://u:Both-secret@10.0.0.5/live?pwd=Both2-secret', 'rtsp://u:***@10.0.0.5/live?pwd=***', 'Both2-secret'],
  ];

  it.each(forms)('%s', (url, masked, secret) => {
    expect(maskUrl(url)).toBe(masked);
    expect(maskUrl(url)).not.toContain(secret);
    // An ffmpeg error line quoting the URL, or the password alone, loses it too.
    const line = redact(`[rtsp] could not open '${url}': 401 for ${secret} (${encodeURIComponent(secret)})`, url);
    expect(line).not.toContain(secret);
    expect(line).not.toContain(encodeURIComponent(secret));
  });

  it('leaves URLs without secrets as they are', () => {
    for (const url of [
      'rtsp://10.0.0.5/s',
      'rtsp://admin@10.0.0.5:554/h264?channel=1&subtype=0',
      'rtsps://cam.local/stream',
    ])
      expect(maskUrl(url)).toBe(url);
  });
});

describe('control characters in camera URLs', () => {
  it('refuses them with validation_failed (rule control_characters), whatever the URL parser would strip', () => {
    for (const bad of [
      "rtsp://10.0.0.5/cam\nfile '/etc/passwd'",
      'rtsp://10.0.0.5/cam\rfile tcp:10.0.0.9:80',
      'rtsp://10.0.0.5/c\tam',
      'rtsp://10.0.0.5/cam\u0000',
      'rtsp://10.0.0.5/cam\u2028x',
      'rtsp://10.0.0.5/cam\u0085',
    ]) {
      expect(codeOf(() => parseCameraUrl(bad))).toBe('validation_failed:control_characters');
      // The input list refuses them too: a stored URL can never become two entries.
      expect(codeOf(() => cameraInputList(bad))).toBe('validation_failed:control_characters');
    }
    expect(codeOf(() => parseCameraUrl('rtsp://10.0.0.5/cam'))).toBeUndefined();
  });

  it('a URL stored before the check (a line break in the row) starts an ffmpeg with an empty list: unavailable, no crash', async () => {
    const tmp = tempDir();
    const availability: [boolean, string][] = [];
    const recorder = new CameraRecorder({
      cameraId: 'cam_old',
      url: "rtsp://127.0.0.1:1/cam\nfile '/etc/hostname'",
      dir: join(tmp.dir, 'rec'),
      segmentSeconds: 2,
      clock: new ManualClock(),
      log: createLogger({ level: 'silent' }),
      backoffInitialMs: 1000,
      backoffMaxMs: 4000,
      onSegment: () => {},
      onAvailability: (a, reason) => availability.push([a, reason]),
    });
    recorder.start();
    for (let i = 0; i < 500 && availability.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await recorder.stop();
    tmp.cleanup();
    expect(availability).toEqual([[false, 'ffmpeg_exited']]);
  });

  describe('the ffconcat quoting, read back by real ffmpeg', () => {
    const tmp = tempDir();
    afterAll(() => tmp.cleanup());

    it('names exactly the file it quotes, quotes and spaces included, and nothing else', () => {
      // A real clip whose name holds the characters that matter to the list syntax.
      const clip = join(tmp.dir, "it's a # clip 'x'.mp4");
      const made = spawnSync('ffmpeg', [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc=size=64x48:rate=5:duration=1',
        '-c:v',
        'mpeg4',
        clip,
      ]);
      expect(made.status).toBe(0);
      const list = join(tmp.dir, 'list.ffconcat');
      writeFileSync(list, `ffconcat version 1.0\nfile ${ffconcatQuote(clip)}\n`);
      const probe = spawnSync(
        'ffprobe',
        [
          '-v',
          'error',
          '-f',
          'concat',
          '-safe',
          '0',
          '-show_entries',
          'format=nb_streams:stream=codec_name,width',
          '-of',
          'csv=p=0',
          list,
        ],
        { encoding: 'utf8' },
      );
      expect(probe.status).toBe(0);
      expect(probe.stdout.trim().split('\n')).toEqual(['mpeg4,64', '1']);
      expect(() => ffconcatQuote(`${clip}\nfile /etc/hostname`)).toThrow();
    });
  });
});

describe('audit rows written before every credential form was masked', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('are masked once at start, user names and hosts kept', async () => {
    const log = createLogger({ level: 'silent' });
    const store = Store.open(tmp.dir);
    const url = 'rtsp://10.0.0.5:554/user=admin_password=Old-secret_channel=1_stream=0.sdp';
    const subUrl = 'rtsp://10.0.0.5/sub?user=admin&pwd=Old-sub-secret';
    const actor = { kind: 'user' as const, userId: 'usr_o', username: 'owner', role: 'owner' as const };
    store.audit.insert({ actor, action: 'camera.add', target: 'cam_1', details: { name: 'Gate', url, subUrl }, at: 1 });
    store.audit.insert({ actor, action: 'camera.update', target: 'cam_1', details: { name: 'Gate', subUrl }, at: 2 });
    store.audit.insert({ actor, action: 'user.add', target: 'usr_x', details: { url: 'not a camera' }, at: 3 });
    for (let run = 0; run < 2; run++) {
      const service = new RecorderService({
        store,
        bus: new EventBus(log),
        clock: new ManualClock(),
        log,
        dataDir: tmp.dir,
      });
      await service.start();
      await service.stop();
    }
    const rows = store.audit.list(10);
    store.close();
    expect(JSON.stringify(rows)).not.toContain('Old-secret');
    expect(JSON.stringify(rows)).not.toContain('Old-sub-secret');
    expect(rows.find((r) => r.action === 'camera.add')!.details).toEqual({
      name: 'Gate',
      url: 'rtsp://10.0.0.5:554/user=admin_password=***_channel=1_stream=0.sdp',
      subUrl: 'rtsp://10.0.0.5/sub?user=admin&pwd=***',
    });
    expect(rows.find((r) => r.action === 'user.add')!.details).toEqual({ url: 'not a camera' });
  });
});
