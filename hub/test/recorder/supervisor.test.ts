import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, type BusEvents } from '../../src/core/bus.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { CameraRecorder, DEFAULT_START_GRACE_MS } from '../../src/recorder/camera-recorder.ts';
import { RecorderService } from '../../src/recorder/service.ts';
import { LiveStream } from '../../src/recorder/live.ts';
import { startsWithKeyframe } from '../../src/recorder/fmp4.ts';
import { parseByteRange } from '../../src/recorder/byte-range.ts';
import { maskUrl, redact } from '../../src/recorder/url.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/temp.ts';

const log = createLogger({ level: 'silent' });
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDirFor(): string {
  const tmp = tempDir();
  cleanups.push(tmp.cleanup);
  return tmp.dir;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!check()) throw new Error('condition not reached');
}

describe('camera URLs', () => {
  it('masks the password and removes it from any text', () => {
    const url = 'rtsp://admin:p%40ss@10.0.0.5:554/stream1';
    expect(maskUrl(url)).toBe('rtsp://admin:***@10.0.0.5:554/stream1');
    expect(maskUrl('rtsp://10.0.0.5/s')).toBe('rtsp://10.0.0.5/s');
    const text = redact(`Input from '${url}': 401 for p@ss`, url);
    expect(text).not.toContain('p%40ss');
    expect(text).not.toContain('p@ss');
  });
});

describe('CameraRecorder', () => {
  it('copies the stream into segments and never encodes', () => {
    const recorder = new CameraRecorder({
      cameraId: 'cam_1',
      url: 'rtsp://127.0.0.1:1/cam',
      dir: '/tmp/x',
      segmentSeconds: 4,
      clock: new ManualClock(),
      log,
      backoffInitialMs: 1000,
      backoffMaxMs: 4000,
      onSegment: () => {},
      onAvailability: () => {},
    });
    const args = recorder.args('123');
    expect(args.join(' ')).toContain(
      '-map 0:v:0 -c copy -f segment -segment_time 4 -reset_timestamps 1 -segment_format mp4',
    );
    // The URL is not on the command line: ffmpeg reads it from fd 4.
    expect(args.join(' ')).toContain('-f concat -safe 0');
    expect(args.join(' ')).not.toContain('127.0.0.1');
    expect(args.some((a) => /^-(c:v|vcodec|codec:v)$/.test(a) || /lib(x26|vpx)/.test(a))).toBe(false);
  });

  it('treats an ffmpeg that cannot start like one that exited: unavailable, retried, stoppable', async () => {
    const clock = new ManualClock();
    const availability: [boolean, string][] = [];
    const recorder = new CameraRecorder({
      cameraId: 'cam_1',
      url: 'rtsp://127.0.0.1:1/cam',
      dir: join(tempDirFor(), 'rec'),
      segmentSeconds: 2,
      clock,
      log,
      backoffInitialMs: 1000,
      backoffMaxMs: 4000,
      ffmpeg: '/nonexistent/ffmpeg',
      onSegment: () => {},
      onAvailability: (a, reason) => availability.push([a, reason]),
    });
    recorder.start();
    await until(() => availability.length === 1);
    expect(availability).toEqual([[false, 'ffmpeg_exited']]);
    clock.advance(1000); // the retry fails the same way
    await new Promise((resolve) => setTimeout(resolve, 50));
    await recorder.stop();
  });

  it('notices a stall, marks the camera unavailable and restarts ffmpeg with growing back-off', async () => {
    // A stand-in ffmpeg that connects nowhere and never closes a segment: a stalled camera.
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const runs = join(tmp.dir, 'runs');
    const fake = join(tmp.dir, 'ffmpeg');
    writeFileSync(fake, `#!/bin/sh\necho run >> ${runs}\nexec sleep 60\n`);
    chmodSync(fake, 0o755);
    const clock = new ManualClock();
    const availability: [boolean, string][] = [];
    const recorder = new CameraRecorder({
      cameraId: 'cam_1',
      url: 'rtsp://127.0.0.1:1/cam',
      dir: join(tmp.dir, 'rec'),
      segmentSeconds: 2,
      clock,
      log,
      backoffInitialMs: 1000,
      backoffMaxMs: 4000,
      startGraceMs: 500,
      ffmpeg: fake,
      onSegment: () => {},
      onAvailability: (a, reason) => availability.push([a, reason]),
    });
    cleanups.push(() => recorder.stop());
    const count = () => (existsSync(runs) ? readFileSync(runs, 'utf8').split('\n').filter(Boolean).length : 0);
    recorder.start();
    await until(() => count() === 1);

    // A run's first segment gets the start grace on top of twice the segment time.
    clock.advance(4000 + 500 - 1);
    expect(availability).toEqual([]);
    clock.advance(1);
    expect(availability).toEqual([[false, 'stalled']]);
    expect(recorder.available).toBe(false);

    // The killed ffmpeg is restarted after 1 s, then 2 s, then 4 s (capped), never flapping the
    // availability while the camera stays silent. After each stall only the restart timer waits.
    for (const [backoff, run] of [
      [1000, 2],
      [2000, 3],
      [4000, 4],
      [4000, 5],
    ] as const) {
      if (run > 2) clock.advance(4500); // this run stalls too
      await until(() => clock.pendingTimers() === 1); // ffmpeg gone, restart scheduled
      clock.advance(backoff - 1);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(count()).toBe(run - 1);
      clock.advance(1);
      await until(() => count() === run);
    }
    expect(availability).toEqual([[false, 'stalled']]);
  });
});

