import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, setupOwner } from '../../hub/test/helpers/http.ts';
import { startHub, type HubProcess } from '../../hub/test/helpers/hub-process.ts';
import { pollUntil } from '../../hub/test/helpers/poll.ts';
import { probeFile, RtspCamera, rtspCameraUnavailable } from '../../hub/test/helpers/rtsp-camera.ts';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { readKeys } from '../src/cli/keys-file.ts';
import { RemoteClient } from '@hearth/protocol/client';
import { fromUtf8 } from '@hearth/protocol/encoding';
import type { MediaMessage } from '@hearth/protocol/mux';
import { remote, startRelay, waitFor, type RelayProcess } from './helpers/processes.ts';

// A real relay node, a real hub recording a real RTSP camera (GStreamer), and RemoteClient.
const unavailable = await rtspCameraUnavailable();
if (unavailable) console.warn(`SKIPPING remote live view tests: ${unavailable}`);

const PASSWORD = 'correct horse battery';
/** The hub's per-stream queue limit for this test (HEARTH_RELAY_LIVE_QUEUE_BYTES; 1 MiB by default). */
const LIMIT = 96 * 1024;
/** The hub's bound on what one session's answers may hold (HEARTH_RELAY_SESSION_BYTES; 8 MiB by default). */
const SESSION_LIMIT = 1024 * 1024;
/** What one streamed answer may hold: its queue (256 KiB) plus a read or two in between. */
const ANSWER_HOLDS_AT_MOST = 512 * 1024;

const boxType = (b: Uint8Array, at = 0) => fromUtf8(b.subarray(at + 4, at + 8));
const boxSize = (b: Uint8Array, at = 0) => new DataView(b.buffer, b.byteOffset + at, 4).getUint32(0);

