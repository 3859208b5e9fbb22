import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import nacl from 'tweetnacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubProcess } from '../../hub/test/helpers/hub-process.ts';
import { api, setupOwner } from '../../hub/test/helpers/http.ts';
import { connectMqtt } from '../../hub/test/helpers/mqtt.ts';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { RemoteClient } from '@hearth/protocol/client';
import { toBase64 } from '@hearth/protocol/encoding';
import type { ProtocolError } from '@hearth/protocol/errors';
import { readKeys } from '../src/cli/keys-file.ts';
import { PushService, openPush } from './helpers/push-service.ts';
import {
  remote,
  remoteEvents,
  startRedis,
  startRelay,
  waitFor,
  type RedisProcess,
  type RelayProcess,
} from './helpers/processes.ts';

const PASSWORD = 'correct horse battery';
// Values that must never appear at the relay: a device name and a power reading.
const SECRET_NAME = 'Porch Lamp Zanzibar';
const SECRET_WATTS = 4321.75;
const MAX_FRAME = 64 * 1024;

/**
 * Two relay nodes on a real redis-server; a real hub tunnelled to node 1; the remote client
 * (hearth-remote, the same client module a browser uses) enrolled on the LAN and connecting
 * through node 2. A second home on node 2 keeps working while the first one floods.
 */