describe('RecorderService.reconcile', () => {
  it('drops rows without files, files without rows and directories of removed cameras', () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const store = Store.open(tmp.dir);
    cleanups.push(() => store.close());
    const bus = new EventBus(log);
    const service = new RecorderService({ store, bus, clock: new ManualClock(), log, dataDir: tmp.dir });
    service.repo.insertCamera({
      id: 'cam_a',
      name: 'A',
      url: 'rtsp://127.0.0.1:1/a',
      codec: 'h264',
      width: 320,
      height: 240,
      fps: 10,
      createdAt: 1,
      mode: 'continuous',
      settings: '{}',
    });
    const dir = join(service.root, 'cam_a');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '1-00000.mp4'), 'kept');
    service.repo.insertSegment({ cameraId: 'cam_a', startAt: 1000, endAt: 3000, bytes: 4, path: 'cam_a/1-00000.mp4' });
    service.repo.insertSegment({ cameraId: 'cam_a', startAt: 3000, endAt: 5000, bytes: 4, path: 'cam_a/1-00001.mp4' }); // file lost
    writeFileSync(join(dir, '2-00000.mp4'), 'never closed by a killed hub');
    mkdirSync(join(service.root, 'cam_gone'), { recursive: true });
    writeFileSync(join(service.root, 'cam_gone', '1-00000.mp4'), 'x');

    expect(service.reconcile()).toMatchObject({ rowsDropped: 1, filesRemoved: 2 });
    expect(service.repo.segments('cam_a', 0, 10_000).map((s) => s.path)).toEqual(['cam_a/1-00000.mp4']);
    expect(existsSync(join(dir, '1-00000.mp4'))).toBe(true);
    expect(existsSync(join(dir, '2-00000.mp4'))).toBe(false);
    expect(existsSync(join(service.root, 'cam_gone'))).toBe(false);
    expect(service.reconcile()).toMatchObject({ rowsDropped: 0, filesRemoved: 0 });
  });

  it('puts a stalled camera on the bus as recording.event camera_unavailable and on its timeline', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const fake = join(tmp.dir, 'ffmpeg');
    writeFileSync(fake, '#!/bin/sh\nexec sleep 60\n');
    chmodSync(fake, 0o755);
    const store = Store.open(tmp.dir);
    cleanups.push(() => store.close());
    const bus = new EventBus(log);
    const events: BusEvents['recording.event'][] = [];
    bus.on('test', 'recording.event', (e) => {
      events.push(e);
    });
    const clock = new ManualClock();
    const service = new RecorderService({
      store,
      bus,
      clock,
      log,
      dataDir: tmp.dir,
      ffmpeg: fake,
      config: { segmentSeconds: 3 },
    });
    service.repo.insertCamera({
      id: 'cam_a',
      name: 'A',
      url: 'rtsp://u:pw@127.0.0.1:1/a',
      codec: 'h264',
      width: 320,
      height: 240,
      fps: 10,
      createdAt: 1,
      mode: 'continuous',
      settings: '{}',
    });
    await service.start();
    cleanups.push(() => service.stop());
    clock.advance(6000 + DEFAULT_START_GRACE_MS);
    expect(events).toEqual([{ cameraId: 'cam_a', kind: 'camera_unavailable', at: clock.now() }]);
    expect(service.get('cam_a').available).toBe(false);
    expect(service.recordings('cam_a', 0, clock.now() + 1).events).toEqual([
      { at: new Date(clock.now()).toISOString(), kind: 'camera_unavailable', details: { reason: 'stalled' } },
    ]);
  });
});

