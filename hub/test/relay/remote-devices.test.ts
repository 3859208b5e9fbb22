import type { Role } from '@hearth/model/values';
import { afterEach, describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '@hearth/protocol/encoding';
import { newDeviceKeys, type DeviceKeys } from '@hearth/protocol/keys';
import { openFromHub } from '@hearth/protocol/state-blob';
import { loadHubIdentity } from '../../src/relay/identity.ts';
import { harness, type Harness } from '../api/harness.ts';

/**
 * Remote devices at the hub's API (real fastify, real SQLite, no relay): who may change whose
 * device, and the home key's rotation when a device or user leaves.
 */
describe('remote devices: the owner-only rule and the home key', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  const person = async (role: Role, username: string) => {
    const token = role === 'owner' ? await h.setupOwner() : await h.userToken(role, username);
    const { actor } = h.auth.inspectAccess(token);
    const keys = newDeviceKeys();
    const device = h.remote!.devices.enroll(actor, {
      publicKey: toBase64(keys.sign.publicKey),
      boxPublicKey: toBase64(keys.box.publicKey),
      name: `${username} phone`,
    });
    return { token, actor, keys, device };
  };
  const opened = (sealed: string | null, keys: DeviceKeys) =>
    sealed ? Buffer.from(openFromHub(fromBase64(sealed), keys.box.secretKey)) : null;

  it("an admin revokes and re-points members' and admins' devices but not an owner's (403 forbidden); a member sees none of them (404)", async () => {
    h = await harness({ remote: true });
    const owner = await person('owner', 'owner');
    const admin = await person('admin', 'ada');
    const member = await person('member', 'mia');
    const push = { endpoint: 'https://push.example/x', keys: { p256dh: 'BBBB', auth: 'AAAA' } };
    for (const [method, path, body] of [
      ['DELETE', `/api/v1/remote/devices/${owner.device.id}`, undefined],
      ['PUT', `/api/v1/remote/devices/${owner.device.id}/push`, push],
      ['DELETE', `/api/v1/remote/devices/${owner.device.id}/push`, undefined],
      ['POST', `/api/v1/remote/devices/${owner.device.id}/push/test`, undefined],
    ] as const) {
      const res = await h.call(method, path, { token: admin.token, ...(body ? { body } : {}) });
      expect(res.statusCode, `${method} ${path}`).toBe(403);
      expect(res.json().error.code).toBe('forbidden');
      const byMember = await h.call(method, path, { token: member.token, ...(body ? { body } : {}) });
      expect(byMember.json().error.code).toBe('remote_device_not_found');
    }
    expect(h.remote!.devices.all().map((d) => d.id)).toContain(owner.device.id);
    expect(
      (await h.call('DELETE', `/api/v1/remote/devices/${member.device.id}/push`, { token: admin.token })).statusCode,
    ).toBe(204);
    expect(
      (await h.call('DELETE', `/api/v1/remote/devices/${member.device.id}`, { token: admin.token })).statusCode,
    ).toBe(204);
    expect(
      (await h.call('DELETE', `/api/v1/remote/devices/${admin.device.id}`, { token: owner.token })).statusCode,
    ).toBe(204);
    expect(
      (await h.call('DELETE', `/api/v1/remote/devices/${owner.device.id}`, { token: owner.token })).statusCode,
    ).toBe(204);
  });

  it('a removed device or user rotates the home key (kept in settings); a session answer seals the current one for the device’s own user only', async () => {
    h = await harness({ remote: true });
    const owner = await person('owner', 'owner');
    const member = await person('member', 'mia');
    const guest = await person('guest', 'gus');
    const first = Buffer.from(h.remote!.identity.homeKey);
    expect(opened(h.remote!.sessionHomeKey(owner.device.id, owner.token), owner.keys)).toEqual(first);
    // Another user's token on this device, or a guest: no key.
    expect(h.remote!.sessionHomeKey(owner.device.id, member.token)).toBeNull();
    expect(h.remote!.sessionHomeKey(guest.device.id, guest.token)).toBeNull();

    expect(
      (await h.call('DELETE', `/api/v1/remote/devices/${member.device.id}`, { token: member.token })).statusCode,
    ).toBe(204);
    const second = Buffer.from(h.remote!.identity.homeKey);
    expect(second.equals(first)).toBe(false);
    expect(Buffer.from(loadHubIdentity(h.store.settings).homeKey).equals(second)).toBe(true);
    expect(opened(h.remote!.sessionHomeKey(owner.device.id, owner.token), owner.keys)).toEqual(second);

    // Removing a user (here the guest, with a device) rotates it again.
    expect((await h.call('DELETE', `/api/v1/users/${guest.actor.userId}`, { token: owner.token })).statusCode).toBe(
      204,
    );
    expect(Buffer.from(h.remote!.identity.homeKey).equals(second)).toBe(false);
    // A revocation that removes nothing changes nothing.
    const third = Buffer.from(h.remote!.identity.homeKey);
    expect(h.remote!.devices.revokeUser('nobody')).toBe(0);
    expect(Buffer.from(h.remote!.identity.homeKey).equals(third)).toBe(true);
  });
});
