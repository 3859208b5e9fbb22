import { existsSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from '../../src/store/store.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { pollUntil } from '../helpers/poll.ts';
import { childCommandLines } from '../helpers/processes.ts';
import { RtspCamera, rtspCameraUnavailable } from '../helpers/rtsp-camera.ts';
import { tempDir } from '../helpers/temp.ts';
import { mountTmpfs, unmount } from '../helpers/tmpfs.ts';

// What a member can do to the recorder with playback and exports, and what the camera URLs
// show: the real hub, real ffmpeg, GStreamer's RTSP server as the cameras.
const unavailable = await rtspCameraUnavailable();
if (unavailable) console.warn(`SKIPPING recorder export tests: ${unavailable}`);

const SEGMENT_S = 2;
const PER_USER = 2;
const TOTAL = 3;
const XM_SECRET = 'Xm3ye-Pa55';
const MEMBER_PASSWORD = 'member password 1';

describe.skipIf(unavailable !== null)('exports and camera URLs with a real camera', () => {
  const tmp = tempDir();
  const camera = new RtspCamera({ pattern: 'ball' });
  // An XMEye-style camera: the credentials are in the path, not in user:pass@.
  const xmeye = new RtspCamera({ path: `/user=admin_password=${XM_SECRET}_channel=1_stream=0.sdp` });
  let hub: HubProcess;
  let owner: string;
  let members: string[];
  let cameraId: string;
  let segments: { start: string; end: string }[];

  beforeAll(async () => {
    await camera.start();
    await xmeye.start();
    hub = await startHub(tmp.dir, [], {
      HEARTH_RECORDER_SEGMENT_S: String(SEGMENT_S),
      HEARTH_RECORDER_MIN_FREE_MB: '0',
      HEARTH_RECORDER_EXPORTS_PER_USER: String(PER_USER),
      HEARTH_RECORDER_EXPORTS_TOTAL: String(TOTAL),
    });
    owner = await setupOwner(hub);
    members = [];
    for (const name of ['mia', 'max']) {
      const made = await api(hub.baseUrl, 'POST', '/api/v1/users', {
        token: owner,
        body: { username: name, password: MEMBER_PASSWORD, role: 'member' },
      });
      expect(made.status).toBe(201);
      const login = await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
        body: { username: name, password: MEMBER_PASSWORD },
      });
      members.push(login.body.accessToken as string);
    }
    const added = await api(hub.baseUrl, 'POST', '/api/v1/cameras', {
      token: owner,
      body: { name: 'Drive', url: camera.url() },
    });
    expect(added.status).toBe(201);
    cameraId = added.body.id;
  });

  afterAll(async () => {
    await hub?.stop();
    await camera.stop();
    await xmeye.stop();
    tmp.cleanup();
  });

  it('records enough footage for many distinct ranges', async () => {
    segments = await pollUntil(
      'eight segments',
      async () => {
        const r = await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/recordings`, { token: members[0] });
        return r.body.segments.length >= 8 ? r.body.segments : undefined;
      },
      60_000,
    );
  }, 90_000);

  /** Distinct ranges (whole seconds) inside the recorded footage, never the same twice. */
  const used = new Set<string>();
  function freshRange(): { from: number; to: number } {
    const first = Math.ceil(Date.parse(segments[0]!.start) / 1000) * 1000;
    const last = Math.floor(Date.parse(segments.at(-1)!.end) / 1000) * 1000;
    for (let a = 0; first + a * 1000 < last - 4000; a++) {
      for (let b = 0; last - b * 1000 > first + a * 1000 + 3000; b++) {
        const key = `${a}/${b}`;
        if (used.has(key)) continue;
        used.add(key);
        return { from: first + a * 1000, to: last - b * 1000 };
      }
    }
    throw new Error('out of ranges');
  }

  const playback = (token: string, range: { from: number; to: number }, path = 'playback') =>
    fetch(`${hub.baseUrl}/api/v1/cameras/${cameraId}/${path}?from=${range.from}&to=${range.to}`, {
      headers: { authorization: `Bearer ${token}` },
    });

  /** A figure from /metrics (NaN when the hub has no such metric: every comparison fails). */
  async function metric(name: string, labels = ''): Promise<number> {
    const text = await (
      await fetch(`${hub.baseUrl}/metrics`, { headers: { authorization: `Bearer ${owner}` } })
    ).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
    return line ? Number(line.split(' ')[1]) : NaN;
  }

  /** Watches the hub's export ffmpegs (children writing `.export-` files, or others `mark` names) until stopped; the most at once. */
  function watchExportFfmpegs(mark = '.export-'): { stop: () => Promise<number> } {
    let most = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        const n = childCommandLines(hub.proc.pid!, 'ffmpeg').filter((argv) =>
          argv.some((a) => a.includes(mark)),
        ).length;
        most = Math.max(most, n);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        return most;
      },
    };
  }

  it(`twenty parallel exports by one member run at most ${PER_USER} ffmpegs; the rest get 429 too_many_exports`, async () => {
    const runsBefore = await metric('hearth_recorder_export_runs_total');
    const watch = watchExportFfmpegs();
    const answers = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const res = await playback(members[0]!, freshRange(), i % 2 ? 'clip' : 'playback');
        const body = res.headers.get('content-type')?.startsWith('application/json')
          ? ((await res.json()) as { error: { code: string; details: { scope: string } } })
          : (await res.arrayBuffer(), undefined);
        return { status: res.status, body, retryAfter: res.headers.get('retry-after') };
      }),
    );
    const most = await watch.stop();
    const ok = answers.filter((a) => a.status === 200).length;
    const refused = answers.filter((a) => a.status === 429);
    expect(ok + refused.length).toBe(20);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.body!.error).toMatchObject({ code: 'too_many_exports', details: { scope: 'user' } });
      expect(Number(r.retryAfter)).toBeGreaterThan(0);
    }
    console.log(
      `FIGURES bound: ${ok} answered, ${refused.length} refused, at most ${most} export ffmpegs seen at once`,
    );
    // The watcher saw them (it can fail), and never more than the bound.
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(PER_USER);
    expect(await metric('hearth_recorder_exports_running_max')).toBeLessThanOrEqual(PER_USER);
    // Every answered range was one ffmpeg run; no refused one ran.
    expect((await metric('hearth_recorder_export_runs_total')) - runsBefore).toBe(ok);
    expect(await metric('hearth_recorder_exports_refused_total', '{reason="too_many_exports"}')).toBeGreaterThanOrEqual(
      refused.length,
    );
  }, 60_000);

  it(`exports of several people together run at most ${TOTAL} ffmpegs (scope all)`, async () => {
    const tokens = [members[0]!, members[1]!, owner];
    const watch = watchExportFfmpegs();
    const answers = await Promise.all(
      Array.from({ length: 15 }, async (_, i) => {
        const res = await playback(tokens[i % 3]!, freshRange());
        return {
          status: res.status,
          body:
            res.status === 429
              ? ((await res.json()) as { error: { code: string; details: { scope: string } } })
              : (await res.arrayBuffer(), undefined),
        };
      }),
    );
    const most = await watch.stop();
    expect(answers.every((a) => a.status === 200 || a.status === 429)).toBe(true);
    const scopes = answers.filter((a) => a.status === 429).map((a) => a.body!.error.details.scope);
    expect(scopes).toContain('all');
    expect(most).toBeLessThanOrEqual(TOTAL);
    expect(await metric('hearth_recorder_exports_running_max')).toBeLessThanOrEqual(TOTAL);
  }, 60_000);

  it('answers a repeated range from the file already built: one ffmpeg run, one file', async () => {
    const exportsDir = join(tmp.dir, 'recordings', cameraId, 'exports');
    const files = () => (existsSync(exportsDir) ? readdirSync(exportsDir).filter((f) => f.endsWith('.mp4')).length : 0);
    const range = freshRange();
    // Ranges are rounded out to 100 ms: x.110-y.420 and x.150-y.470 are the same file.
    const asked = { from: range.from + 110, to: range.to - 580 };
    const filesBefore = files();
    const runsBefore = await metric('hearth_recorder_export_runs_total');
    const first = await playback(members[0]!, asked);
    expect(first.status).toBe(200);
    const bytes = Buffer.from(await first.arrayBuffer());
    // The same range again, as a download, and a few milliseconds off (a player's "last minute").
    for (const [r, path] of [
      [asked, 'playback'],
      [asked, 'clip'],
      [{ from: asked.from + 40, to: asked.to + 50 }, 'playback'],
    ] as const) {
      const again = await playback(members[0]!, r, path);
      expect(again.status).toBe(200);
      expect(Buffer.from(await again.arrayBuffer())).toEqual(bytes);
    }
    expect((await metric('hearth_recorder_export_runs_total')) - runsBefore).toBe(1);
    expect(files() - filesBefore).toBe(1);
    expect(await metric('hearth_recorder_export_cache_hits_total')).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('twenty parallel snapshots by a member share one decode per closed segment', async () => {
    const watch = watchExportFfmpegs('-sseof');
    const answers = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await fetch(`${hub.baseUrl}/api/v1/cameras/${cameraId}/snapshot`, {
          headers: { authorization: `Bearer ${members[0]}` },
        });
        return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
      }),
    );
    const most = await watch.stop();
    console.log(`FIGURES snapshots: at most ${most} decoders seen at once`);
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(answers.every((a) => a.bytes.subarray(0, 2).equals(Buffer.from([0xff, 0xd8])))).toBe(true); // JPEG
    expect(most).toBeGreaterThan(0);
    // One per newest segment: a segment may close during the burst, so two at most.
    expect(most).toBeLessThanOrEqual(2);
  }, 60_000);

  it('masks credentials in the path (XMEye) in every answer, the audit log and the logs', async () => {
    const res = await api(hub.baseUrl, 'POST', '/api/v1/cameras', {
      token: owner,
      body: { name: 'Gate', url: xmeye.url(null) },
    });
    expect(res.status).toBe(201);
    const masked = `rtsp://127.0.0.1:${xmeye.port}/user=admin_password=***_channel=1_stream=0.sdp`;
    expect(res.body.url).toBe(masked);
    const one = await api(hub.baseUrl, 'GET', `/api/v1/cameras/${res.body.id}`, { token: owner });
    const all = await api(hub.baseUrl, 'GET', '/api/v1/cameras', { token: owner });
    expect(one.body.url).toBe(masked);
    expect(all.body.find((c: { id: string }) => c.id === res.body.id).url).toBe(masked);
    // Members watch but do not configure cameras: no URL at all (it names the camera's user and host).
    const member = await api(hub.baseUrl, 'GET', `/api/v1/cameras/${res.body.id}`, { token: members[0] });
    expect(member.status).toBe(200);
    expect(member.body).not.toHaveProperty('url');
    const audit = await api(hub.baseUrl, 'GET', '/api/v1/audit', { token: owner });
    expect(
      audit.body.entries.find(
        (e: { action: string; target: string }) => e.action === 'camera.add' && e.target === res.body.id,
      ),
    ).toMatchObject({ details: { url: masked } });
    // The audit rows on disk, and the log line that names the camera.
    const db = new Database(join(tmp.dir, DATABASE_FILE), { readonly: true });
    const rows = JSON.stringify(db.prepare('SELECT * FROM audit_log').all());
    db.close();
    expect(rows).toContain('password=***');
    await pollUntil(
      'the camera recording',
      async () =>
        (await api(hub.baseUrl, 'GET', `/api/v1/cameras/${res.body.id}`, { token: owner })).body.available === true,
      30_000,
    );
    expect(hub.logs.find((l) => l.msg === 'camera added' && l.camera === res.body.id)).toMatchObject({ url: masked });
    // ffmpeg's own complaints when the camera vanishes are logged too.
    await xmeye.stop();
    await pollUntil(
      'the recorder to notice',
      async () => hub.logs.some((l) => l.msg === 'recorder stopped; restarting' && l.camera === res.body.id),
      30_000,
    );
    for (const body of [res.body, one.body, all.body, audit.body, rows, hub.logs]) {
      expect(JSON.stringify(body)).not.toContain(XM_SECRET);
    }
  }, 60_000);

  it('refuses a URL with a line break or another control character, and writes nothing', async () => {
    const cameras = async () =>
      (await api(hub.baseUrl, 'GET', '/api/v1/cameras', { token: owner })).body.map((c: { id: string }) => c.id).sort();
    const before = await cameras();
    const dirsBefore = readdirSync(join(tmp.dir, 'recordings')).sort();
    const newestAudit = async () =>
      (await api(hub.baseUrl, 'GET', '/api/v1/audit', { token: owner })).body.entries[0].id as number;
    const auditBefore = await newestAudit();
    // Each would be a second entry in ffmpeg's input list: a local file, a TCP connection.
    for (const url of [
      `${camera.url()}\nfile '/etc/hostname'`,
      `${camera.url()}\rfile tcp:127.0.0.1:9`,
      `${camera.url()}\u0000`,
      `${camera.url()}\t`,
    ]) {
      const res = await api(hub.baseUrl, 'POST', '/api/v1/cameras', { token: owner, body: { name: 'Sneaky', url } });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({
        code: 'validation_failed',
        details: { field: 'url', rule: 'control_characters' },
      });
    }
    const sub = await api(hub.baseUrl, 'PATCH', `/api/v1/cameras/${cameraId}`, {
      token: owner,
      body: { subUrl: `${camera.url()}\nfile '/etc/hostname'` },
    });
    expect(sub.status).toBe(400);
    expect(sub.body.error).toMatchObject({
      code: 'validation_failed',
      details: { field: 'subUrl', rule: 'control_characters' },
    });
    expect(await cameras()).toEqual(before);
    expect(readdirSync(join(tmp.dir, 'recordings')).sort()).toEqual(dirsBefore);
    expect(await newestAudit()).toBe(auditBefore);
    expect((await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}`, { token: owner })).body.sub).toBeNull();
  }, 60_000);
});

// The floor on a small volume the test mounts, so "the disk is nearly full" is real.
const MB = 1024 * 1024;
const FLOOR_MB = 12;
const floorTmp = tempDir();
const volume = join(floorTmp.dir, 'volume');
const noTmpfs = unavailable ?? mountTmpfs(volume, 48);
if (noTmpfs && !unavailable) console.warn(`SKIPPING the exports-near-the-floor tests: ${noTmpfs}`);
if (noTmpfs) floorTmp.cleanup();

describe.skipIf(noTmpfs !== null)('exports near the free-space floor', () => {
  // Noise at 2 Mbit/s: ~0.5 MB segments, so the margins below dwarf what SQLite adds meanwhile.
  const camera = new RtspCamera({ pattern: 'snow' });
  const filler = join(volume, 'something-else.bin');
  let hub: HubProcess;
  let owner: string;
  let member: string;
  let cameraId: string;
  let footage: { start: string; end: string; bytes: number }[];

  const recordings = async () =>
    (await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/recordings?from=0`, { token: owner })).body
      .segments as { start: string; end: string; bytes: number }[];
  const exportFiles = () => {
    const dir = join(volume, 'data', 'recordings', cameraId, 'exports');
    return existsSync(dir) ? readdirSync(dir) : [];
  };
  const recorderRunning = () =>
    childCommandLines(hub.proc.pid!, 'ffmpeg').some((argv) => argv.some((a) => a.includes('incoming')));
  /** Leaves `bytes` free on the volume (something else filling it). */
  const leaveFree = (bytes: number) => {
    rmSync(filler, { force: true });
    const s = statfsSync(volume);
    writeFileSync(filler, Buffer.alloc(Math.max(0, s.bavail * s.bsize - bytes)));
  };
  const setMode = async (mode: string) =>
    expect(
      (await api(hub.baseUrl, 'PATCH', `/api/v1/cameras/${cameraId}`, { token: owner, body: { mode } })).status,
    ).toBe(200);
  /** Recording resumed: a segment that started after `after`. */
  const nextSegment = (after: number) =>
    pollUntil('a new segment', async () => (await recordings()).some((s) => Date.parse(s.start) > after), 30_000);

  beforeAll(async () => {
    await camera.start();
    hub = await startHub(join(volume, 'data'), [], {
      HEARTH_RECORDER_SEGMENT_S: String(SEGMENT_S),
      HEARTH_RECORDER_MIN_FREE_MB: String(FLOOR_MB),
    });
    owner = await setupOwner(hub);
    await api(hub.baseUrl, 'POST', '/api/v1/users', {
      token: owner,
      body: { username: 'mia', password: MEMBER_PASSWORD, role: 'member' },
    });
    member = (
      await api(hub.baseUrl, 'POST', '/api/v1/auth/login', { body: { username: 'mia', password: MEMBER_PASSWORD } })
    ).body.accessToken;
    cameraId = (
      await api(hub.baseUrl, 'POST', '/api/v1/cameras', { token: owner, body: { name: 'Yard', url: camera.url() } })
    ).body.id;
  });

  afterAll(async () => {
    await hub?.stop();
    await camera.stop();
    unmount(volume);
    floorTmp.cleanup();
  });

  it('refuses an export that would eat into the floor (507 export_storage_full) and removes no recording', async () => {
    footage = await pollUntil(
      'six segments',
      async () => {
        const s = await recordings();
        return s.length >= 6 ? s : undefined;
      },
      60_000,
    );
    // Recording paused, so only the export could take space; then something else leaves half
    // the export's size above the floor.
    await setMode('off');
    await pollUntil('the recorder to stop', async () => !recorderRunning(), 10_000);
    footage = await recordings();
    const exportBytes = footage.reduce((n, s) => n + s.bytes, 0);
    leaveFree(FLOOR_MB * MB + exportBytes / 2);

    const range = `from=${Date.parse(footage[0]!.start)}&to=${Date.parse(footage.at(-1)!.end)}`;
    const res = await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/playback?${range}`, { token: member });

    // Recording again: its next segment checks the floor; all the footage is still there.
    const resumedAt = Date.now();
    await setMode('continuous');
    await nextSegment(resumedAt - 1000);
    const starts = (await recordings()).map((s) => s.start);
    for (const s of footage) expect(starts).toContain(s.start);
    expect(res.status).toBe(507);
    expect(res.body.error.code).toBe('export_storage_full');
    expect(exportFiles().filter((f) => f.endsWith('.mp4'))).toEqual([]);
  }, 120_000);

  it('short of the floor, a finished export is removed before any footage', async () => {
    rmSync(filler, { force: true });
    const range = `from=${Date.parse(footage[0]!.start)}&to=${Date.parse(footage.at(-1)!.end)}`;
    const res = await fetch(`${hub.baseUrl}/api/v1/cameras/${cameraId}/playback?${range}`, {
      headers: { authorization: `Bearer ${member}` },
    });
    expect(res.status).toBe(200);
    const size = (await res.arrayBuffer()).byteLength;
    expect(exportFiles().filter((f) => f.endsWith('.mp4'))).toHaveLength(1);
    const storage = (await api(hub.baseUrl, 'GET', '/api/v1/cameras/storage', { token: member })).body;
    expect(storage.exportBytes).toBe(size);

    // Something else leaves the volume under its floor by half the export: the export goes.
    const before = await recordings();
    leaveFree(FLOOR_MB * MB - size / 2);
    const filledAt = Date.now();
    await nextSegment(filledAt);
    await pollUntil('the export removed', async () => exportFiles().length === 0, 10_000);
    const starts = (await recordings()).map((s) => s.start);
    for (const s of before) expect(starts).toContain(s.start);
    expect((await api(hub.baseUrl, 'GET', '/api/v1/cameras/storage', { token: member })).body).toMatchObject({
      exportBytes: 0,
      alert: null,
    });
  }, 120_000);
});