describe('recordings on their own volume (recorder.dir)', () => {
  it('writes segments under the configured directory, nothing under DATA/recordings', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    // An ffmpeg stand-in that closes one segment at the path the recorder asked for, prints it
    // on its segment list (stdout) like ffmpeg, then stays up.
    const fake = join(tmp.dir, 'ffmpeg');
    writeFileSync(
      fake,
      '#!/bin/sh\nfor a in "$@"; do case "$a" in *-%05d.mp4) pat="$a";; esac; done\n' +
        'f=$(printf "$pat" 0)\nprintf segment-bytes > "$f"\n' +
        'echo "$(basename "$f"),0.000,4.000"\nexec sleep 60\n',
    );
    chmodSync(fake, 0o755);
    const store = Store.open(tmp.dir);
    cleanups.push(() => store.close());
    const volume = join(tmp.dir, 'usb-disk', 'hearth-recordings');
    const service = new RecorderService({
      store,
      bus: new EventBus(log),
      clock: new ManualClock(Date.UTC(2026, 0, 20)),
      log,
      dataDir: tmp.dir,
      recordingsDir: volume,
      ffmpeg: fake,
    });
    service.repo.insertCamera({
      id: 'cam_a',
      name: 'A',
      url: 'rtsp://u:pw@127.0.0.1:1/a',
      codec: 'h264',
      width: 320,
      height: 240,
      fps: 10,
      createdAt: 1,
      mode: 'continuous',
      settings: '{}',
    });
    await service.start();
    cleanups.push(() => service.stop());
    const until = Date.now() + 20_000;
    const files = () =>
      existsSync(volume)
        ? (readdirSync(volume, { recursive: true }) as string[]).filter((f) => f.endsWith('.mp4'))
        : [];
    while (files().length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(files()).toHaveLength(1);
    expect(files()[0]).toMatch(/^cam_a\/\d{4}-\d{2}-\d{2}\/\d+-00000\.mp4$/);
    expect(readFileSync(join(volume, files()[0]!), 'utf8')).toBe('segment-bytes');
    expect(existsSync(join(tmp.dir, 'recordings'))).toBe(false);
  });
});

