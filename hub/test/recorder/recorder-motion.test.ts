import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, setupOwner } from '../helpers/http.ts';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { RtspCamera, rtspCameraUnavailable } from '../helpers/rtsp-camera.ts';
import { tempDir } from '../helpers/temp.ts';
import { pollUntil } from '../helpers/poll.ts';

// Motion from ffmpeg's scene score on the sub stream of a GStreamer camera whose test pattern
// switches from a still picture to a moving ball on SIGUSR1.
const unavailable = await rtspCameraUnavailable();
if (unavailable) console.warn(`SKIPPING motion tests: ${unavailable}`);

describe.skipIf(unavailable !== null)('motion detection on the sub stream', () => {
  const tmp = tempDir();
  const camera = new RtspCamera({ sub: { width: 160, height: 120 }, pattern: 'smpte' });
  let hub: HubProcess;
  let token: string;

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

  it('needs a sub stream', async () => {
    const res = await api(hub.baseUrl, 'POST', '/api/v1/cameras', {
      token,
      body: { name: 'x', url: camera.url(), settings: { motion: true } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'validation_failed', details: { field: 'settings.motion' } });
  });

  it('stays quiet on a still picture, then emits motion and records an event clip in events mode', async () => {
    const pushed: { type: string; kind?: string; cameraId?: string }[] = [];
    const events = new WebSocket(`ws://127.0.0.1:${hub.http}/api/v1/events?token=${token}`);
    events.on('message', (d: Buffer) => pushed.push(JSON.parse(d.toString())));
    await pollUntil('the events socket', async () => pushed.some((m) => m.type === 'ready'));

    const added = await api(hub.baseUrl, 'POST', '/api/v1/cameras', {
      token,
      body: {
        name: 'Yard',
        url: camera.url(),
        subUrl: camera.subUrl(),
        mode: 'events',
        settings: { motion: true, preRollS: 2, postRollS: 4 },
      },
    });
    expect(added.status).toBe(201);
    expect(added.body.settings).toMatchObject({ motion: true, motionThreshold: 0.02 });
    const id = added.body.id as string;
    const recordings = async () => (await api(hub.baseUrl, 'GET', `/api/v1/cameras/${id}/recordings`, { token })).body;

    // Still picture: several segments recorded (so the sub stream's ffmpeg is well past its
    // start) and not one motion event or clip.
    await pollUntil('8 s of recording', async () => {
      const r = await recordings();
      return (
        r.events.some((e: { kind: string }) => e.kind === 'camera_available') &&
        Date.now() - Date.parse(added.body.createdAt) > 8000
      );
    });
    const still = await recordings();
    expect(still.events.filter((e: { kind: string }) => e.kind === 'motion')).toEqual([]);
    expect(still.clips).toEqual([]);

    camera.switchPattern(); // the moving ball
    const moving = await pollUntil('a motion event and its clip', async () => {
      const r = await recordings();
      return r.events.some((e: { kind: string }) => e.kind === 'motion') && r.clips.length > 0 ? r : undefined;
    });
    expect(moving.clips[0]).toMatchObject({ source: 'motion' });
    expect(moving.events.find((e: { kind: string }) => e.kind === 'motion').details.score).toBeGreaterThan(0.02);
    await pollUntil('motion on the events socket', async () =>
      pushed.some((m) => m.type === 'recording.event' && m.kind === 'motion' && m.cameraId === id),
    );
    events.close();
  });
});
