import { afterEach, describe, expect, it } from 'vitest';
import { deviceKeysFromSeed } from '@hearth/protocol/keys';
import { fromBase64, toBase64 } from '@hearth/protocol/encoding';
import type { UserActor } from '../../src/auth/service.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { HubError } from '../../src/core/errors.ts';
import { INVITE_TTL_MS, RemoteInvites } from '../../src/relay/remote-invites.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/temp.ts';

const mia: UserActor = { kind: 'user', userId: 'u-mia', username: 'mia', role: 'member' };
const owner: UserActor = { kind: 'user', userId: 'u-own', username: 'owner', role: 'owner' };

/** Invites on a real SQLite store with a manual clock: expiry, one-time take, limits, restart. */
describe('remote invites', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));
  const setup = () => {
    const tmp = tempDir();
    const store = Store.open(tmp.dir);
    cleanups.push(() => {
      store.close();
      tmp.cleanup();
    });
    const clock = new ManualClock();
    return { dir: tmp.dir, store, clock, invites: new RemoteInvites(store.settings, clock) };
  };

  it('keeps only the public halves; the secret in the link derives exactly that key', () => {
    const { store, invites } = setup();
    const { invite, secret } = invites.create(mia, "Mia's phone");
    const keys = deviceKeysFromSeed(fromBase64(secret));
    expect(toBase64(keys.sign.publicKey)).toBe(invite.publicKey);
    expect(toBase64(keys.box.publicKey)).toBe(invite.boxPublicKey);
    expect(JSON.stringify(store.settings.get('relay.invites'))).not.toContain(secret);
    expect(invites.byKey(invite.publicKey)).toMatchObject({ id: invite.id, userId: mia.userId, role: 'member' });
  });

  it('expires after 30 minutes, also for the key lookup the handshake uses', () => {
    const { clock, invites } = setup();
    const { invite } = invites.create(mia, 'p');
    expect(invites.nextExpiry()).toBe(clock.now() + INVITE_TTL_MS);
    clock.advance(INVITE_TTL_MS - 1);
    expect(invites.byKey(invite.publicKey)?.id).toBe(invite.id);
    clock.advance(1);
    expect(invites.byKey(invite.publicKey)).toBeUndefined();
    expect(invites.byId(invite.id)).toBeUndefined();
    expect(invites.open()).toEqual([]);
    expect(invites.nextExpiry()).toBeNull();
  });

  it('is taken once; survives a restart until then', () => {
    const { dir, store, clock, invites } = setup();
    const { invite } = invites.create(mia, 'p');
    store.close();
    const reopened = Store.open(dir);
    cleanups.unshift(() => reopened.close());
    const again = new RemoteInvites(reopened.settings, clock);
    expect(again.take(invite.id)?.id).toBe(invite.id);
    expect(again.take(invite.id)).toBeUndefined();
    expect(again.byKey(invite.publicKey)).toBeUndefined();
  });

  it('lists own invites to members and all to admins; dropping a user drops theirs; at most 20 open', () => {
    const { invites } = setup();
    invites.create(mia, 'a');
    invites.create(owner, 'b');
    expect(invites.list(mia).map((i) => i.name)).toEqual(['a']);
    expect(
      invites
        .list(owner)
        .map((i) => i.name)
        .sort(),
    ).toEqual(['a', 'b']);
    expect(invites.dropUser(mia.userId)).toBe(1);
    expect(invites.list(owner).map((i) => i.name)).toEqual(['b']);
    for (let i = 0; i < 19; i++) invites.create(owner, `x${i}`);
    const refused = (() => {
      try {
        invites.create(owner, 'one too many');
      } catch (err) {
        return err;
      }
    })();
    expect(refused).toBeInstanceOf(HubError);
    expect((refused as HubError).code).toBe('conflict');
  });
});