describe('RecorderService.maintain', () => {
  function setup(config: Record<string, number>, freeBytes = () => 1e15, settings = '{}') {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const store = Store.open(tmp.dir);
    cleanups.push(() => store.close());
    const clock = new ManualClock(Date.UTC(2026, 0, 20));
    const bus = new EventBus(log);
    // An ffmpeg that cannot start: a camera that resumes recording only retries on the manual clock.
    const service = new RecorderService({
      store,
      bus,
      clock,
      log,
      dataDir: tmp.dir,
      freeBytes,
      config,
      ffmpeg: '/nonexistent/ffmpeg',
    });
    mkdirSync(service.root, { recursive: true });
    for (const id of ['cam_a', 'cam_b']) {
      service.repo.insertCamera({
        id,
        name: id,
        url: 'rtsp://127.0.0.1:1/x',
        codec: 'h264',
        width: 320,
        height: 240,
        fps: 10,
        createdAt: 1,
        mode: 'continuous',
        settings,
      });
      mkdirSync(join(service.root, id));
    }
    /** A 100-byte segment file and its row, ending `ageMs` before now; `event` puts it in a clip. */
    const segment = (cameraId: string, name: string, ageMs: number, event = false) => {
      writeFileSync(join(service.root, cameraId, name), Buffer.alloc(100));
      const startAt = clock.now() - ageMs - 4000;
      service.repo.insertSegment({
        cameraId,
        startAt,
        endAt: clock.now() - ageMs,
        bytes: 100,
        path: `${cameraId}/${name}`,
      });
      if (event) service.repo.markEventSegments(cameraId, startAt, clock.now() - ageMs);
    };
    const left = () => service.repo.oldestSegments(1000).map((s) => s.path);
    return { service, segment, left, clock, bus };
  }

  it('removes segments past the retention, files and rows', () => {
    const { service, segment, left } = setup({}, undefined, JSON.stringify({ continuousDays: 7 }));
    segment('cam_a', 'old.mp4', 8 * 86_400_000);
    segment('cam_b', 'old.mp4', 7 * 86_400_000 + 1);
    segment('cam_a', 'new.mp4', 6 * 86_400_000);
    expect(service.maintain()).toEqual({ expired: 2, evicted: 0 });
    expect(left()).toEqual(['cam_a/new.mp4']);
    expect(existsSync(join(service.root, 'cam_a', 'old.mp4'))).toBe(false);
    expect(existsSync(join(service.root, 'cam_b', 'old.mp4'))).toBe(false);
  });

  it('keeps event footage for its own retention, longer than continuous footage', () => {
    const { service, segment, left } = setup({}, undefined, JSON.stringify({ continuousDays: 2, eventDays: 10 }));
    segment('cam_b', 'continuous-3d.mp4', 3 * 86_400_000); // another camera: the clip below marks cam_a's overlapping footage
    segment('cam_a', 'event-3d.mp4', 3 * 86_400_000, true);
    segment('cam_a', 'event-11d.mp4', 11 * 86_400_000, true);
    expect(service.maintain()).toEqual({ expired: 2, evicted: 0 });
    expect(left()).toEqual(['cam_a/event-3d.mp4']);
  });

  it('spends the budget on continuous footage first, oldest first, and on event clips last', () => {
    const { service, segment, left } = setup({ budgetBytes: 300, minFreeBytes: 0 });
    segment('cam_a', 'event-old.mp4', 50_000, true);
    segment('cam_b', 'cont-1.mp4', 40_000);
    segment('cam_a', 'cont-2.mp4', 30_000);
    segment('cam_b', 'event-new.mp4', 20_000, true);
    segment('cam_a', 'cont-3.mp4', 10_000);
    expect(service.maintain()).toEqual({ expired: 0, evicted: 2 });
    expect(new Set(left())).toEqual(new Set(['cam_a/event-old.mp4', 'cam_b/event-new.mp4', 'cam_a/cont-3.mp4']));
    segment('cam_a', 'cont-4.mp4', 5_000);
    segment('cam_a', 'cont-5.mp4', 1_000);
    // Only one continuous segment may stay; then event clips go, the oldest first.
    service.maintain();
    expect(new Set(left())).toEqual(new Set(['cam_a/event-old.mp4', 'cam_b/event-new.mp4', 'cam_a/cont-5.mp4']));
    // Even the newest continuous segment goes before the oldest event clip.
    segment('cam_b', 'event-newest.mp4', 500, true);
    service.maintain();
    expect(new Set(left())).toEqual(new Set(['cam_a/event-old.mp4', 'cam_b/event-new.mp4', 'cam_b/event-newest.mp4']));
    segment('cam_b', 'event-last.mp4', 100, true);
    service.maintain();
    expect(new Set(left())).toEqual(new Set(['cam_b/event-new.mp4', 'cam_b/event-newest.mp4', 'cam_b/event-last.mp4']));
  });

  it('keeps under the byte budget by removing the oldest segments of any camera first', () => {
    const { service, segment, left } = setup({ budgetBytes: 250, minFreeBytes: 0 });
    segment('cam_a', '1.mp4', 50_000);
    segment('cam_b', '2.mp4', 40_000);
    segment('cam_a', '3.mp4', 30_000);
    segment('cam_b', '4.mp4', 20_000);
    segment('cam_a', '5.mp4', 10_000);
    expect(service.maintain()).toEqual({ expired: 0, evicted: 3 });
    expect(left()).toEqual(['cam_b/4.mp4', 'cam_a/5.mp4']);
    expect(service.repo.totalBytes()).toBe(200);
    expect(readdirSync(join(service.root, 'cam_a'))).toEqual(['5.mp4']);
  });

  it('keeps the free-space floor, counting what it freed', () => {
    const { service, segment, left } = setup({ minFreeBytes: 250 }, () => 50);
    segment('cam_a', '1.mp4', 30_000);
    segment('cam_a', '2.mp4', 20_000);
    segment('cam_a', '3.mp4', 10_000);
    expect(service.maintain()).toEqual({ expired: 0, evicted: 2 });
    expect(left()).toEqual(['cam_a/3.mp4']);
    expect(service.storageView().alert).toBeNull(); // the floor was reached by removing footage
  });

  it('keeps its running total of segment bytes equal to the rows', () => {
    const { service, segment } = setup({ budgetBytes: 0, minFreeBytes: 0 });
    expect(service.repo.totalBytes()).toBe(0); // from here on kept up to date, not summed
    segment('cam_a', '1.mp4', 3000);
    segment('cam_b', '2.mp4', 2000);
    segment('cam_a', '1.mp4', 3000); // the same file indexed twice counts once
    service.repo.deleteSegment(service.repo.oldestSegments(1)[0]!.id);
    expect(service.repo.totalBytes()).toBe(100);
    service.repo.deleteCamera('cam_b');
    expect(service.repo.totalBytes()).toBe(0);
  });

  it('at the floor with nothing left to remove, stops recording with an alert and resumes when space returns', async () => {
    let free = 10;
    const { service, segment, left, clock, bus } = setup({ minFreeBytes: 1000, segmentSeconds: 4 }, () => free);
    const events: BusEvents['recording.event'][] = [];
    bus.on('test', 'recording.event', (e) => {
      events.push(e);
    });
    service.repo.deleteCamera('cam_b');
    segment('cam_a', '1.mp4', 10_000);
    await service.start(); // maintain runs first: the floor is reached before any ffmpeg starts
    cleanups.push(() => service.stop());
    expect(left()).toEqual([]);
    expect(service.storageView().alert?.code).toBe('recorder_storage_full');
    expect(service.get('cam_a')).toMatchObject({ state: 'storage_full', alert: { code: 'recorder_storage_full' } });
    expect(events).toEqual([{ cameraId: 'cam_a', kind: 'storage_full', at: clock.now() }]);
    expect(service.recordings('cam_a', 0, clock.now() + 1).events.map((e) => e.kind)).toEqual(['storage_full']);
    expect(() => service.watch('cam_a', { send: () => true, close: () => {} })).toThrow(
      expect.objectContaining({ code: 'recorder_storage_full' }),
    );

    // Space returns (the floor plus the resume margin): found at the next check, one segment time later.
    free = 1000 + 1024 * 1024;
    clock.advance(4000);
    expect(service.storageView().alert).toBeNull();
    expect(events.map((e) => e.kind)).toEqual(['storage_full', 'storage_ok']);
    expect(service.get('cam_a').state).not.toBe('storage_full');
  });

  it('runs at start and then on its own every interval', async () => {
    const { service, segment, left, clock } = setup({ maintenanceIntervalMs: 60_000 });
    for (const id of ['cam_a', 'cam_b']) service.repo.deleteCamera(id);
    // Mode off: nothing to record, only to keep.
    service.repo.insertCamera({
      id: 'cam_a',
      name: 'a',
      url: 'rtsp://127.0.0.1:1/x',
      codec: 'h264',
      width: 320,
      height: 240,
      fps: 10,
      createdAt: 1,
      mode: 'off',
      settings: JSON.stringify({ continuousDays: 1 }),
    });
    segment('cam_a', 'expired.mp4', 86_400_000 + 1);
    segment('cam_a', 'due.mp4', 86_400_000 - 30_000);
    await service.start();
    cleanups.push(() => service.stop());
    expect(left()).toEqual(['cam_a/due.mp4']);
    clock.advance(60_000);
    expect(left()).toEqual([]);
  });
});

