import type { Role } from '@hearth/model/values';
import { toBase64 } from '@hearth/protocol/encoding';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLogger } from '../../src/core/logger.ts';
import type { LiveViewer } from '../../src/recorder/live.ts';
import type { CameraView } from '../../src/recorder/views.ts';
import { subscribeRemote } from '../../src/relay/remote-events.ts';
import { watchRemote } from '../../src/relay/remote-live.ts';
import { connect } from './ws-client.ts';
import { harness, type Harness } from './harness.ts';

const PASSWORD = 'a long enough password';

type Res = { statusCode: number; body: string; json(): { error?: { code: string } } };
const outcome = (res: Res) => [res.statusCode, res.json().error?.code ?? 'ok'];

const camera = (id: string, name: string) =>
  ({
    id,
    name,
    // As the recorder shows it (password masked): the camera's user name and address remain.
    url: 'rtsp://camuser:***@192.168.1.50:554/stream1',
    codec: 'h264',
    width: 640,
    height: 480,
    fps: 10,
    sub: { url: 'rtsp://camuser:***@192.168.1.50:554/stream2', codec: 'h264', width: 320, height: 240, fps: 10 },
    mode: 'continuous',
    settings: {
      continuousDays: 7,
      eventDays: 30,
      preRollS: 5,
      postRollS: 10,
      triggers: [],
      motion: false,
      motionThreshold: 0.02,
    },
    state: 'recording',
    available: true,
    alert: null,
    createdAt: '2026-01-01T00:00:00.000Z',
  }) as unknown as CameraView;

/**
 * Sharing on the surfaces that are not one device's API: rooms, scenes, cameras (list, get, live
 * view that closes when the share ends), rules (guests see none) and the relay (a guest's remote
 * events carry only the shared plug; no home key, so the relay's last-known state stays sealed to
 * them). A guest with one shared plug sees exactly that, and what is not shared answers like an
 * unknown id.
 */
