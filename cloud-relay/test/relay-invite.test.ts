import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubProcess } from '../../hub/test/helpers/hub-process.ts';
import { api, setupOwner } from '../../hub/test/helpers/http.ts';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { readKeys, writeKeys } from '../src/cli/keys-file.ts';
import { RemoteClient } from '@hearth/protocol/client';
import { fromBase64, fromUtf8, toBase64 } from '@hearth/protocol/encoding';
import { parseInviteLink } from '@hearth/protocol/invite';
import { newDeviceKeys } from '@hearth/protocol/keys';
import { openFromHub } from '@hearth/protocol/state-blob';
import { remote, startRelay, waitFor, type RelayProcess } from './helpers/processes.ts';

const PASSWORD = 'correct horse battery';
const UI_DIST = fileURLToPath(new URL('../../ui/dist', import.meta.url));

/**
 * Enrolment by invite link and the web app on the relay's origin: how a phone away from home
 * gets the app (a secure context, so it can be installed) and its own key, from a link a user
 * made on the LAN. A real relay node serving the real UI build, a real hub, `hearth-remote`.
 */
describe('relay: invite links and the web app on the relay origin', () => {
  let tmp: ReturnType<typeof tempDir>;
  let relay: RelayProcess;
  let hub: HubProcess;
  let owner: string;
  let member: string;
  let laptop: string;

  beforeAll(async () => {
    tmp = tempDir('hearth-invite-');
    relay = await startRelay(['--data', join(tmp.dir, 'relay'), '--ui', UI_DIST]);
    hub = await startHub(join(tmp.dir, 'hub'), ['--relay', relay.url]);
    owner = await setupOwner(hub, 'owner', PASSWORD);
    expect(
      (
        await api(hub.baseUrl, 'POST', '/api/v1/users', {
          token: owner,
          body: { username: 'mia', password: PASSWORD, role: 'member' },
        })
      ).status,
    ).toBe(201);
    member = (await api(hub.baseUrl, 'POST', '/api/v1/auth/login', { body: { username: 'mia', password: PASSWORD } }))
      .body.accessToken;
    await waitFor(async () => (hub.logs.some((l) => l.msg === 'relay tunnel up') ? true : undefined), 'hub tunnel up');
    laptop = join(tmp.dir, 'laptop.json');
    expect(
      (await remote(['enroll', '--hub', hub.baseUrl, '--username', 'owner', '--password', PASSWORD, '--keys', laptop]))
        .code,
    ).toBe(0);
  });

  afterAll(async () => {
    await hub?.kill9();
    await relay?.kill9();
    tmp?.cleanup();
  });

  const inviteAs = async (token: string, name?: string) => {
    const res = await api(hub.baseUrl, 'POST', '/api/v1/remote/invites', { token, body: name ? { name } : {} });
    expect(res.status).toBe(201);
    return res.body as { id: string; link: string; expiresAt: number; name: string };
  };

  it('the relay serves the web app marked as relay-origin, hashed assets for good, nothing outside the build', async () => {
    const web = `http://127.0.0.1:${relay.port}`;
    const page = await fetch(`${web}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('<meta name="hearth-origin" content="relay">');
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const js = await fetch(`${web}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${web}/sw.js`)).status).toBe(200);
    for (const path of ['/../package.json', '/assets/../../package.json', '/%2e%2e/package.json', '/api/v1/devices']) {
      expect((await fetch(`${web}${path}`)).status, path).toBe(426);
    }
    expect((await fetch(`${web}/health`)).status).toBe(200);
  });

  it('an invite is made on the LAN only, by a logged-in user, and names the relay web origin', async () => {
    expect((await api(hub.baseUrl, 'POST', '/api/v1/remote/invites', { body: {} })).status).toBe(401);
    const invite = await inviteAs(member, "Mia's phone");
    expect(invite.link.startsWith(`http://127.0.0.1:${relay.port}/#invite=`)).toBe(true);
    expect(parseInviteLink(invite.link).hubId).toBe(readKeys(laptop).hubId);
    // Through the relay (even by the owner): local_only.
    const remoteInvite = await remote([
      'call',
      '--keys',
      laptop,
      '--password',
      PASSWORD,
      'POST',
      '/api/v1/remote/invites',
      '{}',
    ]);
    expect(remoteInvite.code).toBe(1);
    expect(JSON.parse(remoteInvite.stdout).error.code).toBe('local_only');
    // The member sees their own open invite; the owner (admin) sees it too.
    expect(
      (await api(hub.baseUrl, 'GET', '/api/v1/remote/invites', { token: member })).body.map(
        (i: { id: string }) => i.id,
      ),
    ).toContain(invite.id);
    expect(
      (await api(hub.baseUrl, 'GET', '/api/v1/remote/invites', { token: owner })).body.map((i: { id: string }) => i.id),
    ).toContain(invite.id);
  });

  it('redeeming enrols a fresh key for the inviting user; the device still needs that user’s password', async () => {
    const invite = await inviteAs(member, "Mia's phone");
    const phone = join(tmp.dir, 'phone.json');
    const redeemed = await remote(['redeem', '--link', invite.link, '--keys', phone, '--name', "Mia's phone"]);
    expect(redeemed.code, redeemed.stderr).toBe(0);
    const keys = readKeys(phone);
    expect(keys.username).toBe('mia');
    expect(keys.seed).not.toBe(parseInviteLink(invite.link).seed);
    // The link alone gets no home key: the snapshot the relay keeps stays closed to it.
    expect(keys.homeKey).toBeNull();
    const closed = await remote(['state', '--keys', phone]);
    expect(closed.code).toBe(3);
    expect(closed.stderr).toMatch(/^hearth-remote: home_key_missing /);
    expect(closed.stdout).toBe('');
    // The hub lists the device as Mia's, with her role, and the invite is gone.
    const devices = (await api(hub.baseUrl, 'GET', '/api/v1/remote/devices', { token: member })).body as {
      id: string;
      username: string;
      role: string;
    }[];
    expect(devices.find((d) => d.id === keys.deviceId)).toMatchObject({ username: 'mia', role: 'member' });
    expect(
      (await api(hub.baseUrl, 'GET', '/api/v1/remote/invites', { token: member })).body.map(
        (i: { id: string }) => i.id,
      ),
    ).not.toContain(invite.id);
    // No token yet: the API answers 401 until Mia logs in through the relay with her password.
    const anonymous = await remote(['call', '--keys', phone, 'GET', '/api/v1/me']);
    expect(anonymous.code).toBe(1);
    expect(JSON.parse(anonymous.stdout).error.code).toBe('unauthorized');
    const ownerLogin = await remote([
      'call',
      '--keys',
      phone,
      'POST',
      '/api/v1/auth/login',
      JSON.stringify({ username: 'owner', password: PASSWORD }),
    ]);
    expect(JSON.parse(ownerLogin.stdout).error.code).toBe('remote_user_mismatch');
    const me = await remote(['call', '--keys', phone, '--password', PASSWORD, 'GET', '/api/v1/me']);
    expect(me.code, me.stderr).toBe(0);
    expect(JSON.parse(me.stdout).username).toBe('mia');
    // Logged in with her password: the login's answer brought the home key, the snapshot opens.
    expect(readKeys(phone).homeKey).not.toBeNull();
    const state = await remote(['state', '--keys', phone]);
    expect(state.code, state.stderr).toBe(0);
    expect(JSON.parse(state.stdout)).toMatchObject({ hubOnline: true, snapshotError: null, snapshot: { devices: [] } });
  });

  it('the redeem answer itself carries no home key; a login answer through the relay does, sealed to that device', async () => {
    const invite = await inviteAs(member);
    const parsed = parseInviteLink(invite.link);
    const holder = await RemoteClient.connect({
      seed: parsed.seed,
      deviceId: 'invite',
      username: '',
      hubId: parsed.hubId,
      relayUrls: [parsed.relayUrl],
      homeKey: null,
    });
    const keys = newDeviceKeys();
    let deviceId: string;
    try {
      const res = await holder.call('POST', '/api/v1/remote/invites/redeem', {
        body: { publicKey: toBase64(keys.sign.publicKey), boxPublicKey: toBase64(keys.box.publicKey), name: 'raw' },
      });
      expect(res.status).toBe(201);
      const body = JSON.parse(fromUtf8(res.body)) as { homeKey: unknown; device: { id: string } };
      expect(body.homeKey).toBeNull();
      deviceId = body.device.id;
    } finally {
      holder.close();
    }
    const device = {
      seed: toBase64(keys.seed),
      deviceId,
      username: 'mia',
      hubId: parsed.hubId,
      relayUrls: [parsed.relayUrl],
      homeKey: null as string | null,
    };
    const client = await RemoteClient.connect(device);
    try {
      // A wrong password: 401 and still no key.
      const wrong = await client.call('POST', '/api/v1/auth/login', {
        body: { username: 'mia', password: 'not her password' },
      });
      expect(wrong.status).toBe(401);
      expect(device.homeKey).toBeNull();
      const login = await client.call('POST', '/api/v1/auth/login', { body: { username: 'mia', password: PASSWORD } });
      expect(login.status).toBe(200);
      const session = JSON.parse(fromUtf8(login.body)) as { homeKey: string; refreshToken: string };
      // Sealed to this device's box key: it opens with the device's secret, to the hub's home key.
      const homeKey = openFromHub(fromBase64(session.homeKey), keys.box.secretKey);
      expect(homeKey.length).toBe(32);
      expect(device.homeKey).toBe(session.homeKey);
      const state = await client.lastState();
      expect(state.snapshotError).toBeNull();
      expect(state.snapshot?.devices).toEqual([]);
      // A refresh answers it too (devices that stay get a rotated key this way).
      const refreshed = await client.call('POST', '/api/v1/auth/refresh', {
        body: { refreshToken: session.refreshToken },
      });
      expect(refreshed.status).toBe(200);
      expect(
        openFromHub(
          fromBase64((JSON.parse(fromUtf8(refreshed.body)) as { homeKey: string }).homeKey),
          keys.box.secretKey,
        ),
      ).toEqual(homeKey);
    } finally {
      client.close();
    }
    // On the LAN a login answers no home key (there is no device to seal it to).
    const lan = await api(hub.baseUrl, 'POST', '/api/v1/auth/login', { body: { username: 'mia', password: PASSWORD } });
    expect(lan.body.homeKey).toBeUndefined();
  });

  it('a link works once', async () => {
    const invite = await inviteAs(member);
    expect((await remote(['redeem', '--link', invite.link, '--keys', join(tmp.dir, 'once-1.json')])).code).toBe(0);
    const again = await remote(['redeem', '--link', invite.link, '--keys', join(tmp.dir, 'once-2.json')]);
    expect(again.code).toBe(3);
    // Within a few seconds the hub refuses it; after that the relay no longer admits the key.
    expect(again.stderr).toMatch(/hearth-remote: (invite_not_found|device_not_enrolled)\n/);
    await waitFor(
      async () => {
        const late = await remote(['redeem', '--link', invite.link, '--keys', join(tmp.dir, 'once-3.json')]);
        return late.stderr.includes('device_not_enrolled') ? true : undefined;
      },
      'the relay drops the redeemed invite key',
      30_000,
      1000,
    );
  });

  it('an invite key can only redeem: every other call, events, live views and logins answer invite_only', async () => {
    const invite = await inviteAs(member);
    const parsed = parseInviteLink(invite.link);
    const client = await RemoteClient.connect({
      seed: parsed.seed,
      deviceId: 'invite',
      username: '',
      hubId: parsed.hubId,
      relayUrls: [parsed.relayUrl],
      homeKey: null,
    });
    try {
      for (const [method, path, body] of [
        ['GET', '/api/v1/devices', undefined],
        ['POST', '/api/v1/auth/login', { username: 'mia', password: PASSWORD }],
        ['GET', '/api/v1/remote/status', undefined],
      ] as const) {
        const res = await client.call(method, path, body ? { body } : {});
        expect(res.status, path).toBe(403);
        expect(JSON.parse(fromUtf8(res.body)).error.code, path).toBe('invite_only');
      }
      // Even with a real token of the inviting user: the invite key opens no stream.
      await expect(client.subscribe(member, () => {})).rejects.toMatchObject({ code: 'invite_only' });
      await expect(client.live(member, 'any-camera', () => {})).rejects.toMatchObject({ code: 'invite_only' });
    } finally {
      client.close();
    }
    // The invite itself is still good after all that.
    expect((await remote(['redeem', '--link', invite.link, '--keys', join(tmp.dir, 'after.json')])).code).toBe(0);
    // The redeem route answers invite_only to anyone but an invite key: on the LAN, and to an enrolled device.
    const lan = await api(hub.baseUrl, 'POST', '/api/v1/remote/invites/redeem', {
      token: owner,
      body: { publicKey: 'A'.repeat(44), boxPublicKey: 'A'.repeat(44), name: 'x' },
    });
    expect(lan.status).toBe(403);
    expect(lan.body.error.code).toBe('invite_only');
    const enrolled = await remote([
      'call',
      '--keys',
      laptop,
      'POST',
      '/api/v1/remote/invites/redeem',
      JSON.stringify({ publicKey: 'A'.repeat(44), boxPublicKey: 'A'.repeat(44), name: 'x' }),
    ]);
    expect(JSON.parse(enrolled.stdout).error.code).toBe('invite_only');
  });

  it('a withdrawn invite and a removed user’s invite no longer enrol anyone; a mangled link says so', async () => {
    const withdrawn = await inviteAs(member);
    expect((await api(hub.baseUrl, 'DELETE', `/api/v1/remote/invites/${withdrawn.id}`, { token: member })).status).toBe(
      204,
    );
    expect(
      (await api(hub.baseUrl, 'DELETE', `/api/v1/remote/invites/${withdrawn.id}`, { token: member })).body.error.code,
    ).toBe('invite_not_found');
    const refused = await remote(['redeem', '--link', withdrawn.link, '--keys', join(tmp.dir, 'withdrawn.json')]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('device_not_enrolled');

    expect(
      (
        await api(hub.baseUrl, 'POST', '/api/v1/users', {
          token: owner,
          body: { username: 'leo', password: PASSWORD, role: 'member' },
        })
      ).status,
    ).toBe(201);
    const leo = (
      await api(hub.baseUrl, 'POST', '/api/v1/auth/login', { body: { username: 'leo', password: PASSWORD } })
    ).body;
    const leosInvite = await inviteAs(leo.accessToken);
    const users = (await api(hub.baseUrl, 'GET', '/api/v1/users', { token: owner })).body as {
      id: string;
      username: string;
    }[];
    expect(
      (
        await api(hub.baseUrl, 'DELETE', `/api/v1/users/${users.find((u) => u.username === 'leo')!.id}`, {
          token: owner,
        })
      ).status,
    ).toBe(204);
    expect(
      (await api(hub.baseUrl, 'GET', '/api/v1/remote/invites', { token: owner })).body.map((i: { id: string }) => i.id),
    ).not.toContain(leosInvite.id);
    const gone = await remote(['redeem', '--link', leosInvite.link, '--keys', join(tmp.dir, 'leo.json')]);
    expect(gone.code).toBe(3);
    expect(gone.stderr).toContain('device_not_enrolled');

    const mangled = await remote([
      'redeem',
      '--link',
      withdrawn.link.slice(0, -5),
      '--keys',
      join(tmp.dir, 'mangled.json'),
    ]);
    expect(mangled.code).toBe(3);
    expect(mangled.stderr).toContain('invalid_invite');
  });

  it("an admin manages members' and admins' remote devices but not an owner's: 403 forbidden", async () => {
    expect(
      (
        await api(hub.baseUrl, 'POST', '/api/v1/users', {
          token: owner,
          body: { username: 'ada', password: PASSWORD, role: 'admin' },
        })
      ).status,
    ).toBe(201);
    const ada = (
      await api(hub.baseUrl, 'POST', '/api/v1/auth/login', { body: { username: 'ada', password: PASSWORD } })
    ).body.accessToken as string;
    const ownersDevice = readKeys(laptop).deviceId;
    // Listed to the admin, so 403 rather than 404; nothing changes.
    expect(
      (await api(hub.baseUrl, 'GET', '/api/v1/remote/devices', { token: ada })).body.map((d: { id: string }) => d.id),
    ).toContain(ownersDevice);
    const revoke = await api(hub.baseUrl, 'DELETE', `/api/v1/remote/devices/${ownersDevice}`, { token: ada });
    expect(revoke.status).toBe(403);
    expect(revoke.body.error.code).toBe('forbidden');
    const repoint = await api(hub.baseUrl, 'PUT', `/api/v1/remote/devices/${ownersDevice}/push`, {
      token: ada,
      body: { endpoint: 'https://push.example/attacker', keys: { p256dh: 'BBBB', auth: 'AAAA' } },
    });
    expect(repoint.status).toBe(403);
    expect(repoint.body.error.code).toBe('forbidden');
    const clear = await api(hub.baseUrl, 'DELETE', `/api/v1/remote/devices/${ownersDevice}/push`, { token: ada });
    expect(clear.body.error.code).toBe('forbidden');
    expect(
      (await api(hub.baseUrl, 'POST', `/api/v1/remote/devices/${ownersDevice}/push/test`, { token: ada })).body.error
        .code,
    ).toBe('forbidden');
    // Also through the relay, from the admin's own device.
    const adaKeys = join(tmp.dir, 'ada.json');
    expect(
      (await remote(['enroll', '--hub', hub.baseUrl, '--username', 'ada', '--password', PASSWORD, '--keys', adaKeys]))
        .code,
    ).toBe(0);
    const viaRelay = await remote([
      'call',
      '--keys',
      adaKeys,
      '--password',
      PASSWORD,
      'DELETE',
      `/api/v1/remote/devices/${ownersDevice}`,
    ]);
    expect(viaRelay.code).toBe(1);
    expect(JSON.parse(viaRelay.stdout).error.code).toBe('forbidden');
    // The owner's device still works.
    expect((await remote(['call', '--keys', laptop, '--password', PASSWORD, 'GET', '/api/v1/me'])).code).toBe(0);
    // A member's device: the admin may re-point and revoke it; the owner may revoke the admin's.
    const miaKeys = join(tmp.dir, 'mia-admin-managed.json');
    expect(
      (await remote(['enroll', '--hub', hub.baseUrl, '--username', 'mia', '--password', PASSWORD, '--keys', miaKeys]))
        .code,
    ).toBe(0);
    const miasDevice = readKeys(miaKeys).deviceId;
    expect((await api(hub.baseUrl, 'DELETE', `/api/v1/remote/devices/${miasDevice}/push`, { token: ada })).status).toBe(
      204,
    );
    expect((await api(hub.baseUrl, 'DELETE', `/api/v1/remote/devices/${miasDevice}`, { token: ada })).status).toBe(204);
    expect(
      (await api(hub.baseUrl, 'DELETE', `/api/v1/remote/devices/${readKeys(adaKeys).deviceId}`, { token: owner }))
        .status,
    ).toBe(204);
  });

  it('removing a device or a user rotates the home key: the old key opens no later snapshot, a login gets the new one', async () => {
    // Fresh key on the laptop first (earlier tests may have removed devices).
    expect((await remote(['login', '--keys', laptop, '--password', PASSWORD])).code).toBe(0);
    const before = await remote(['state', '--keys', laptop]);
    expect(before.code, before.stderr).toBe(0);
    const oldKey = readKeys(laptop).homeKey;

    const spare = join(tmp.dir, 'spare.json');
    expect(
      (await remote(['enroll', '--hub', hub.baseUrl, '--username', 'mia', '--password', PASSWORD, '--keys', spare]))
        .code,
    ).toBe(0);
    // The spare device had the same key as the laptop (sealed to its own box key).
    expect(readKeys(spare).homeKey).not.toBeNull();
    expect(
      (await api(hub.baseUrl, 'DELETE', `/api/v1/remote/devices/${readKeys(spare).deviceId}`, { token: member }))
        .status,
    ).toBe(204);
    // The relay's snapshot is sealed anew at once; the key the removed device held no longer opens it.
    await waitFor(
      async () => {
        const after = await remote(['state', '--keys', laptop]);
        return after.code === 3 && after.stderr.startsWith('hearth-remote: state_unreadable ') ? true : undefined;
      },
      'the snapshot sealed with a new home key',
      20_000,
      300,
    );
    expect((await remote(['login', '--keys', laptop, '--password', PASSWORD])).code).toBe(0);
    expect(readKeys(laptop).homeKey).not.toBe(oldKey);
    const opened = await remote(['state', '--keys', laptop]);
    expect(opened.code, opened.stderr).toBe(0);
    expect(JSON.parse(opened.stdout).snapshotError).toBeNull();

    // Removing a user with a device rotates it again.
    expect(
      (
        await api(hub.baseUrl, 'POST', '/api/v1/users', {
          token: owner,
          body: { username: 'zoe', password: PASSWORD, role: 'member' },
        })
      ).status,
    ).toBe(201);
    const zoe = join(tmp.dir, 'zoe.json');
    expect(
      (await remote(['enroll', '--hub', hub.baseUrl, '--username', 'zoe', '--password', PASSWORD, '--keys', zoe])).code,
    ).toBe(0);
    const secondKey = readKeys(laptop).homeKey;
    const users = (await api(hub.baseUrl, 'GET', '/api/v1/users', { token: owner })).body as {
      id: string;
      username: string;
    }[];
    expect(
      (
        await api(hub.baseUrl, 'DELETE', `/api/v1/users/${users.find((u) => u.username === 'zoe')!.id}`, {
          token: owner,
        })
      ).status,
    ).toBe(204);
    await waitFor(
      async () => {
        const after = await remote(['state', '--keys', laptop]);
        return after.code === 3 && after.stderr.includes('state_unreadable') ? true : undefined;
      },
      'the snapshot sealed with a newer home key',
      20_000,
      300,
    );
    // A refresh (not only a password login) brings the new key to a device that stays: the CLI
    // refreshes an access token about to expire.
    const file = readKeys(laptop);
    writeKeys(laptop, { ...file, session: { ...file.session!, accessExpiresAt: 0 } });
    const refreshed = await remote(['call', '--keys', laptop, 'GET', '/api/v1/me']);
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(readKeys(laptop).homeKey).not.toBe(secondKey);
    expect((await remote(['state', '--keys', laptop])).code).toBe(0);
  });
});