describe('LiveStream', () => {
  const box = (type: string, payload = 4) => {
    const b = Buffer.alloc(8 + payload, 7);
    b.writeUInt32BE(8 + payload, 0);
    b.write(type, 4, 'latin1');
    return b;
  };

  it('splits fMP4 at box boundaries whatever the chunking and sends init first, then moof+mdat', () => {
    const live = new LiveStream();
    const got: Buffer[] = [];
    live.add({
      send: (d) => {
        got.push(d);
        return true;
      },
      close: () => {},
    });
    const ftyp = box('ftyp');
    const moov = box('moov', 20);
    const moof = box('moof', 10);
    const mdat = box('mdat', 100);
    const stream = Buffer.concat([ftyp, moov, moof, mdat, moof, mdat]);
    for (let i = 0; i < stream.length; i += 7) live.push(stream.subarray(i, i + 7));
    expect(got).toEqual([Buffer.concat([ftyp, moov]), Buffer.concat([moof, mdat]), Buffer.concat([moof, mdat])]);

    // A viewer joining later gets the init segment at once; a too slow one is dropped.
    const late: Buffer[] = [];
    let closed = false;
    live.add({
      send: (d) => {
        late.push(d);
        return late.length < 2;
      },
      close: () => {
        closed = true;
      },
    });
    expect(late).toEqual([Buffer.concat([ftyp, moov])]);
    live.push(Buffer.concat([moof, mdat]));
    expect(closed).toBe(true);
    expect(live.viewers).toBe(1);
  });
});