describe('sharing: rooms, scenes, cameras, rules, relay', () => {
  let h: Harness;
  let owner: string;
  let plug: string;
  let heater: string;
  let guest: { id: string; token: string };
  const viewers = new Map<string, Set<LiveViewer>>();
  let tickets = 0;
  const viewersWatch = (id: string, viewer: LiveViewer) => {
    const set = viewers.get(id) ?? new Set();
    viewers.set(id, set.add(viewer));
    return () => set.delete(viewer);
  };
  beforeEach(async () => {
    const cams = [camera('cam_porch', 'Porch'), camera('cam_bedroom', 'Bedroom')];
    h = await harness({
      rules: true,
      remote: true,
      recorder: {
        list: () => cams,
        get: (id: string) => cams.find((c) => c.id === id)!,
        watch: viewersWatch,
        // A clip someone made and an ffmpeg failure naming the camera's host, as the recorder keeps them.
        recordings: (id: string) => ({
          cameraId: id,
          from: '2026-01-01T00:00:00.000Z',
          to: '2026-01-01T01:00:00.000Z',
          segments: [],
          clips: [],
          events: [
            { at: '2026-01-01T00:10:00.000Z', kind: 'clip', details: { clipId: 1, source: 'user', user: 'owner' } },
            {
              at: '2026-01-01T00:20:00.000Z',
              kind: 'camera_unavailable',
              details: { reason: 'Connection to tcp://192.168.1.50:554 failed: Connection refused' },
            },
          ],
        }),
        // HLS without ffmpeg: one ticket per grant, a playlist that is always ready.
        hlsTicket: (_id: string, expiresAt: number) => ({ ticket: `t${++tickets}`, expiresAt }),
        hls: () =>
          ({
            ready: async () => true,
            playlist: () => '#EXTM3U\n',
            init: undefined,
            segment: () => undefined,
          }) as never,
      },
    });
    h.registry.sharing.registerTarget('camera', (id) => cams.some((c) => c.id === id));
    owner = await h.setupOwner();
    plug = await h.addDevice('Kitchen plug');
    heater = await h.addDevice('Bedroom heater');
    guest = await person('cleaner', 'guest');
  });
  afterEach(async () => {
    viewers.clear();
    await h.close();
  });

  async function person(username: string, role: Role) {
    const id = await h.addUser(owner, username, role, PASSWORD);
    const res = await h.call('POST', '/api/v1/auth/login', { body: { username, password: PASSWORD } });
    return { id, token: res.json().accessToken as string };
  }
  const share = async (body: Record<string, unknown>) => {
    const res = await h.call('POST', '/api/v1/shares', { token: owner, body: { userId: guest.id, ...body } });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string };
  };
  const get = (url: string, token = guest.token) => h.call('GET', url, { token });

  it('rooms: a guest lists only rooms shared with them', async () => {
    const kitchen = (await h.call('POST', '/api/v1/rooms', { token: owner, body: { name: 'Kitchen' } })).json().id;
    await h.call('POST', '/api/v1/rooms', { token: owner, body: { name: 'Bedroom' } });
    expect((await get('/api/v1/rooms')).json()).toEqual([]);
    await share({ room: kitchen, access: 'view' });
    expect((await get('/api/v1/rooms')).json()).toMatchObject([{ id: kitchen, name: 'Kitchen' }]);
  });

  it('scenes: only shared ones exist, with only the states of reached devices; activating needs control', async () => {
    const make = async (name: string, states: unknown[]) =>
      (await h.call('POST', '/api/v1/scenes', { token: owner, body: { name, states } })).json().id as string;
    const morning = await make('Morning', [
      { device: plug, capability: 'switch', value: true },
      { device: heater, capability: 'switch', value: true },
    ]);
    const night = await make('Night', [{ device: heater, capability: 'switch', value: false }]);
    expect((await get('/api/v1/scenes')).json()).toEqual([]);
    expect(outcome(await get(`/api/v1/scenes/${night}`))).toEqual([404, 'scene_not_found']);

    const viewOnly = await share({ scene: morning, access: 'view' });
    await share({ device: plug, access: 'view' });
    const listed = (await get('/api/v1/scenes')).json() as unknown as { id: string; states: { device: string }[] }[];
    expect(listed.map((sc) => [sc.id, sc.states.map((st) => st.device)])).toEqual([[morning, [plug]]]);
    expect(JSON.stringify(listed)).not.toContain(heater);
    const refused = await h.call('POST', `/api/v1/scenes/${morning}/activate`, { token: guest.token });
    expect(outcome(refused)).toEqual([403, 'share_view_only']);
    expect(outcome(await h.call('POST', `/api/v1/scenes/${night}/activate`, { token: guest.token }))).toEqual([
      404,
      'scene_not_found',
    ]);
    expect(h.registry.get(plug, { kind: 'system', part: 'test' }).state.switch).toBeUndefined();

    await h.call('DELETE', `/api/v1/shares/${viewOnly.id}`, { token: owner });
    await share({ scene: morning, access: 'control' });
    const run = await h.call('POST', `/api/v1/scenes/${morning}/activate`, { token: guest.token });
    expect(run.statusCode, run.body).toBe(200);
    // The scene sets both devices (it was shared whole), the activation is audited as the guest.
    expect(h.registry.get(plug, { kind: 'system', part: 'test' }).state.switch).toBe(true);
    expect(h.registry.get(heater, { kind: 'system', part: 'test' }).state.switch).toBe(true);
    const row = h.store.db.prepare("SELECT actor FROM audit_log WHERE action = 'scene.activate'").get() as {
      actor: string;
    };
    expect(JSON.parse(row.actor)).toMatchObject({ username: 'cleaner', role: 'guest' });
    // Removing the scene takes its shares along.
    await h.call('DELETE', `/api/v1/scenes/${morning}`, { token: owner });
    expect(h.store.db.prepare("SELECT COUNT(*) AS n FROM shares WHERE kind = 'scene'").get()).toEqual({ n: 0 });
  });

  it('rules: a guest sees none (403 without names), whatever is shared with them', async () => {
    await share({ device: plug, access: 'control' });
    const rule = await h.call('POST', '/api/v1/rules', {
      token: owner,
      body: {
        name: 'Heater at night',
        mode: 'single',
        triggers: [{ type: 'state', device: plug, capability: 'switch', to: true }],
        conditions: [],
        actions: [{ type: 'command', device: heater, capability: 'switch', value: true }],
      },
    });
    expect(rule.statusCode, rule.body).toBe(201);
    const listed = await get('/api/v1/rules');
    expect(outcome(listed)).toEqual([403, 'forbidden']);
    expect(listed.body).not.toContain('Heater');
    expect(outcome(await get(`/api/v1/rules/${rule.json().id}`))).toEqual([403, 'forbidden']);
  });

  it('cameras: only the shared one exists; its live view closes when the share ends on the clock', async () => {
    expect((await get('/api/v1/cameras')).json()).toEqual([]);
    await share({ camera: 'cam_porch', access: 'view', until: h.clock.now() + 20_000 });
    expect((await get('/api/v1/cameras')).json()).toMatchObject([{ id: 'cam_porch', name: 'Porch' }]);
    expect(outcome(await get('/api/v1/cameras/cam_porch'))).toEqual([200, 'ok']);
    const hidden = await get('/api/v1/cameras/cam_bedroom');
    expect(outcome(hidden)).toEqual([404, 'camera_not_found']);
    expect(hidden.body).not.toContain('Bedroom');
    expect(outcome(await h.call('POST', '/api/v1/cameras/cam_porch/clips', { token: guest.token, body: {} }))).toEqual([
      403,
      'share_view_only',
    ]);

    const base = (await h.listen()).replace(/^ws/, 'ws');
    const watch = (id: string) => {
      const ws = new WebSocket(`${base}/api/v1/cameras/${id}/live`, {
        headers: { authorization: `Bearer ${guest.token}` },
      });
      ws.on('error', () => {});
      const frames: string[] = [];
      ws.on('message', (d) => frames.push(d.toString()));
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
      );
      return { ws, frames, closed };
    };
    expect(await watch('cam_bedroom').closed).toEqual({ code: 4404, reason: 'camera_not_found' });
    const porch = watch('cam_porch');
    await expect.poll(() => viewers.get('cam_porch')?.size ?? 0).toBe(1);
    for (const v of viewers.get('cam_porch')!) v.send(Buffer.from('frame-1'));
    await expect.poll(() => porch.frames).toEqual(['frame-1']);
    // An HLS ticket (fetched without a token) is good while the share lasts.
    const grant = await h.call('POST', '/api/v1/cameras/cam_porch/hls', { token: guest.token });
    expect(grant.statusCode, grant.body).toBe(201);
    const playlist = grant.json().playlist as string;
    expect((await h.call('GET', playlist)).statusCode).toBe(200);
    h.clock.advance(20_000);
    expect(outcome(await h.call('GET', playlist))).toEqual([404, 'camera_not_found']);
    expect(await porch.closed).toEqual({ code: 4404, reason: 'camera_not_found' });
    await expect.poll(() => viewers.get('cam_porch')?.size ?? 0).toBe(0);
    expect(outcome(await get('/api/v1/cameras/cam_porch'))).toEqual([404, 'camera_not_found']);
  });

  it('cameras: a guest and a member never see the source URL, its user name or host; an admin does', async () => {
    await share({ camera: 'cam_porch', access: 'view' });
    const member = await person('flatmate', 'member');
    const leaks = (body: string) => ['url', 'rtsp', 'camuser', '192.168.1.50'].filter((s) => body.includes(s));
    for (const [who, token] of [
      ['guest', guest.token],
      ['member', member.token],
    ] as const) {
      for (const url of ['/api/v1/cameras', '/api/v1/cameras/cam_porch', '/api/v1/cameras/cam_porch/recordings']) {
        const res = await get(url, token);
        expect(res.statusCode, `${who} ${url}: ${res.body}`).toBe(200);
        expect(leaks(res.body), `${who} ${url}`).toEqual([]);
      }
      const cam = (await get('/api/v1/cameras/cam_porch', token)).json() as unknown as CameraView;
      expect(cam).toMatchObject({ id: 'cam_porch', name: 'Porch', state: 'recording', sub: { width: 320 } });
    }
    // The guest gets no event details at all (who made a clip); watching needs none.
    const guestEvents = (await get('/api/v1/cameras/cam_porch/recordings')).json() as unknown as {
      events: { kind: string; details: unknown }[];
    };
    expect(guestEvents.events).toEqual([
      { at: '2026-01-01T00:10:00.000Z', kind: 'clip', details: null },
      { at: '2026-01-01T00:20:00.000Z', kind: 'camera_unavailable', details: null },
    ]);
    expect(JSON.stringify(guestEvents)).not.toContain('owner');
    // Nor the triggers (other devices' ids).
    expect((await get('/api/v1/cameras/cam_porch')).json()).not.toHaveProperty('settings');
    // The admin who configures cameras still sees the masked URLs.
    const admin = (await get('/api/v1/cameras/cam_porch', owner)).json() as unknown as CameraView;
    expect(admin.url).toBe('rtsp://camuser:***@192.168.1.50:554/stream1');
    expect(admin.sub?.url).toBe('rtsp://camuser:***@192.168.1.50:554/stream2');
  });

  it('cameras: a guest hears recording events of the shared camera only, and watches it through the relay until the share ends', async () => {
    await share({ camera: 'cam_porch', access: 'view', until: h.clock.now() + 20_000 });
    const client = connect(`${await h.listen()}/api/v1/events`, {
      headers: { authorization: `Bearer ${guest.token}` },
    });
    await client.next('ready');
    h.bus.emit('recording.event', { cameraId: 'cam_bedroom', kind: 'motion', at: h.clock.now() });
    h.bus.emit('recording.event', { cameraId: 'cam_porch', kind: 'motion', at: h.clock.now() });
    await client.next('recording.event');
    expect(client.messages.filter((m) => m.type === 'recording.event').map((m) => m.cameraId)).toEqual(['cam_porch']);
    client.ws.close();
    await client.closed;

    const { actor } = h.auth.inspectAccess(guest.token);
    const device = h.remote!.devices.enroll(actor, {
      publicKey: toBase64(randomBytes(32)),
      boxPublicKey: toBase64(randomBytes(32)),
      name: 'cleaner phone',
    });
    const sink = () => {
      const events: string[] = [];
      return {
        events,
        sink: {
          start: () => events.push('start'),
          push: () => {},
          queuedBytes: () => 0,
          dropQueued: () => [],
          end: () => events.push('end'),
          fail: (code: string) => events.push(`fail:${code}`),
          stream: 1,
        },
      };
    };
    const deps = {
      auth: h.auth,
      bus: h.bus,
      clock: h.clock,
      recorder: { watch: viewersWatch } as never,
      sharing: h.registry.sharing,
    };
    const hidden = sink();
    watchRemote(deps, device, { camera: 'cam_bedroom', token: guest.token }, hidden.sink);
    expect(hidden.events).toEqual(['fail:camera_not_found']);
    const porch = sink();
    const stop = watchRemote(deps, device, { camera: 'cam_porch', token: guest.token }, porch.sink);
    expect(porch.events).toEqual(['start']);
    h.clock.advance(20_000);
    expect(porch.events).toEqual(['start', 'fail:camera_not_found']);
    stop();
  });

  it('relay: remote events carry only the shared plug, and a guest gets no home key for the last-known state', async () => {
    await share({ device: plug, access: 'view' });
    const { actor } = h.auth.inspectAccess(guest.token);
    const device = h.remote!.devices.enroll(actor, {
      publicKey: toBase64(randomBytes(32)),
      boxPublicKey: toBase64(randomBytes(32)),
      name: 'cleaner phone',
    });
    expect(h.remote!.sessionHomeKey(device.id, guest.token)).toBeNull();
    const events: Record<string, unknown>[] = [];
    const failed: string[] = [];
    const stop = subscribeRemote(
      h.auth,
      {
        bus: h.bus,
        clock: h.clock,
        log: createLogger({ level: 'silent' }),
        registry: h.registry,
        maxBufferedBytes: 1 << 16,
      },
      device,
      guest.token,
      {
        event: (e) => events.push(JSON.parse(e) as Record<string, unknown>),
        fail: (code) => failed.push(code),
        queuedBytes: () => 0,
      },
    );
    h.driver.ctx.reportState(heater, { switch: true });
    h.driver.ctx.reportState(plug, { switch: true });
    stop();
    expect(failed).toEqual([]);
    expect(events.filter((e) => e.type !== 'ready').map((e) => [e.type, e.deviceId])).toEqual([['device.state', plug]]);
    // Through the relay the API answers as on the LAN: the plug only.
    h.remote!.callerOf = (marker) => (marker === `test.${device.id}` ? device : null);
    const remote = await h.call('GET', '/api/v1/devices', {
      token: guest.token,
      headers: { 'x-hearth-remote': `test.${device.id}` },
    });
    expect((remote.json() as unknown as { id: string }[]).map((d) => d.id)).toEqual([plug]);
  });
});
