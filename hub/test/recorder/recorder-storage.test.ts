import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, setupOwner } from '../helpers/http.ts';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { RtspCamera, rtspCameraUnavailable } from '../helpers/rtsp-camera.ts';
import { footageBytes } from '../helpers/footage.ts';
import { tempDir } from '../helpers/temp.ts';
import { mountTmpfs } from '../helpers/tmpfs.ts';
import { pollUntil } from '../helpers/poll.ts';

// Storage limits end to end: the real hub and ffmpeg recording a real RTSP camera onto a real
// file system (for the floor, a small tmpfs the test mounts, so "the disk is full" is real).
const unavailable = await rtspCameraUnavailable();
if (unavailable) console.warn(`SKIPPING recorder storage tests: ${unavailable}`);

const SEGMENT_S = 2;
const MB = 1024 * 1024;
const baseEnv = { HEARTH_RECORDER_SEGMENT_S: String(SEGMENT_S), HEARTH_RECORDER_BACKOFF_MAX_MS: '1000' };

const until = <T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000) =>
  pollUntil(what, check, timeoutMs, 100);

describe.skipIf(unavailable !== null)('recordings budget with a real camera', () => {
  const tmp = tempDir();
  const camera = new RtspCamera();
  let hub: HubProcess | undefined;

  beforeAll(async () => {
    await camera.start();
  });
  afterAll(async () => {
    await hub?.stop();
    await camera.stop();
    tmp.cleanup();
  });

  it('never goes over a budget of a few segments: the oldest footage is removed first', async () => {
    // First learn how big this camera's segments are, then give it room for five of them.
    hub = await startHub(tmp.dir, [], { ...baseEnv, HEARTH_RECORDER_MIN_FREE_MB: '0' });
    let token = await setupOwner(hub);
    const cameraId = (
      await api(hub.baseUrl, 'POST', '/api/v1/cameras', { token, body: { name: 'Yard', url: camera.url() } })
    ).body.id as string;
    const first = await until('four segments', async () => {
      const r = await api(hub!.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/recordings`, { token });
      return r.body.segments.length >= 4 ? (r.body.segments as { start: string; bytes: number }[]) : undefined;
    });
    await hub.stop();
    const budget = 5 * Math.max(...first.map((s) => s.bytes));

    hub = await startHub(tmp.dir, [], {
      ...baseEnv,
      HEARTH_RECORDER_MIN_FREE_MB: '0',
      HEARTH_RECORDER_BUDGET_MB: String(budget / MB),
    });
    token = (
      await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
        body: { username: 'owner', password: 'correct horse battery' },
      })
    ).body.accessToken;
    const dir = join(tmp.dir, 'recordings', cameraId);
    let most = 0;
    const startedAt = Date.now();
    // Seven segment times of recording, watching the directory all along.
    while (Date.now() - startedAt < 7 * SEGMENT_S * 1000) {
      most = Math.max(most, footageBytes(dirname(dir), basename(dir)));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(most).toBeLessThanOrEqual(budget);
    const rec = (await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/recordings?from=0`, { token })).body;
    // Still recording, and what went was the oldest: every segment from the first run is gone.
    expect(rec.segments.length).toBeGreaterThanOrEqual(2);
    expect(Date.parse(rec.segments[0].start)).toBeGreaterThan(Date.parse(first.at(-1)!.start));
    const storage = (await api(hub.baseUrl, 'GET', '/api/v1/cameras/storage', { token })).body;
    expect(storage).toMatchObject({ budgetBytes: Math.floor(budget), alert: null });
    expect(storage.usedBytes + storage.reservedBytes).toBeLessThanOrEqual(budget);
  }, 90_000);
});

const floorTmp = tempDir();
const volume = join(floorTmp.dir, 'volume');
const noTmpfs = unavailable ?? mountTmpfs(volume, 40);
if (noTmpfs && !unavailable) console.warn(`SKIPPING the free-space floor test: ${noTmpfs}`);
if (noTmpfs) floorTmp.cleanup();

describe.skipIf(noTmpfs !== null)('free-space floor on a small volume', () => {
  const camera = new RtspCamera();
  let hub: HubProcess;
  let token: string;
  const filler = join(volume, 'something-else.bin');

  beforeAll(async () => {
    await camera.start();
    hub = await startHub(join(volume, 'data'), [], { ...baseEnv, HEARTH_RECORDER_MIN_FREE_MB: '12' });
    token = await setupOwner(hub);
  });

  afterAll(async () => {
    await hub?.stop();
    await camera.stop();
    spawnSync('umount', [volume]);
    floorTmp.cleanup();
  });

  it('stops writing with an alert when something else fills the volume, and resumes when space returns', async () => {
    const cameraId = (
      await api(hub.baseUrl, 'POST', '/api/v1/cameras', { token, body: { name: 'Garage', url: camera.url() } })
    ).body.id as string;
    const cam = () => api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}`, { token });
    const recordings = async () =>
      (await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/recordings?from=0`, { token })).body;
    await until('recording', async () => (await recordings()).segments.length >= 2);
    // The alert also goes out live on the events socket (members watch cameras).
    const pushed: { type: string; kind?: string; cameraId?: string }[] = [];
    const events = new WebSocket(`ws://127.0.0.1:${hub.http}/api/v1/events?token=${token}`);
    events.on('message', (d: Buffer) => pushed.push(JSON.parse(d.toString())));
    await until('the events socket', async () => pushed.some((m) => m.type === 'ready'));

    // Another program leaves 6 MiB free, under the 12 MiB floor.
    const s = statfsSync(volume);
    writeFileSync(filler, Buffer.alloc(s.bavail * s.bsize - 6 * MB));
    const full = await until('the storage alert', async () => {
      const c = (await cam()).body;
      return c.state === 'storage_full' ? c : undefined;
    });
    expect(full.alert).toMatchObject({ code: 'recorder_storage_full' });
    expect(pushed).toContainEqual(expect.objectContaining({ type: 'recording.event', kind: 'storage_full', cameraId }));
    expect((await api(hub.baseUrl, 'GET', '/api/v1/cameras/storage', { token })).body.alert).toMatchObject({
      code: 'recorder_storage_full',
    });
    const dir = join(volume, 'data', 'recordings', cameraId);
    // It removed its own footage first (none is left), then stopped: nothing is written any more.
    await until('ffmpeg to stop writing', async () => ffmpegsWriting(dir) === 0, 10_000);
    const stopped = await recordings();
    expect(stopped.segments).toEqual([]);
    expect(stopped.events.find((e: { kind: string }) => e.kind === 'storage_full')).toMatchObject({
      details: { code: 'recorder_storage_full' },
    });
    await new Promise((resolve) => setTimeout(resolve, 2 * SEGMENT_S * 1000));
    expect(footageBytes(dirname(dir), basename(dir))).toBe(0);
    const snapshot = await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/snapshot`, { token });
    expect(snapshot.status).toBe(404); // nothing recorded to take a picture from

    rmSync(filler);
    await until(
      'recording to resume',
      async () => (await cam()).body.state === 'recording' && (await recordings()).segments.length > 0,
    );
    const after = await recordings();
    expect(after.events.map((e: { kind: string }) => e.kind)).toContain('storage_ok');
    expect((await cam()).body.alert).toBeNull();
    await until('storage_ok on the events socket', async () =>
      pushed.some((m) => m.type === 'recording.event' && m.kind === 'storage_ok'),
    );
    events.close();
  }, 90_000);

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
});
