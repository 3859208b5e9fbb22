import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RefreshTokens } from '../../src/auth/refresh-tokens.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { sha256 } from '../../src/core/ids.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/temp.ts';

describe('RefreshTokens', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Store;
  let clock: ManualClock;
  let tokens: RefreshTokens;

  beforeEach(() => {
    tmp = tempDir();
    store = Store.open(tmp.dir);
    clock = new ManualClock();
    store.users.insert({ id: 'usr_1', username: 'ann', passwordHash: 'x', role: 'owner', createdAt: clock.now() });
    tokens = new RefreshTokens(store, clock, 3600);
  });
  afterEach(() => {
    store.close();
    tmp.cleanup();
  });

  it('stores only the digest of the token', () => {
    const token = tokens.issue('usr_1');
    const rows = store.db.prepare('SELECT token_hash FROM refresh_tokens').all() as { token_hash: string }[];
    expect(rows).toEqual([{ token_hash: sha256(token) }]);
    expect(JSON.stringify(store.db.prepare('SELECT * FROM refresh_tokens').all())).not.toContain(token);
  });

  it('rotates within the family; presenting a replaced token revokes the whole family', () => {
    const first = tokens.issue('usr_1');
    const second = tokens.rotate(first);
    expect(second).toMatchObject({ ok: true, userId: 'usr_1' });
    if (!second.ok) throw new Error('unreachable');
    const third = tokens.rotate(second.token);
    expect(third.ok).toBe(true);
    if (!third.ok) throw new Error('unreachable');

    expect(tokens.rotate(first)).toMatchObject({ ok: false, reason: 'reused' });
    // The thief's copy and the legitimate newest token are both dead now.
    expect(tokens.rotate(third.token)).toMatchObject({ ok: false, reason: 'revoked' });
    const families = store.db
      .prepare('SELECT DISTINCT family_id, revoked_at IS NOT NULL AS revoked FROM refresh_tokens')
      .all();
    expect(families).toEqual([expect.objectContaining({ revoked: 1 })]);
  });

  it('leaves other families alone on reuse and on revoke', () => {
    const mine = tokens.issue('usr_1');
    const other = tokens.issue('usr_1');
    const next = tokens.rotate(mine);
    expect(next.ok).toBe(true);
    expect(tokens.rotate(mine)).toMatchObject({ ok: false, reason: 'reused' });
    expect(tokens.rotate(other).ok).toBe(true);
  });

  it('expires after the TTL and refuses unknown tokens', () => {
    const token = tokens.issue('usr_1');
    clock.advance(3600 * 1000);
    expect(tokens.rotate(token)).toMatchObject({ ok: false, reason: 'expired' });
    expect(tokens.rotate('nope')).toMatchObject({ ok: false, reason: 'unknown' });
  });

  it('revokes the family of a token at logout', () => {
    const token = tokens.issue('usr_1');
    const rotated = tokens.rotate(token);
    if (!rotated.ok) throw new Error('unreachable');
    expect(tokens.revokeFamilyOf(token)?.userId).toBe('usr_1');
    expect(tokens.rotate(rotated.token)).toMatchObject({ ok: false, reason: 'revoked' });
    expect(tokens.revokeFamilyOf('unknown')).toBeUndefined();
  });
});
