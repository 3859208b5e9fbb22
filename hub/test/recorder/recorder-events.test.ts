import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, setupOwner } from '../helpers/http.ts';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { connectMqtt } from '../helpers/mqtt.ts';
import { probeFile, RtspCamera, rtspCameraUnavailable } from '../helpers/rtsp-camera.ts';
import { footageFiles } from '../helpers/footage.ts';
import { tempDir } from '../helpers/temp.ts';
import { pollUntil } from '../helpers/poll.ts';

// Events-only recording end to end: the real hub, ffmpeg, GStreamer's RTSP server as the camera,
// and MQTT devices as the motion sensor and the doorbell a rule listens to.
const unavailable = await rtspCameraUnavailable();
if (unavailable) console.warn(`SKIPPING recorder event tests: ${unavailable}`);

const SEGMENT_S = 2;
const PRE_ROLL_S = 4;

interface Segment {
  start: string;
  end: string;
  bytes: number;
  kind: string;
}
interface Clip {
  id: number;
  at: string;
  start: string;
  end: string;
  source: string;
}

const until = <T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000) =>
  pollUntil(what, check, timeoutMs, 200);

describe.skipIf(unavailable !== null)('event clips with a real RTSP camera', () => {
  const tmp = tempDir();
  const camera = new RtspCamera();
  const clients: MqttClient[] = [];
  let hub: HubProcess;
  let token: string;
  let cameraId: string;
  let motion: { id: string; client: MqttClient };
  let doorbell: { id: string; client: MqttClient };
  const env = {
    HEARTH_RECORDER_SEGMENT_S: String(SEGMENT_S),
    HEARTH_RECORDER_BACKOFF_MAX_MS: '1000',
    HEARTH_RECORDER_MIN_FREE_MB: '0',
  };

  const recordings = async (): Promise<{
    segments: Segment[];
    clips: Clip[];
    events: { kind: string; details: Record<string, unknown> }[];
  }> => (await api(hub.baseUrl, 'GET', `/api/v1/cameras/${cameraId}/recordings?from=0`, { token })).body;

  /** An MQTT device of the generic driver, online. */
  const device = async (name: string, capabilities: string[]) => {
    const made = (
      await api(hub.baseUrl, 'POST', '/api/v1/devices', { token, body: { name, driver: 'mqtt', capabilities } })
    ).body;
    const id = made.device.id as string;
    const client = await connectMqtt(hub.mqtt, { clientId: id, username: id, password: made.mqtt.password });
    clients.push(client);
    await client.publishAsync(`hearth/${id}/status`, 'online', { qos: 1, retain: true });
    return { id, client };
  };

  beforeAll(async () => {
    await camera.start();
    hub = await startHub(tmp.dir, [], env);
    token = await setupOwner(hub);
    motion = await device('Hall motion', ['motion']);
    doorbell = await device('Doorbell', ['switch']);
  });

  afterAll(async () => {
    for (const c of clients) c.end(true);
    await hub?.stop();
    await camera.stop();
    tmp.cleanup();
  });

  it('refuses a linked sensor that does not exist or lacks the capability', async () => {
    const base = { name: 'Hall', url: camera.url(), mode: 'events' };
    const missing = await api(hub.baseUrl, 'POST', '/api/v1/cameras', {
      token,
      body: { ...base, settings: { triggers: [{ device: 'dev_nope', capability: 'motion' }] } },
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('device_not_found');
    const wrong = await api(hub.baseUrl, 'POST', '/api/v1/cameras', {
      token,
      body: { ...base, settings: { triggers: [{ device: motion.id, capability: 'switch' }] } },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatchObject({
      code: 'validation_failed',
      details: { field: 'settings.triggers.0.capability' },
    });
    const badMode = await api(hub.baseUrl, 'POST', '/api/v1/cameras', { token, body: { ...base, mode: 'sometimes' } });
    expect(badMode.status).toBe(400);
    expect(badMode.body.error.code).toBe('validation_failed');
  });

  it('in events mode keeps only the pre-roll of footage while nothing happens', async () => {
    const res = await api(hub.baseUrl, 'POST', '/api/v1/cameras', {
      token,
      body: {
        name: 'Hall',
        url: camera.url(),
        mode: 'events',
        settings: { preRollS: PRE_ROLL_S, postRollS: 4, triggers: [{ device: motion.id, capability: 'motion' }] },
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      mode: 'events',
      settings: { preRollS: PRE_ROLL_S, postRollS: 4, continuousDays: 7, eventDays: 30 },
    });
    cameraId = res.body.id;
    const addedAt = Date.now();
    // Long enough for segments to pass the pre-roll horizon.
    await until('footage older than the pre-roll to be removed', async () => {
      const rec = await recordings();
      const closedSegments = rec.segments.length;
      return Date.now() - addedAt > 16_000 && closedSegments > 0 ? rec : undefined;
    });
    const rec = await recordings();
    // Whatever closed more than the pre-roll (plus one segment being indexed) ago is gone.
    expect(Date.parse(rec.segments[0]!.start)).toBeGreaterThan(addedAt + 4000);
    expect(rec.segments.every((s) => s.kind === 'continuous')).toBe(true);
    expect(rec.segments.length).toBeLessThanOrEqual(PRE_ROLL_S / SEGMENT_S + 3);
    const files = footageFiles(join(tmp.dir, 'recordings'), cameraId, true);
    expect(files.length).toBeLessThanOrEqual(rec.segments.length + 1);
  });

  it('records an event clip with pre-roll from the segments already on disk, playable by ffprobe', async () => {
    const res = await api(hub.baseUrl, 'POST', `/api/v1/cameras/${cameraId}/clips`, { token, body: { seconds: 4 } });
    expect(res.status).toBe(201);
    const clip = res.body as Clip;
    expect(clip.source).toBe('user');
    expect(Date.parse(clip.at) - Date.parse(clip.start)).toBe(PRE_ROLL_S * 1000);
    expect(Date.parse(clip.end) - Date.parse(clip.at)).toBe(4000);

    const rec = await until('the post-roll to be recorded', async () => {
      const r = await recordings();
      return r.segments.some((s) => Date.parse(s.end) >= Date.parse(clip.end)) ? r : undefined;
    });
    const inClip = rec.segments.filter(
      (s) => Date.parse(s.start) < Date.parse(clip.end) && Date.parse(s.end) > Date.parse(clip.start),
    );
    expect(inClip.every((s) => s.kind === 'event')).toBe(true);
    // The pre-roll is really there: footage from before the event was kept.
    expect(Date.parse(inClip[0]!.start)).toBeLessThanOrEqual(Date.parse(clip.at) - (PRE_ROLL_S - SEGMENT_S) * 1000);
    expect(rec.clips.map((c) => c.id)).toContain(clip.id);
    expect(rec.events.find((e) => e.kind === 'clip')).toMatchObject({ details: { clipId: clip.id, source: 'user' } });

    const download = await fetch(
      `${hub.baseUrl}/api/v1/cameras/${cameraId}/clip?from=${Date.parse(clip.start)}&to=${Date.parse(clip.end)}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(download.status).toBe(200);
    const file = join(tmp.dir, 'event-clip.mp4');
    writeFileSync(file, Buffer.from(await download.arrayBuffer()));
    const info = probeFile(file);
    expect(info).toMatchObject({ codec: 'h264', width: 320, height: 240 });
    const expected = (Date.parse(clip.end) - Date.parse(clip.start)) / 1000;
    expect(info.duration).toBeGreaterThanOrEqual(expected - 1.5);
    expect(info.duration).toBeLessThanOrEqual(expected + 1.5);

    // Later footage outside the clip goes again; the clip's segments stay.
    await until('footage after the clip to be pruned', async () => {
      const r = await recordings();
      const after = r.segments.filter((s) => Date.parse(s.start) >= Date.parse(clip.end));
      return after.length > 0 && Date.parse(after[0]!.start) > Date.parse(clip.end) + 2000 ? r : undefined;
    });
    const kept = (await recordings()).segments.filter((s) => s.kind === 'event');
    expect(kept.length).toBe(inClip.length);
  });

  it('records a clip when the linked motion sensor reports motion', async () => {
    await motion.client.publishAsync(`hearth/${motion.id}/state`, JSON.stringify({ motion: true }), { qos: 1 });
    const clip = await until('a clip from the sensor', async () =>
      (await recordings()).clips.find((c) => c.source === 'device'),
    );
    expect(Date.parse(clip.end) - Date.parse(clip.at)).toBe(4000); // the camera's post-roll
    const rec = await recordings();
    expect(rec.events.find((e) => e.kind === 'clip' && e.details.source === 'device')).toMatchObject({
      details: { device: motion.id, capability: 'motion', value: true },
    });
  });

  it('records a clip from a rule action camera_clip, and refuses an unknown camera in a rule', async () => {
    const bad = await api(hub.baseUrl, 'POST', '/api/v1/rules', {
      token,
      body: {
        name: 'Bad',
        mode: 'single',
        triggers: [{ type: 'state', device: doorbell.id, capability: 'switch', to: true }],
        conditions: [],
        actions: [{ type: 'camera_clip', camera: 'cam_nope', seconds: 5 }],
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'validation_failed', details: { path: 'actions.0.camera' } });

    const rule = await api(hub.baseUrl, 'POST', '/api/v1/rules', {
      token,
      body: {
        name: 'Doorbell clip',
        mode: 'single',
        triggers: [{ type: 'state', device: doorbell.id, capability: 'switch', to: true }],
        conditions: [],
        actions: [{ type: 'camera_clip', camera: cameraId, seconds: 6 }],
      },
    });
    expect(rule.status).toBe(201);
    // The sensor's clip must be over, or this one would extend it.
    const sensorClip = (await recordings()).clips.find((c) => c.source === 'device')!;
    await until('the sensor clip to end', async () => Date.now() > Date.parse(sensorClip.end) + 500);
    await doorbell.client.publishAsync(`hearth/${doorbell.id}/state`, JSON.stringify({ switch: true }), { qos: 1 });
    const clip = await until('a clip from the rule', async () =>
      (await recordings()).clips.find((c) => c.source === 'rule'),
    );
    expect(Date.parse(clip.end) - Date.parse(clip.at)).toBe(6000);
    const rec = await recordings();
    expect(rec.events.find((e) => e.kind === 'clip' && e.details.source === 'rule')).toMatchObject({
      details: { ruleId: rule.body.id },
    });
    const traces = await until('the rule trace', async () => {
      const t = (await api(hub.baseUrl, 'GET', `/api/v1/rules/${rule.body.id}/traces`, { token })).body;
      return t[0]?.status === 'done' ? t : undefined;
    });
    expect(traces[0]).toMatchObject({ actions: [{ result: 'ok', camera: cameraId, seconds: 6 }] });
  });

  it("a hub killed during a clip marks the footage recorded after its restart as the clip's", async () => {
    const made = (await api(hub.baseUrl, 'POST', `/api/v1/cameras/${cameraId}/clips`, { token, body: { seconds: 12 } }))
      .body as Clip;
    await hub.kill9();
    hub = await startHub(tmp.dir, [], env);
    token = (
      await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
        body: { username: 'owner', password: 'correct horse battery' },
      })
    ).body.accessToken;
    const restartedAt = Date.now();
    const rec = await until(
      "footage up to the clip's end",
      async () => {
        const r = await recordings();
        return r.segments.some((s) => Date.parse(s.end) >= Date.parse(made.end)) ? r : undefined;
      },
      40_000,
    );
    const afterRestart = rec.segments.filter(
      (s) => Date.parse(s.start) >= restartedAt - 1000 && Date.parse(s.start) < Date.parse(made.end),
    );
    expect(afterRestart.length).toBeGreaterThan(0);
    expect(afterRestart.map((s) => s.kind)).toEqual(afterRestart.map(() => 'event'));
    expect(rec.clips.map((c) => c.id)).toContain(made.id);
  }, 90_000);

  it('mode off stops recording; clips are refused with camera_off', async () => {
    const off = await api(hub.baseUrl, 'PATCH', `/api/v1/cameras/${cameraId}`, { token, body: { mode: 'off' } });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ mode: 'off', state: 'off', available: false });
    const clip = await api(hub.baseUrl, 'POST', `/api/v1/cameras/${cameraId}/clips`, { token, body: {} });
    expect(clip.status).toBe(409);
    expect(clip.body.error.code).toBe('camera_off');
    const count = (await recordings()).segments.length;
    await new Promise((resolve) => setTimeout(resolve, 3 * SEGMENT_S * 1000));
    expect((await recordings()).segments.length).toBe(count);
  });
});
