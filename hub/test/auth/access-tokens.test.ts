import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessTokens, SIGNING_KEY_SETTING } from '../../src/auth/access-tokens.ts';
import { ManualClock } from '../../src/core/clock.ts';
import type { HubError } from '../../src/core/errors.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/temp.ts';

const user = { id: 'usr_1', username: 'ann', role: 'admin' as const, sessionGeneration: 2 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as HubError).code;
  }
  return undefined;
}

describe('AccessTokens', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Store;
  let clock: ManualClock;

  beforeEach(() => {
    tmp = tempDir();
    store = Store.open(tmp.dir);
    clock = new ManualClock();
  });
  afterEach(() => {
    store.close();
    tmp.cleanup();
  });

  it('round-trips the claims and generates the signing key once, in settings', () => {
    expect(store.settings.get(SIGNING_KEY_SETTING)).toBeUndefined();
    const tokens = new AccessTokens(store.settings, clock, 900);
    const token = tokens.issue(user);
    const key = store.settings.get<string>(SIGNING_KEY_SETTING);
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(tokens.verify(token)).toEqual({
      userId: 'usr_1',
      username: 'ann',
      role: 'admin',
      exp: clock.now() / 1000 + 900,
      generation: 2,
    });
    // Another instance (a restart) uses the stored key: the token stays valid.
    expect(new AccessTokens(store.settings, clock, 900).verify(token).userId).toBe('usr_1');
    expect(store.settings.get(SIGNING_KEY_SETTING)).toBe(key);
  });

  it('expires at exp and says so with its own code', () => {
    const tokens = new AccessTokens(store.settings, clock, 60);
    const token = tokens.issue(user);
    clock.advance(59_999);
    expect(codeOf(() => tokens.verify(token))).toBeUndefined();
    clock.advance(1);
    expect(codeOf(() => tokens.verify(token))).toBe('token_expired');
  });

  it('rejects tampered claims, foreign keys and garbage as unauthorized', () => {
    const tokens = new AccessTokens(store.settings, clock, 900);
    const token = tokens.issue(user);
    const [body, sig] = token.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'owner' })).toString('base64url');
    expect(codeOf(() => tokens.verify(`${forged}.${sig}`))).toBe('unauthorized');

    const other = tempDir();
    const otherStore = Store.open(other.dir);
    const foreign = new AccessTokens(otherStore.settings, clock, 900).issue(user);
    otherStore.close();
    other.cleanup();
    expect(codeOf(() => tokens.verify(foreign))).toBe('unauthorized');

    // A token from before session generations carries none: it counts as generation 0.
    const { gen: _gen, ...legacy } = claims;
    const legacyBody = Buffer.from(JSON.stringify(legacy)).toString('base64url');
    const legacySig = createHmac('sha256', Buffer.from(store.settings.get<string>(SIGNING_KEY_SETTING)!, 'base64url'))
      .update(legacyBody)
      .digest('base64url');
    expect(tokens.verify(`${legacyBody}.${legacySig}`).generation).toBe(0);

    for (const junk of ['', '.', 'abc', `${body}.`, `${body}.${sig}.x`, `${body}.${sig.slice(0, -2)}`]) {
      expect(codeOf(() => tokens.verify(junk))).toBe('unauthorized');
    }
  });
});