describe('relay: two nodes on Redis, a real hub, the remote client', () => {
  let tmp: ReturnType<typeof tempDir>;
  let redis: RedisProcess;
  let node1: RelayProcess;
  let node2: RelayProcess;
  let hub: HubProcess;
  let homeB: HubProcess;
  let token: string;
  let keys: string;
  let keysB: string;
  let deviceId: string;
  const mqttClients: MqttClient[] = [];

  let pushService: PushService;
  const relayArgs = () => [
    '--redis',
    redis.url,
    '--push-allow-loopback',
    '--max-frame-bytes',
    String(MAX_FRAME),
    '--device-rate',
    '20',
    '--device-burst',
    '40',
  ];

  beforeAll(async () => {
    tmp = tempDir('hearth-relay-');
    redis = await startRedis(tmp.dir);
    pushService = new PushService();
    await pushService.start();
    node1 = await startRelay(relayArgs());
    node2 = await startRelay(relayArgs());
    const config = join(tmp.dir, 'hub.json');
    writeFileSync(config, JSON.stringify({ devices: { commandTimeoutMs: 3000 } }));
    // Node 1 first: the hub tunnels there and moves on to node 2 only if node 1 goes away.
    hub = await startHub(join(tmp.dir, 'hub'), ['--config', config, '--relay', `${node1.url},${node2.url}`]);
    token = await setupOwner(hub, 'owner', PASSWORD);

    const created = await api(hub.baseUrl, 'POST', '/api/v1/devices', {
      token,
      body: { name: SECRET_NAME, driver: 'mqtt', capabilities: ['switch', 'power'] },
    });
    expect(created.status).toBe(201);
    deviceId = created.body.device.id;
    const password = created.body.mqtt.password as string;
    const device = await connectMqtt(hub.mqtt, {
      clientId: deviceId,
      username: deviceId,
      password,
      will: { topic: `hearth/${deviceId}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    mqttClients.push(device);
    await device.subscribeAsync(`hearth/${deviceId}/cmd`, { qos: 1 });
    device.on('message', (topic, payload) => {
      if (topic !== `hearth/${deviceId}/cmd`) return;
      const cmd = JSON.parse(payload.toString());
      device.publish(
        `hearth/${deviceId}/state`,
        JSON.stringify({ [cmd.capability]: cmd.value, power: cmd.value ? SECRET_WATTS : 0 }),
        { qos: 1 },
      );
    });
    await device.publishAsync(`hearth/${deviceId}/status`, 'online', { qos: 1, retain: true });
    await waitFor(
      async () =>
        (await api(hub.baseUrl, 'GET', `/api/v1/devices/${deviceId}`, { token })).body.available ? true : undefined,
      'device online',
    );
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
      '--name',
      'phone',
    ]);
    expect(enrolled.code, enrolled.stderr).toBe(0);

    // Home B: its own hub and phone, tunnelled to node 2.
    homeB = await startHub(join(tmp.dir, 'home-b'), ['--relay', node2.url]);
    await setupOwner(homeB, 'bea', PASSWORD);
    keysB = join(tmp.dir, 'phone-b.json');
    const enrolledB = await remote([
      'enroll',
      '--hub',
      homeB.baseUrl,
      '--username',
      'bea',
      '--password',
      PASSWORD,
      '--keys',
      keysB,
    ]);
    expect(enrolledB.code, enrolledB.stderr).toBe(0);
  });

  afterAll(async () => {
    for (const c of mqttClients) c.end(true);
    await hub?.kill9();
    await homeB?.kill9();
    await node1?.kill9();
    await node2?.kill9();
    await redis?.stop();
    await pushService?.stop();
    tmp?.cleanup();
  });

  it('enrolment gave the device the hub id, the relay list and a sealed home key', async () => {
    const file = readKeys(keys);
    expect(file.relayUrls).toEqual([node1.url, node2.url]);
    expect(file.hubId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(typeof file.homeKey).toBe('string');
    const listed = await api(hub.baseUrl, 'GET', '/api/v1/remote/devices', { token });
    expect(listed.status).toBe(200);
    expect(listed.body.map((d: { name: string }) => d.name)).toEqual(['phone']);
  });

  it('through node 2: logs in, lists devices, toggles the plug and receives the state event', async () => {
    const login = await remote(['login', '--keys', keys, '--relay', node2.url, '--password', PASSWORD]);
    expect(login.code, login.stderr).toBe(0);

    const listed = await remote(['call', '--keys', keys, '--relay', node2.url, 'GET', '/api/v1/devices']);
    expect(listed.code, listed.stderr).toBe(0);
    const devices = JSON.parse(listed.stdout);
    expect(devices).toEqual([expect.objectContaining({ id: deviceId, name: SECRET_NAME, available: true })]);

    const events = await remoteEvents(['--keys', keys, '--relay', node2.url]);
    try {
      const toggled = await remote([
        'call',
        '--keys',
        keys,
        '--relay',
        node2.url,
        'POST',
        `/api/v1/devices/${deviceId}/commands`,
        JSON.stringify({ capability: 'switch', value: true }),
      ]);
      expect(toggled.code, toggled.stderr).toBe(0);
      expect(JSON.parse(toggled.stdout).state.switch).toBe(true);
      const event = await events.next((e) => e.type === 'device.state' && e.capability === 'switch');
      expect(event).toMatchObject({ type: 'device.state', deviceId, capability: 'switch', value: true });
    } finally {
      events.stop();
    }
  });

  it("a rule's notification reaches the phone's push service, readable only by the phone", async () => {
    const sub = pushService.subscription('phone');
    const set = await remote([
      'call',
      '--keys',
      keys,
      '--relay',
      node2.url,
      'PUT',
      `/api/v1/remote/devices/${readKeys(keys).deviceId}/push`,
      JSON.stringify(sub.json),
    ]);
    expect(set.code, set.stdout).toBe(0);
    const rule = await api(hub.baseUrl, 'POST', '/api/v1/rules', {
      token,
      body: {
        name: 'tell me',
        mode: 'single',
        triggers: [{ type: 'state', device: deviceId, capability: 'switch', to: true }],
        conditions: [],
        actions: [{ type: 'notify', message: `${SECRET_NAME} is on` }],
      },
    });
    expect(rule.status).toBe(201);
    for (const value of [false, true]) {
      const r = await remote([
        'call',
        '--keys',
        keys,
        '--relay',
        node2.url,
        'POST',
        `/api/v1/devices/${deviceId}/commands`,
        JSON.stringify({ capability: 'switch', value }),
      ]);
      expect(r.code, r.stderr).toBe(0);
    }
    const push = await waitFor(
      async () => pushService.received.find((p) => p.path === '/push/phone'),
      'the notification',
    );
    expect(JSON.parse(openPush(push.body, sub.ua, sub.auth))).toMatchObject({
      title: 'Hearth',
      body: `${SECRET_NAME} is on`,
      ruleId: rule.body.id,
    });
    expect(push.body.includes(SECRET_NAME)).toBe(false);

    // A scheduled backup that fails (no schedule key on this hub) alerts the owner's phone.
    const run = await remote(['call', '--keys', keys, '--relay', node2.url, 'POST', '/api/v1/backups/schedule/run']);
    expect(JSON.parse(run.stdout).error.code).toBe('backup_schedule_key_missing');
    const alert = await waitFor(
      async () =>
        pushService.received
          .filter((p) => p.path === '/push/phone')
          .map((p) => JSON.parse(openPush(p.body, sub.ua, sub.auth)))
          .find((m) => m.title === 'Hearth backups'),
      'the backup alert',
    );
    expect(alert).toMatchObject({ backup: 'failed', level: 'warning' });
  });

  it('an HTTP error exits 1 with the body; local-only routes answer 403 local_only remotely', async () => {
    const missing = await remote(['call', '--keys', keys, '--relay', node2.url, 'GET', '/api/v1/devices/nope']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).error.code).toBe('device_not_found');

    const kp = nacl.sign.keyPair();
    const enrol = await remote([
      'call',
      '--keys',
      keys,
      '--relay',
      node2.url,
      'POST',
      '/api/v1/remote/devices',
      JSON.stringify({ publicKey: toBase64(kp.publicKey), boxPublicKey: toBase64(kp.publicKey), name: 'sneaky' }),
    ]);
    expect(enrol.code).toBe(1);
    expect(JSON.parse(enrol.stdout).error.code).toBe('local_only');
    const setup = await remote([
      'call',
      '--keys',
      keys,
      '--relay',
      node2.url,
      'POST',
      '/api/v1/setup',
      JSON.stringify({ username: 'x', password: PASSWORD }),
    ]);
    expect(JSON.parse(setup.stdout).error.code).toBe('local_only');
    // Backups hold every key of the home: made and downloaded on the home network only, so an
    // owner's stolen phone cannot take the home away through the relay.
    const backup = await remote([
      'call',
      '--keys',
      keys,
      '--relay',
      node2.url,
      'POST',
      '/api/v1/backups',
      JSON.stringify({ passphrase: 'a long enough passphrase' }),
    ]);
    expect(JSON.parse(backup.stdout).error.code).toBe('local_only');
    const download = await remote(['call', '--keys', keys, '--relay', node2.url, 'GET', '/api/v1/backups/any/file']);
    expect(JSON.parse(download.stdout).error.code).toBe('local_only');
    // The schedule is read from anywhere, changed only at home: a stolen phone can neither switch
    // the backups off nor give them a passphrase of its own.
    const schedule = await remote(['call', '--keys', keys, '--relay', node2.url, 'GET', '/api/v1/backups/schedule']);
    expect(JSON.parse(schedule.stdout)).toMatchObject({ enabled: false, passphraseSet: false });
    const setSchedule = await remote([
      'call',
      '--keys',
      keys,
      '--relay',
      node2.url,
      'PUT',
      '/api/v1/backups/schedule',
      JSON.stringify({ enabled: true, time: '03:00', keep: 3, passphrase: 'a long enough passphrase' }),
    ]);
    expect(JSON.parse(setSchedule.stdout).error.code).toBe('local_only');
    // The installer's owner invite is accepted only on the home network (auth/handover.ts).
    const accept = await remote([
      'call',
      '--keys',
      keys,
      '--relay',
      node2.url,
      'POST',
      '/api/v1/handover/accept',
      JSON.stringify({ code: 'ABCD-EFGH-JKMN', username: 'x', password: PASSWORD }),
    ]);
    expect(JSON.parse(accept.stdout).error.code).toBe('local_only');

    // The device is the owner's: logging in as someone else through it is refused.
    const other = await remote([
      'call',
      '--keys',
      keys,
      '--relay',
      node2.url,
      'POST',
      '/api/v1/auth/login',
      JSON.stringify({ username: 'bea', password: PASSWORD }),
    ]);
    expect(other.code).toBe(1);
    expect(JSON.parse(other.stdout).error.code).toBe('remote_user_mismatch');
  });

  it('refuses an unenrolled key and a revoked one at the relay', async () => {
    const stranger = join(tmp.dir, 'stranger.json');
    writeFileSync(
      stranger,
      JSON.stringify({ ...readKeys(keys), seed: toBase64(nacl.randomBytes(32)), session: undefined }),
    );
    const refused = await remote(['call', '--keys', stranger, '--relay', node2.url, 'GET', '/api/v1/devices']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('device_not_enrolled');

    const tablet = join(tmp.dir, 'tablet.json');
    expect(
      (
        await remote([
          'enroll',
          '--hub',
          hub.baseUrl,
          '--username',
          'owner',
          '--password',
          PASSWORD,
          '--keys',
          tablet,
          '--name',
          'tablet',
        ])
      ).code,
    ).toBe(0);
    expect(
      (await remote(['call', '--keys', tablet, '--relay', node1.url, '--password', PASSWORD, 'GET', '/api/v1/me']))
        .code,
    ).toBe(0);
    const id = readKeys(tablet).deviceId;
    // An open session of the revoked device ends too, not only new ones.
    const open = await RemoteClient.connect(readKeys(tablet), node2.url);
    expect((await api(hub.baseUrl, 'DELETE', `/api/v1/remote/devices/${id}`, { token })).status).toBe(204);
    await waitFor(async () => (open.failure ? true : undefined), 'open session closed');
    expect(open.failure!.code).toBe('device_revoked');
    const revoked = await remote(['call', '--keys', tablet, '--relay', node2.url, 'GET', '/api/v1/me']);
    expect(revoked.code).toBe(3);
    expect(revoked.stderr).toContain('device_revoked');
    expect((await api(hub.baseUrl, 'DELETE', `/api/v1/remote/devices/${id}`, { token })).body.error.code).toBe(
      'remote_device_not_found',
    );
    // The revocation rotated the home key: the device that stays gets the new one at its next login.
    expect((await remote(['login', '--keys', keys, '--relay', node2.url, '--password', PASSWORD])).code).toBe(0);
  });

  it('an oversized frame gets frame_too_large and a flood rate_limited, while another home keeps working', async () => {
    const file = readKeys(keys);
    const big = await RemoteClient.connect(file, node2.url);
    await expect(
      big.call('POST', '/api/v1/devices', { token: file.session!.accessToken, body: { name: 'x'.repeat(MAX_FRAME) } }),
    ).rejects.toMatchObject({ code: 'frame_too_large' });

    const flooder = await RemoteClient.connect(file, node2.url);
    const results = await Promise.allSettled(Array.from({ length: 150 }, () => flooder.call('GET', '/api/v1/health')));
    const codes = results.map((r) => (r.status === 'fulfilled' ? r.value.status : (r.reason as ProtocolError).code));
    expect(codes).toContain('rate_limited');
    expect(codes).toContain(200);
    // Home B, on the same node, during and after the flood.
    const during = Promise.allSettled(Array.from({ length: 100 }, () => flooder.call('GET', '/api/v1/health')));
    const b = await remote([
      'call',
      '--keys',
      keysB,
      '--relay',
      node2.url,
      '--password',
      PASSWORD,
      'GET',
      '/api/v1/me',
    ]);
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout).username).toBe('bea');
    await during;
    flooder.close();
  });

  it('node 1 killed: the hub is back through node 2 and the next request works', async () => {
    // A client connected through node 2 while the hub's tunnel is on node 1.
    const file = readKeys(keys);
    const before = await RemoteClient.connect(file, node2.url);
    expect((await before.call('GET', '/api/v1/me', { token: file.session!.accessToken })).status).toBe(200);
    await node1.kill9();
    // Its session died with node 1: it is told so (no request left hanging) and reconnects.
    await expect(
      waitFor(async () => {
        try {
          await before.call('GET', '/api/v1/me', { token: file.session!.accessToken });
          return undefined;
        } catch (err) {
          return err;
        }
      }, 'the old session to fail'),
    ).resolves.toMatchObject({ code: 'hub_offline' });
    const answer = await waitFor(async () => {
      const r = await remote(['call', '--keys', keys, '--relay', node2.url, 'GET', `/api/v1/devices/${deviceId}`]);
      return r.code === 0 ? JSON.parse(r.stdout) : undefined;
    }, 'a call through node 2 after node 1 died');
    expect(answer).toMatchObject({ id: deviceId, state: { switch: true } });
  });

  it('hub stopped: the client gets the last-known state with the time it went offline', async () => {
    const before = Date.now();
    await hub.stop();
    const offline = await waitFor(async () => {
      const r = await remote(['call', '--keys', keys, '--relay', node2.url, 'GET', '/api/v1/devices']);
      return r.code === 0 && r.stdout.includes('"offline":true') ? r : undefined;
    }, 'the offline answer');
    const body = JSON.parse(offline.stdout);
    expect(body.offlineSince).toBeGreaterThanOrEqual(before);
    expect(body.devices).toEqual([
      expect.objectContaining({
        id: deviceId,
        name: SECRET_NAME,
        state: expect.objectContaining({ switch: true, power: SECRET_WATTS }),
      }),
    ]);
    expect(offline.stderr).toContain('hub offline since');

    const other = await remote(['call', '--keys', keys, '--relay', node2.url, 'GET', '/api/v1/me']);
    expect(other.code).toBe(3);
    expect(other.stderr).toContain('hub_offline');
  });

  it("neither the Redis dump nor the nodes' logs contain device names or state values", async () => {
    const client = new Redis(redis.url);
    try {
      expect(Number(await client.dbsize())).toBeGreaterThan(0);
      await client.save();
    } finally {
      client.disconnect();
    }
    const dump = readFileSync(join(tmp.dir, 'dump.rdb'));
    expect(dump.includes(':state')).toBe(true); // the blob is there, sealed
    for (const text of [dump.toString('latin1'), node1.output.join('\n'), node2.output.join('\n')]) {
      expect(text).not.toContain(SECRET_NAME);
      expect(text).not.toContain('Zanzibar');
      expect(text).not.toContain(String(SECRET_WATTS));
      expect(text).not.toContain('"switch"');
    }
  });

  it('Redis gone: a device gets relay_unavailable, the node keeps running', async () => {
    await redis.stop();
    await expect(RemoteClient.connect(readKeys(keys), node2.url)).rejects.toMatchObject({ code: 'relay_unavailable' });
    const health = await fetch(`http://127.0.0.1:${node2.port}/health`);
    expect(health.status).toBe(200);
  });
});