describe('live keyframe gating', () => {
  /** A moof as ffmpeg writes it: tfhd with default (non-sync) flags, trun maybe with first-sample flags. */
  const moof = (firstSampleFlags?: number) => {
    const box = (type: string, body: Buffer) => {
      const header = Buffer.alloc(8);
      header.writeUInt32BE(8 + body.length, 0);
      header.write(type, 4, 'latin1');
      return Buffer.concat([header, body]);
    };
    const u32 = (...n: number[]) =>
      Buffer.concat(
        n.map((v) => {
          const b = Buffer.alloc(4);
          b.writeUInt32BE(v >>> 0, 0);
          return b;
        }),
      );
    const tfhd = box('tfhd', u32(0x020038, 1, 400, 1000, 0x01010000)); // duration, size, flags defaults
    const trun =
      firstSampleFlags === undefined
        ? box('trun', u32(0x000001, 1, 100))
        : box('trun', u32(0x000005, 1, 100, firstSampleFlags));
    return box('moof', Buffer.concat([box('mfhd', u32(0, 1)), box('traf', Buffer.concat([tfhd, trun]))]));
  };

  it('reads whether a fragment starts with a keyframe from its sample flags', () => {
    expect(startsWithKeyframe(moof(0x02000000))).toBe(true);
    expect(startsWithKeyframe(moof())).toBe(false); // the default flags say non-sync
  });

  it('starts a joining viewer at the next keyframe, then sends every fragment', () => {
    const live = new LiveStream();
    const mdat = Buffer.from([0, 0, 0, 9, 0x6d, 0x64, 0x61, 0x74, 1]);
    const init = Buffer.from([0, 0, 0, 8, 0x66, 0x74, 0x79, 0x70, 0, 0, 0, 8, 0x6d, 0x6f, 0x6f, 0x76]);
    live.push(init);
    const got: Buffer[] = [];
    live.add({
      send: (d) => {
        got.push(d);
        return true;
      },
      close: () => {},
    });
    const delta = Buffer.concat([moof(), mdat]);
    const key = Buffer.concat([moof(0x02000000), mdat]);
    for (const f of [delta, delta, key, delta]) live.push(f);
    expect(got).toEqual([init, key, delta]);
  });
});

describe('parseByteRange', () => {
  it('reads the forms players send and refuses ranges outside the file', () => {
    expect(parseByteRange(undefined, 1000)).toBeUndefined();
    expect(parseByteRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 });
    expect(parseByteRange('bytes=900-', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseByteRange('bytes=-100', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseByteRange('bytes=500-5000', 1000)).toEqual({ start: 500, end: 999 });
    for (const bad of ['bytes=1000-', 'bytes=-', 'items=0-1', 'bytes=5-2']) {
      expect(() => parseByteRange(bad, 1000)).toThrow(expect.objectContaining({ code: 'range_not_satisfiable' }));
    }
  });
});
