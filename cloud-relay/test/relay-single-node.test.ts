import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHubCli, startHub, type HubProcess } from '../../hub/test/helpers/hub-process.ts';
import { api, setupOwner } from '../../hub/test/helpers/http.ts';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { readKeys } from '../src/cli/keys-file.ts';
import { RemoteClient } from '@hearth/protocol/client';
import { fromUtf8 } from '@hearth/protocol/encoding';
import { WINDOW } from '@hearth/protocol/mux';
import { remote, startRelay, waitFor, type RelayProcess } from './helpers/processes.ts';
import { PushService, openPush, vapidKey } from './helpers/push-service.ts';

const PASSWORD = 'correct horse battery';
const DEVICES = 300;

/**
 * The embedded default: one relay node, no Redis, blobs and presence in SQLite. Also where the
 * per-stream flow control is shown: a response larger than the window waits for credit while
 * another request on the same session completes.
 */
describe('relay: one node with SQLite', () => {
  let tmp: ReturnType<typeof tempDir>;
  let relay: RelayProcess;
  let hub: HubProcess;
  let token: string;
  let keys: string;
  let pushService: PushService;

  beforeAll(async () => {
    tmp = tempDir('hearth-relay1-');
    pushService = new PushService();
    await pushService.start();
    relay = await startRelay(['--data', join(tmp.dir, 'relay'), '--push-allow-loopback']);
    hub = await startHub(join(tmp.dir, 'hub'), ['--relay', relay.url]);
    token = await setupOwner(hub, 'owner', PASSWORD);
    await waitFor(async () => (hub.logs.some((l) => l.msg === 'relay tunnel up') ? true : undefined), 'hub tunnel up');
    keys = join(tmp.dir, 'laptop.json');
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
  });

  afterAll(async () => {
    await hub?.kill9();
    await relay?.kill9();
    await pushService?.stop();
    tmp?.cleanup();
  });

  it('a relay setting that is not ws:// or wss:// URLs stops the hub with exit 2 naming the key', async () => {
    for (const bad of ['http://relay.example', 'ws://a,', 'relay']) {
      const res = await runHubCli(['--data', join(tmp.dir, 'bad'), '--mdns', 'off', '--relay', bad]);
      expect(res.code).toBe(2);
      expect(res.stderr).toContain("'relay'");
    }
  });

  it('a LAN request cannot pass itself off as remote; pairing a plug is LAN-only', async () => {
    const forged = await fetch(`${hub.baseUrl}/api/v1/me`, {
      headers: { authorization: `Bearer ${token}`, 'x-hearth-remote': 'guess.whatever' },
    });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    const pair = await remote([
      'call',
      '--keys',
      keys,
      'POST',
      '/api/v1/plugs/plug-0123456789ab/pair',
      JSON.stringify({ setupCode: '12345678', name: 'p' }),
    ]);
    expect(pair.code).toBe(1);
    expect(JSON.parse(pair.stdout).error.code).toBe('local_only');
  });

  it("an owner's phone through the relay may watch a hub update but not upload, fetch or start one", async () => {
    // A stolen phone enrolled for the owner: an update replaces all the hub's code and starts
    // with a backup under a passphrase of the caller's choosing (docs/update.md).
    for (const [method, path, body] of [
      ['PUT', '/api/v1/update/package', '{}'],
      ['POST', '/api/v1/update/fetch', '{}'],
      ['POST', '/api/v1/update', JSON.stringify({ passphrase: 'a long enough passphrase' })],
    ] as const) {
      const res = await remote(['call', '--keys', keys, method, path, body]);
      expect([path, res.code, JSON.parse(res.stdout).error.code]).toEqual([path, 1, 'local_only']);
    }
    const view = await remote(['call', '--keys', keys, 'GET', '/api/v1/update']);
    expect(view.code, view.stderr).toBe(0);
    expect(JSON.parse(view.stdout)).toMatchObject({ version: expect.any(String), update: null });
  });

  it('the hub reports its remote status: configured, connected, its hub id', async () => {
    const status = await api(hub.baseUrl, 'GET', '/api/v1/remote/status', { token });
    expect(status.status).toBe(200);
    expect(status.body).toEqual({
      configured: true,
      connected: true,
      hubId: readKeys(keys).hubId,
      relayUrls: [relay.url],
    });
  });

  it('enrolment needs a logged-in user and valid keys; without a relay configured it is refused', async () => {
    expect(
      (
        await api(hub.baseUrl, 'POST', '/api/v1/remote/devices', {
          body: { publicKey: 'x', boxPublicKey: 'y', name: 'n' },
        })
      ).status,
    ).toBe(401);
    const bad = await api(hub.baseUrl, 'POST', '/api/v1/remote/devices', {
      token,
      body: { publicKey: 'A'.repeat(44), boxPublicKey: 'B'.repeat(40), name: 'n' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
    // A hub without --relay: no relay to tell, so no enrolment.
    const lone = await startHub(join(tmp.dir, 'lone'));
    try {
      const loneToken = await setupOwner(lone, 'solo', PASSWORD);
      const res = await api(lone.baseUrl, 'POST', '/api/v1/remote/devices', {
        token: loneToken,
        body: { publicKey: `${'A'.repeat(43)}=`, boxPublicKey: `${'B'.repeat(43)}=`, name: 'n' },
      });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('relay_not_configured');
    } finally {
      await lone.kill9();
    }
  });

  it('a response larger than the window waits for credit while a small request completes', async () => {
    // 300 devices with long names and every capability: a device list of several windows.
    const capabilities = [
      'switch',
      'brightness',
      'color_temp',
      'power',
      'energy',
      'voltage',
      'current',
      'temperature',
      'humidity',
      'illuminance',
      'battery',
      'motion',
      'contact',
      'occupancy',
      'button',
      'lock',
      'setpoint',
    ];
    for (let i = 0; i < DEVICES; i++) {
      expect(
        (
          await api(hub.baseUrl, 'POST', '/api/v1/devices', {
            token,
            body: { name: `device ${i} ${'n'.repeat(80)}`, driver: 'mqtt', capabilities },
          })
        ).status,
      ).toBe(201);
    }
    const lan = await api(hub.baseUrl, 'GET', '/api/v1/devices', { token });
    expect(JSON.stringify(lan.body).length).toBeGreaterThan(2 * WINDOW);

    const file = readKeys(keys);
    const client = await RemoteClient.connect(file);
    try {
      const big = client.request('GET', '/api/v1/devices', { token: file.session!.accessToken, autoCredit: false });
      let bigDone = false;
      void big.response.then(
        () => {
          bigDone = true;
        },
        () => {
          bigDone = true;
        },
      );
      const me = await client.call('GET', '/api/v1/me', { token: file.session!.accessToken });
      expect(me.status).toBe(200);
      expect(JSON.parse(fromUtf8(me.body)).username).toBe('owner');
      // The big one cannot have finished: it has used its window and got no credit.
      expect(bigDone).toBe(false);
      client.credit(big.stream, 4 * 1024 * 1024);
      const response = await big.response;
      expect(response.status).toBe(200);
      expect(JSON.parse(fromUtf8(response.body))).toEqual(lan.body);
    } finally {
      client.close();
    }
  });

  it('through the relay a playback or clip may span one minute: longer is refused by the hub with remote_range_too_long', async () => {
    const to = Date.now() - 5_000;
    for (const kind of ['playback', 'clip']) {
      const long = await remote([
        'call',
        '--keys',
        keys,
        'GET',
        `/api/v1/cameras/no-such-camera/${kind}?from=${to - 60_001}&to=${to}`,
      ]);
      expect(long.code).toBe(1);
      expect(JSON.parse(long.stdout).error.code).toBe('remote_range_too_long');
      // Only `from`: up to now, so also longer than a minute.
      const open = await remote([
        'call',
        '--keys',
        keys,
        'GET',
        `/api/v1/cameras/no-such-camera/${kind}?from=${to - 120_000}`,
      ]);
      expect(JSON.parse(open.stdout).error.code).toBe('remote_range_too_long');
      // A minute passes the check (and then meets the route's own: no such camera).
      const minute = await remote([
        'call',
        '--keys',
        keys,
        'GET',
        `/api/v1/cameras/no-such-camera/${kind}?from=${to - 60_000}&to=${to}`,
      ]);
      expect(JSON.parse(minute.stdout).error.code).not.toBe('remote_range_too_long');
      // The LAN keeps its own, longer limit.
      const lan = await api(
        hub.baseUrl,
        'GET',
        `/api/v1/cameras/no-such-camera/${kind}?from=${to - 120_000}&to=${to}`,
        { token },
      );
      expect(lan.body.error.code).not.toBe('remote_range_too_long');
    }
  });

  it('a test notification is encrypted for the device by the hub and only posted by the relay', async () => {
    const deviceId = readKeys(keys).deviceId;
    const sub = pushService.subscription('laptop');
    const bad = await api(hub.baseUrl, 'PUT', `/api/v1/remote/devices/${deviceId}/push`, {
      token,
      body: { ...sub.json, keys: { ...sub.json.keys, p256dh: 'AAAA' } },
    });
    expect(bad.body.error.code).toBe('validation_failed');
    // Set through the relay, as a phone would.
    const set = await remote([
      'call',
      '--keys',
      keys,
      'PUT',
      `/api/v1/remote/devices/${deviceId}/push`,
      JSON.stringify(sub.json),
    ]);
    expect(set.code, set.stdout).toBe(0);

    const sent = await api(hub.baseUrl, 'POST', `/api/v1/remote/devices/${deviceId}/push/test`, { token });
    expect(sent.status).toBe(200);
    expect(sent.body.results).toEqual([{ deviceId, status: 201 }]);
    expect(pushService.received).toHaveLength(1);
    const push = pushService.received[0]!;
    expect(push.path).toBe('/push/laptop');
    expect(push.headers['content-encoding']).toBe('aes128gcm');
    expect(JSON.parse(openPush(push.body, sub.ua, sub.auth))).toMatchObject({
      title: 'Hearth',
      body: 'Test notification',
    });
    // Signed with the hub's VAPID key, the one a browser subscribes with.
    const pushKey = await api(hub.baseUrl, 'GET', '/api/v1/remote/push-key', { token });
    expect(vapidKey(push.headers.authorization as string)).toBe(pushKey.body.publicKey);
    expect(relay.output.join('\n')).not.toContain('Test notification');

    // The push service says the subscription expired: the hub forgets it.
    pushService.status = 410;
    expect(
      (await api(hub.baseUrl, 'POST', `/api/v1/remote/devices/${deviceId}/push/test`, { token })).body.results,
    ).toEqual([{ deviceId, status: 410 }]);
    expect(
      (await api(hub.baseUrl, 'POST', `/api/v1/remote/devices/${deviceId}/push/test`, { token })).body.results,
    ).toEqual([]);
    pushService.status = 201;

    // The relay is no open proxy: an IP literal (or plain http elsewhere than loopback) is refused.
    const internal = { ...sub.json, endpoint: 'https://10.0.0.1/push/x' };
    expect(
      (await api(hub.baseUrl, 'PUT', `/api/v1/remote/devices/${deviceId}/push`, { token, body: internal })).status,
    ).toBe(204);
    expect(
      (await api(hub.baseUrl, 'POST', `/api/v1/remote/devices/${deviceId}/push/test`, { token })).body.results,
    ).toEqual([{ deviceId, code: 'push_refused' }]);
    expect((await api(hub.baseUrl, 'DELETE', `/api/v1/remote/devices/${deviceId}/push`, { token })).status).toBe(204);
    expect(pushService.received).toHaveLength(2);
  });

  it("removing a user at the hub makes the relay refuse their device at once; another user's device keeps working", async () => {
    const bea = await api(hub.baseUrl, 'POST', '/api/v1/users', {
      token,
      body: { username: 'bea', password: PASSWORD, role: 'member' },
    });
    expect(bea.status).toBe(201);
    const phone = join(tmp.dir, 'bea-phone.json');
    expect(
      (
        await remote([
          'enroll',
          '--hub',
          hub.baseUrl,
          '--username',
          'bea',
          '--password',
          PASSWORD,
          '--keys',
          phone,
          '--name',
          'phone',
        ])
      ).code,
    ).toBe(0);
    const before = await remote(['call', '--keys', phone, '--password', PASSWORD, 'GET', '/api/v1/me']);
    expect(before.code, before.stderr).toBe(0);
    expect(JSON.parse(before.stdout).username).toBe('bea');

    expect((await api(hub.baseUrl, 'DELETE', `/api/v1/users/${bea.body.id}`, { token })).status).toBe(204);
    // The hub pushes the new signed device list through the tunnel; the relay applies it.
    const refused = await waitFor(async () => {
      const r = await remote(['call', '--keys', phone, 'GET', '/api/v1/me']);
      return r.code === 3 ? r : undefined;
    }, "the removed user's device refused");
    expect(refused.stderr).toContain('device_revoked');
    const owners = await remote(['call', '--keys', keys, 'GET', '/api/v1/me']);
    expect(owners.code, owners.stderr).toBe(0);
    expect(JSON.parse(owners.stdout).username).toBe('owner');
    // The removal rotated the home key: the owner's device gets the new one at its next login.
    expect((await remote(['login', '--keys', keys, '--password', PASSWORD])).code).toBe(0);
    const state = await remote(['state', '--keys', keys]);
    expect(state.code, state.stderr).toBe(0);
  });

  it('the last-known state and "offline since" survive a relay restart (SQLite)', async () => {
    await hub.stop();
    const offline = await waitFor(async () => {
      const r = await remote(['state', '--keys', keys]);
      const state = r.code === 0 ? JSON.parse(r.stdout) : undefined;
      return state && !state.hubOnline ? state : undefined;
    }, 'hub offline at the relay');
    expect(offline.snapshot.devices).toHaveLength(DEVICES);
    await relay.stop();
    relay = await startRelay(['--data', join(tmp.dir, 'relay'), '--port', String(relay.port)]);
    const after = await remote(['state', '--keys', keys]);
    expect(after.code, after.stderr).toBe(0);
    const state = JSON.parse(after.stdout);
    expect(state).toMatchObject({ hubOnline: false, offlineSince: offline.offlineSince, storedAt: offline.storedAt });
    expect(state.snapshot.devices.map((d: { name: string }) => d.name)).toContain(
      `device ${DEVICES - 1} ${'n'.repeat(80)}`,
    );
  });

  it('a restarted hub keeps its id and its enrolled devices: the same keys file works again', async () => {
    hub = await startHub(join(tmp.dir, 'hub'), ['--relay', relay.url]);
    const call = await waitFor(async () => {
      const r = await remote(['call', '--keys', keys, 'GET', '/api/v1/me']);
      return r.code === 0 ? r : undefined;
    }, 'a call after the hub restarted');
    expect(JSON.parse(call.stdout).username).toBe('owner');
    const state = JSON.parse((await remote(['state', '--keys', keys])).stdout);
    expect(state).toMatchObject({ hubOnline: true, offlineSince: null });
  });
});