/** One metric's value from the hub's /metrics (LAN, owner's token). */
async function metric(baseUrl: string, token: string, name: string): Promise<number> {
  const res = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no metric ${name}`);
  return Number(line.split(' ')[1]);
}

describe.skipIf(unavailable !== null)('relay: camera live view through the tunnel', () => {
  let tmp: ReturnType<typeof tempDir>;
  let relay: RelayProcess;
  let hub: HubProcess;
  // A moving picture at 2 Mbit/s, a keyframe every second: fragments big enough to fill a queue.
  const camera = new RtspCamera({ pattern: 'ball' });
  let token: string;
  let keys: string;
  let cameraId: string;

  beforeAll(async () => {
    tmp = tempDir('hearth-relay-live-');
    await camera.start();
    relay = await startRelay(['--data', join(tmp.dir, 'relay')]);
    hub = await startHub(join(tmp.dir, 'hub'), ['--relay', relay.url], {
      HEARTH_RECORDER_SEGMENT_S: '2',
      HEARTH_RECORDER_MIN_FREE_MB: '0',
      HEARTH_RELAY_LIVE_QUEUE_BYTES: String(LIMIT),
      HEARTH_RELAY_SESSION_BYTES: String(SESSION_LIMIT),
    });
    token = await setupOwner(hub, 'owner', PASSWORD);
    await waitFor(async () => (hub.logs.some((l) => l.msg === 'relay tunnel up') ? true : undefined), 'hub tunnel up');
    keys = join(tmp.dir, 'phone.json');
    const enrolled = await remote([
      'enroll',
      '--hub',
      hub.baseUrl,
      '--username',
      'owner',
      '--password',
      PASSWORD,
      '--keys',
      keys,
    ]);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect((await remote(['login', '--keys', keys, '--password', PASSWORD])).code).toBe(0);
    const added = await api(hub.baseUrl, 'POST', '/api/v1/cameras', {
      token,
      body: { name: 'Porch', url: camera.url() },
    });
    expect(added.status).toBe(201);
    cameraId = added.body.id;
  });

  afterAll(async () => {
    await hub?.stop();
    await relay?.kill9();
    await camera.stop();
    await noisy?.stop();
    tmp?.cleanup();
  });

  it('a remote device gets the init segment, then fragments from a keyframe, that ffprobe reads', async () => {
    const file = readKeys(keys);
    const client = await RemoteClient.connect(file);
    try {
      const messages: MediaMessage[] = [];
      const view = await client.live(file.session!.accessToken, cameraId, (m) => messages.push(m));
      await pollUntil('init and five fragments', async () => messages.length >= 6, 30_000);
      view.close();
      const [init, ...fragments] = messages;
      expect(init!.init).toBe(true);
      expect(boxType(init!.data)).toBe('ftyp');
      expect(boxType(init!.data, boxSize(init!.data))).toBe('moov');
      for (const f of fragments) {
        expect(f.init).toBe(false);
        expect(boxType(f.data)).toBe('moof');
        expect(boxType(f.data, boxSize(f.data))).toBe('mdat');
      }
      // The first picture is a keyframe, as on the LAN.
      expect(fragments[0]!.key).toBe(true);
      const path = join(tmp.dir, 'remote-live.mp4');
      writeFileSync(path, Buffer.concat(messages.map((m) => m.data)));
      expect(probeFile(path)).toMatchObject({ codec: 'h264', width: 320, height: 240 });
      const first = join(tmp.dir, 'remote-live-first.mp4');
      writeFileSync(first, Buffer.concat(messages.slice(0, 2).map((m) => m.data)));
      const frames = spawnSync(
        'ffprobe',
        ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame', '-of', 'csv=p=0', first],
        { encoding: 'utf8' },
      );
      expect(frames.stdout.trim().split('\n')[0]!.split(',')[0]).toBe('1');
    } finally {
      client.close();
    }
  });

  it('hearth-remote live saves the view to a file ffprobe reads; an unknown camera exits 3 with its code', async () => {
    const out = join(tmp.dir, 'cli-live.mp4');
    const saved = await remote(['live', '--keys', keys, '--camera', cameraId, '--count', '10', '--out', out]);
    expect(saved.code, saved.stderr).toBe(0);
    expect(JSON.parse(saved.stdout)).toMatchObject({ camera: cameraId, stream: 'main', fragments: 10 });
    expect(probeFile(out)).toMatchObject({ codec: 'h264', width: 320, height: 240 });
    const unknown = await remote([
      'live',
      '--keys',
      keys,
      '--camera',
      'no-such-camera',
      '--out',
      join(tmp.dir, 'none.mp4'),
    ]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('camera_not_found');
  });

  it('a device that grants no credit: API calls on the same session still answer, the hub keeps at most the limit and drops to the next keyframe', {
    timeout: 150_000,
  }, async () => {
    const file = readKeys(keys);
    const client = await RemoteClient.connect(file);
    try {
      const droppedBefore = await metric(hub.baseUrl, token, 'hearth_remote_live_fragments_dropped_total');
      const messages: MediaMessage[] = [];
      const view = await client.live(file.session!.accessToken, cameraId, (m) => messages.push(m), undefined, {
        autoCredit: false,
      });
      // The first window arrives, then nothing: the hub queues up to the limit and then drops.
      const dropped = await pollUntil(
        'the hub dropping fragments',
        async () => {
          const n = (await metric(hub.baseUrl, token, 'hearth_remote_live_fragments_dropped_total')) - droppedBefore;
          return n >= 20 ? n : false;
        },
        60_000,
        500,
      );

      // While the live stream is stuck on credit, the same session answers requests.
      for (let i = 0; i < 3; i++) {
        const me = await client.call('GET', '/api/v1/me', { token: file.session!.accessToken });
        expect(me.status).toBe(200);
        expect(JSON.parse(fromUtf8(me.body)).username).toBe('owner');
      }
      const cameras = await client.call('GET', '/api/v1/cameras', { token: file.session!.accessToken });
      expect(cameras.status).toBe(200);

      expect(await metric(hub.baseUrl, token, 'hearth_remote_live_queue_limit_bytes')).toBe(LIMIT);
      const queuedMax = await metric(hub.baseUrl, token, 'hearth_remote_live_queued_bytes_max');
      expect(queuedMax).toBeGreaterThan(0);
      expect(queuedMax).toBeLessThanOrEqual(LIMIT);
      console.log(
        `remote live without credit: ${dropped} fragments dropped, at most ${queuedMax} bytes queued (limit ${LIMIT})`,
      );

      // Credit again: the view resumes, and what comes after the gap starts at a keyframe.
      const before = messages.length;
      client.credit(view.stream, 1024 * 1024);
      await pollUntil(
        'fragments after credit',
        async () => messages.slice(before).some((m) => m.key) && messages.length >= before + 5,
        30_000,
      );
      const resumed = messages.slice(before);
      const key = resumed.findIndex((m) => m.key);
      const path = join(tmp.dir, 'remote-live-resumed.mp4');
      writeFileSync(path, Buffer.concat([messages[0]!.data, ...resumed.slice(key).map((m) => m.data)]));
      expect(probeFile(path)).toMatchObject({ codec: 'h264', width: 320, height: 240 });
      view.close();
      // The session is still fine after the cancel.
      expect((await client.call('GET', '/api/v1/me', { token: file.session!.accessToken })).status).toBe(200);
    } finally {
      client.close();
    }
  });

  it('snapshots, playback and export come through the relay as whole bodies, the same bytes as on the LAN', async () => {
    const file = readKeys(keys);
    const client = await RemoteClient.connect(file);
    try {
      const auth = { token: file.session!.accessToken };
      const snap = await client.call('GET', `/api/v1/cameras/${cameraId}/snapshot`, auth);
      expect(snap.status).toBe(200);
      expect(snap.headers['content-type']).toBe('image/jpeg');
      const jpeg = join(tmp.dir, 'remote-snapshot.jpg');
      writeFileSync(jpeg, snap.body);
      expect(probeFile(jpeg)).toMatchObject({ codec: 'mjpeg', width: 320, height: 240 });

      const segments = await pollUntil(
        'three recorded segments',
        async () => {
          const rec = await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/recordings`, { token });
          return rec.body.segments.length >= 3 ? (rec.body.segments as { start: string; end: string }[]) : false;
        },
        30_000,
      );
      const from = Date.parse(segments[0]!.start);
      const to = Date.parse(segments[2]!.end);
      for (const kind of ['playback', 'clip']) {
        const path = `/api/v1/cameras/${cameraId}/${kind}?from=${from}&to=${to}`;
        const viaRelay = await client.call('GET', path, auth);
        expect(viaRelay.status).toBe(200);
        expect(viaRelay.headers['content-type']).toBe('video/mp4');
        if (kind === 'clip') expect(viaRelay.headers['content-disposition']).toMatch(/^attachment; filename="porch-/);
        const lan = Buffer.from(
          await (await fetch(`${hub.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer(),
        );
        expect(Buffer.from(viaRelay.body).equals(lan)).toBe(true);
        const mp4 = join(tmp.dir, `remote-${kind}.mp4`);
        writeFileSync(mp4, viaRelay.body);
        expect(probeFile(mp4)).toMatchObject({ codec: 'h264', width: 320, height: 240 });
      }
    } finally {
      client.close();
    }
  });

  it('the same checks as the LAN live route: an unshared camera does not exist for a guest, a bad token is unauthorized', async () => {
    const guest = await api(hub.baseUrl, 'POST', '/api/v1/users', {
      token,
      body: { username: 'visitor', password: PASSWORD, role: 'guest' },
    });
    expect(guest.status).toBe(201);
    const guestKeys = join(tmp.dir, 'guest.json');
    const enrolled = await remote([
      'enroll',
      '--hub',
      hub.baseUrl,
      '--username',
      'visitor',
      '--password',
      PASSWORD,
      '--keys',
      guestKeys,
    ]);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect((await remote(['login', '--keys', guestKeys, '--password', PASSWORD])).code).toBe(0);
    const guestFile = readKeys(guestKeys);

    // On the LAN: a camera not shared with the guest does not exist for them (4404, as an unknown id).
    const lan = new WebSocket(
      `ws://127.0.0.1:${hub.http}/api/v1/cameras/${cameraId}/live?token=${guestFile.session!.accessToken}`,
    );
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      lan.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason })),
    );
    expect(closed).toEqual({ code: 4404, reason: 'camera_not_found' });

    const refusal = async (file: ReturnType<typeof readKeys>, accessToken: string, id = cameraId) => {
      const client = await RemoteClient.connect(file);
      try {
        let got = 0;
        const code = await client
          .live(accessToken, id, () => {
            got++;
          })
          .then(
            () => 'accepted',
            (err: { code: string }) => err.code,
          );
        expect(got).toBe(0);
        // The session survives a refused stream.
        expect((await client.call('GET', '/api/v1/me', { token: file.session!.accessToken })).status).toBe(200);
        return code;
      } finally {
        client.close();
      }
    };
    expect(await refusal(guestFile, guestFile.session!.accessToken)).toBe('camera_not_found');
    const owner = readKeys(keys);
    expect(await refusal(owner, 'not-a-token')).toBe('unauthorized');
    // Someone else's token on this device, and a camera that does not exist.
    expect(await refusal(owner, guestFile.session!.accessToken)).toBe('remote_user_mismatch');
    expect(await refusal(owner, owner.session!.accessToken, 'no-such-camera')).toBe('camera_not_found');
  });

  it("a live view ends with unauthorized when the user's sessions are ended at the hub (password reset), as on the LAN", async () => {
    const member = await api(hub.baseUrl, 'POST', '/api/v1/users', {
      token,
      body: { username: 'sam', password: PASSWORD, role: 'member' },
    });
    expect(member.status).toBe(201);
    const memberKeys = join(tmp.dir, 'sam.json');
    expect(
      (
        await remote([
          'enroll',
          '--hub',
          hub.baseUrl,
          '--username',
          'sam',
          '--password',
          PASSWORD,
          '--keys',
          memberKeys,
        ])
      ).code,
    ).toBe(0);
    expect((await remote(['login', '--keys', memberKeys, '--password', PASSWORD])).code).toBe(0);
    const file = readKeys(memberKeys);
    const client = await RemoteClient.connect(file);
    try {
      let messages = 0;
      let ended: string | null | undefined;
      await client.live(
        file.session!.accessToken,
        cameraId,
        () => {
          messages++;
        },
        (err) => {
          ended = err?.code ?? null;
        },
      );
      await pollUntil('the member sees video', async () => messages >= 2, 30_000);
      const reset = await api(hub.baseUrl, 'PATCH', `/api/v1/users/${member.body.id}`, {
        token,
        body: { password: 'another horse battery' },
      });
      expect(reset.status).toBe(200);
      await pollUntil('the view ended', async () => ended !== undefined, 15_000);
      expect(ended).toBe('unauthorized');
    } finally {
      client.close();
    }
  });

  // A second camera filming noise at 2 Mbit/s, for downloads of several megabytes (the ball
  // compresses to a few kbit/s). Started by the first test that needs it.
  let noisy: RtspCamera | undefined;
  let noisyId: string | undefined;
  async function noisyCamera(): Promise<string> {
    if (noisyId) return noisyId;
    noisy = new RtspCamera({ pattern: 'snow' });
    await noisy.start();
    const added = await api(hub.baseUrl, 'POST', '/api/v1/cameras', {
      token,
      body: { name: 'Noise', url: noisy.url() },
    });
    expect(added.status).toBe(201);
    noisyId = added.body.id as string;
    return noisyId;
  }

  /** A range of finished recordings of about `seconds` (within the remote minute), and its bytes from the LAN. */
  async function recordedRange(seconds: number): Promise<{ path: string; lan: Buffer }> {
    const id = await noisyCamera();
    const range = await pollUntil(
      `${seconds} s recorded`,
      async () => {
        const rec = await api(hub.baseUrl, 'GET', `/api/v1/cameras/${id}/recordings`, { token });
        const segments = rec.body.segments as { start: string; end: string }[];
        if (segments.length < 2) return false;
        const to = Date.parse(segments.at(-2)!.end);
        const from = Math.max(Date.parse(segments[0]!.start), to - seconds * 1000);
        return to - from >= seconds * 1000 ? { from, to } : false;
      },
      120_000,
      1000,
    );
    const path = `/api/v1/cameras/${id}/playback?from=${range.from}&to=${range.to}`;
    const lan = Buffer.from(
      await (await fetch(`${hub.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer(),
    );
    return { path, lan };
  }

  /** Grants credit until the answer is complete (the hub caps a stream's window at 1 MiB). */
  async function creditUntilDone(client: RemoteClient, stream: number, response: Promise<unknown>): Promise<void> {
    let done = false;
    void response.then(
      () => {
        done = true;
      },
      () => {
        done = true;
      },
    );
    while (!done) {
      client.credit(stream, 1024 * 1024);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('a long playback streams through the tunnel: the hub holds a bounded part of it whatever the device does, and it arrives intact', {
    timeout: 240_000,
  }, async () => {
    const { path, lan } = await recordedRange(16);
    expect(lan.length).toBeGreaterThan(4 * ANSWER_HOLDS_AT_MOST);
    const file = readKeys(keys);
    const client = await RemoteClient.connect(file);
    try {
      const answersBefore = await metric(hub.baseUrl, token, 'hearth_remote_answers_total');
      // A device that takes the first window and grants nothing more: the hub reads the file only
      // as far as its queue for this answer, then waits (the whole file would be ~10 times more).
      const slow = client.request('GET', path, { token: file.session!.accessToken, autoCredit: false });
      await pollUntil(
        'the hub queueing the answer',
        async () => (await metric(hub.baseUrl, token, 'hearth_remote_answer_held_bytes')) >= 200 * 1024,
        30_000,
        200,
      );
      expect(await metric(hub.baseUrl, token, 'hearth_remote_answers_total')).toBeGreaterThan(answersBefore);
      // Meanwhile the same session answers other calls; the stalled answer holds no more.
      for (let i = 0; i < 3; i++) {
        expect((await client.call('GET', '/api/v1/me', { token: file.session!.accessToken })).status).toBe(200);
        expect(await metric(hub.baseUrl, token, 'hearth_remote_answer_held_bytes')).toBeLessThanOrEqual(
          ANSWER_HOLDS_AT_MOST,
        );
      }
      expect(await metric(hub.baseUrl, token, 'hearth_remote_answer_held_bytes_max')).toBeLessThanOrEqual(
        ANSWER_HOLDS_AT_MOST,
      );
      await creditUntilDone(client, slow.stream, slow.response);
      const response = await slow.response;
      expect(response.status).toBe(200);
      expect(Buffer.from(response.body).equals(lan)).toBe(true);
      // Read through to the end, it never held more than that.
      expect(await metric(hub.baseUrl, token, 'hearth_remote_answer_held_bytes_max')).toBeLessThanOrEqual(
        ANSWER_HOLDS_AT_MOST,
      );
      // The UI's way (automatic credit) and hearth-remote get the same bytes.
      const auto = await client.call('GET', path, { token: file.session!.accessToken });
      expect(Buffer.from(auto.body).equals(lan)).toBe(true);
      const out = join(tmp.dir, 'remote-clip.mp4');
      const cli = await remote(['call', '--keys', keys, '--out', out, 'GET', path.replace('playback', 'clip')]);
      expect(cli.code, cli.stderr).toBe(0);
      expect(JSON.parse(cli.stdout)).toMatchObject({ status: 200, contentType: 'video/mp4', bytes: lan.length, out });
      expect(readFileSync(out).equals(lan)).toBe(true);
    } finally {
      client.close();
    }
  });

  it('answers one session holds are bounded: beyond the bound an answer is refused with remote_bytes_exceeded; the session and the LAN go on', {
    timeout: 240_000,
  }, async () => {
    const { path, lan } = await recordedRange(10);
    const file = readKeys(keys);
    const client = await RemoteClient.connect(file);
    try {
      const refusedBefore = await metric(hub.baseUrl, token, 'hearth_remote_answers_refused_total');
      // Downloads nobody reads, on one session: each holds up to its queue until the bound.
      const stalled = Array.from({ length: 6 }, () =>
        client.request('GET', path, { token: file.session!.accessToken, autoCredit: false }),
      );
      const outcomes = stalled.map((r) =>
        r.response.then(
          (res) =>
            res.status === 413
              ? (JSON.parse(fromUtf8(res.body)) as { error: { code: string } }).error.code
              : `status ${res.status}`,
          (err: { code: string }) => err.code,
        ),
      );
      const refused = await pollUntil(
        'a refusal',
        async () => {
          const n = (await metric(hub.baseUrl, token, 'hearth_remote_answers_refused_total')) - refusedBefore;
          return n >= 1 ? n : false;
        },
        60_000,
        200,
      );
      expect(refused).toBeGreaterThanOrEqual(1);
      const settled = await Promise.all(
        outcomes.map((o) => Promise.race([o, new Promise<string>((r) => setTimeout(() => r('pending'), 2000))])),
      );
      expect(settled.filter((c) => c === 'remote_bytes_exceeded').length).toBeGreaterThanOrEqual(1);
      expect(settled.every((c) => c === 'remote_bytes_exceeded' || c === 'pending')).toBe(true);
      expect(await metric(hub.baseUrl, token, 'hearth_remote_answer_held_bytes_max')).toBeLessThanOrEqual(
        SESSION_LIMIT + ANSWER_HOLDS_AT_MOST,
      );
      expect(await metric(hub.baseUrl, token, 'hearth_remote_answer_session_limit_bytes')).toBe(SESSION_LIMIT);
      // The session still answers, and a download it reads comes through whole once the others are cancelled.
      expect((await client.call('GET', '/api/v1/me', { token: file.session!.accessToken })).status).toBe(200);
      for (const r of stalled) client.cancel(r.stream);
      const again = await client.call('GET', path, { token: file.session!.accessToken });
      expect(Buffer.from(again.body).equals(lan)).toBe(true);
    } finally {
      client.close();
    }
    // The LAN is not affected.
    const viaLan = await fetch(`${hub.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    expect(viaLan.status).toBe(200);
  });
});
