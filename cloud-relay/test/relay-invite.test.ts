import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubProcess } from '../../hub/test/helpers/hub-process.ts';
import { api, setupOwner } from '../../hub/test/helpers/http.ts';
import { tempDir } from '../../hub/test/helpers/temp.ts';
import { readKeys } from '../src/cli/keys-file.ts';
import { RemoteClient } from '../src/protocol/client.ts';
import { fromUtf8 } from '../src/protocol/encoding.ts';
import { parseInviteLink } from '../src/protocol/invite.ts';
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
    owner = await setupOwner(hub.baseUrl, 'owner', PASSWORD);
    expect((await api(hub.baseUrl, 'POST', '/api/v1/users', { token: owner, body: { username: 'mia', password: PASSWORD, role: 'member' } })).status).toBe(201);
    member = (await api(hub.baseUrl, 'POST', '/api/v1/auth/login', { body: { username: 'mia', password: PASSWORD } })).body.accessToken;
    await waitFor(async () => (hub.logs.some((l) => l.msg === 'relay tunnel up') ? true : undefined), 'hub tunnel up');
    laptop = join(tmp.dir, 'laptop.json');
    expect((await remote(['enroll', '--hub', hub.baseUrl, '--username', 'owner', '--password', PASSWORD, '--keys', laptop])).code).toBe(0);
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
    const remoteInvite = await remote(['call', '--keys', laptop, '--password', PASSWORD, 'POST', '/api/v1/remote/invites', '{}']);
    expect(remoteInvite.code).toBe(1);
    expect(JSON.parse(remoteInvite.stdout).error.code).toBe('local_only');
    // The member sees their own open invite; the owner (admin) sees it too.
    expect((await api(hub.baseUrl, 'GET', '/api/v1/remote/invites', { token: member })).body.map((i: { id: string }) => i.id)).toContain(invite.id);
    expect((await api(hub.baseUrl, 'GET', '/api/v1/remote/invites', { token: owner })).body.map((i: { id: string }) => i.id)).toContain(invite.id);
  });

  it('redeeming enrols a fresh key for the inviting user; the device still needs that user’s password', async () => {
    const invite = await inviteAs(member, "Mia's phone");
    const phone = join(tmp.dir, 'phone.json');
    const redeemed = await remote(['redeem', '--link', invite.link, '--keys', phone, '--name', "Mia's phone"]);
    expect(redeemed.code, redeemed.stderr).toBe(0);
    const keys = readKeys(phone);
    expect(keys.username).toBe('mia');
    expect(keys.seed).not.toBe(parseInviteLink(invite.link).seed);
    expect(keys.homeKey).not.toBeNull();
    // The hub lists the device as Mia's, with her role, and the invite is gone.
    const devices = (await api(hub.baseUrl, 'GET', '/api/v1/remote/devices', { token: member })).body as { id: string; username: string; role: string }[];
    expect(devices.find((d) => d.id === keys.deviceId)).toMatchObject({ username: 'mia', role: 'member' });
    expect((await api(hub.baseUrl, 'GET', '/api/v1/remote/invites', { token: member })).body.map((i: { id: string }) => i.id)).not.toContain(invite.id);
    // No token yet: the API answers 401 until Mia logs in through the relay with her password.
    const anonymous = await remote(['call', '--keys', phone, 'GET', '/api/v1/me']);
    expect(anonymous.code).toBe(1);
    expect(JSON.parse(anonymous.stdout).error.code).toBe('unauthorized');
    const ownerLogin = await remote(['call', '--keys', phone, 'POST', '/api/v1/auth/login', JSON.stringify({ username: 'owner', password: PASSWORD })]);
    expect(JSON.parse(ownerLogin.stdout).error.code).toBe('remote_user_mismatch');
    const me = await remote(['call', '--keys', phone, '--password', PASSWORD, 'GET', '/api/v1/me']);
    expect(me.code, me.stderr).toBe(0);
    expect(JSON.parse(me.stdout).username).toBe('mia');
  });

  it('a link works once', async () => {
    const invite = await inviteAs(member);
    expect((await remote(['redeem', '--link', invite.link, '--keys', join(tmp.dir, 'once-1.json')])).code).toBe(0);
    const again = await remote(['redeem', '--link', invite.link, '--keys', join(tmp.dir, 'once-2.json')]);
    expect(again.code).toBe(3);
    // Within a few seconds the hub refuses it; after that the relay no longer admits the key.
    expect(again.stderr).toMatch(/hearth-remote: (invite_not_found|device_not_enrolled)\n/);
    await waitFor(async () => {
      const late = await remote(['redeem', '--link', invite.link, '--keys', join(tmp.dir, 'once-3.json')]);
      return late.stderr.includes('device_not_enrolled') ? true : undefined;
    }, 'the relay drops the redeemed invite key', 30_000, 1000);
  });

  it('an invite key can only redeem: every other call, events, live views and logins answer invite_only', async () => {
    const invite = await inviteAs(member);
    const parsed = parseInviteLink(invite.link);
    const client = await RemoteClient.connect({ seed: parsed.seed, deviceId: 'invite', username: '', hubId: parsed.hubId, relayUrls: [parsed.relayUrl], homeKey: null });
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
    const lan = await api(hub.baseUrl, 'POST', '/api/v1/remote/invites/redeem', { token: owner, body: { publicKey: 'A'.repeat(44), boxPublicKey: 'A'.repeat(44), name: 'x' } });
    expect(lan.status).toBe(403);
    expect(lan.body.error.code).toBe('invite_only');
    const enrolled = await remote(['call', '--keys', laptop, 'POST', '/api/v1/remote/invites/redeem', JSON.stringify({ publicKey: 'A'.repeat(44), boxPublicKey: 'A'.repeat(44), name: 'x' })]);
    expect(JSON.parse(enrolled.stdout).error.code).toBe('invite_only');
  });

  it('a withdrawn invite and a removed user’s invite no longer enrol anyone; a mangled link says so', async () => {
    const withdrawn = await inviteAs(member);
    expect((await api(hub.baseUrl, 'DELETE', `/api/v1/remote/invites/${withdrawn.id}`, { token: member })).status).toBe(204);
    expect((await api(hub.baseUrl, 'DELETE', `/api/v1/remote/invites/${withdrawn.id}`, { token: member })).body.error.code).toBe('invite_not_found');
    const refused = await remote(['redeem', '--link', withdrawn.link, '--keys', join(tmp.dir, 'withdrawn.json')]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('device_not_enrolled');

    expect((await api(hub.baseUrl, 'POST', '/api/v1/users', { token: owner, body: { username: 'leo', password: PASSWORD, role: 'member' } })).status).toBe(201);
    const leo = (await api(hub.baseUrl, 'POST', '/api/v1/auth/login', { body: { username: 'leo', password: PASSWORD } })).body;
    const leosInvite = await inviteAs(leo.accessToken);
    const users = (await api(hub.baseUrl, 'GET', '/api/v1/users', { token: owner })).body as { id: string; username: string }[];
    expect((await api(hub.baseUrl, 'DELETE', `/api/v1/users/${users.find((u) => u.username === 'leo')!.id}`, { token: owner })).status).toBe(204);
    expect((await api(hub.baseUrl, 'GET', '/api/v1/remote/invites', { token: owner })).body.map((i: { id: string }) => i.id)).not.toContain(leosInvite.id);
    const gone = await remote(['redeem', '--link', leosInvite.link, '--keys', join(tmp.dir, 'leo.json')]);
    expect(gone.code).toBe(3);
    expect(gone.stderr).toContain('device_not_enrolled');

    const mangled = await remote(['redeem', '--link', withdrawn.link.slice(0, -5), '--keys', join(tmp.dir, 'mangled.json')]);
    expect(mangled.code).toBe(3);
    expect(mangled.stderr).toContain('invalid_invite');
  });
});
