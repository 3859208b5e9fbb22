import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessTokens, SIGNING_KEY_SETTING } from '../../src/auth/access-tokens.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { HubError } from '../../src/core/errors.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/temp.ts';

const user = { id: 'usr_1', username: 'ann', role: 'admin' as const };

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
    expect(tokens.verify(token)).toEqual({ userId: 'usr_1', username: 'ann', role: 'admin', exp: clock.now() / 1000 + 900 });
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

    for (const junk of ['', '.', 'abc', `${body}.`, `${body}.${sig}.x`, `${body}.${sig.slice(0, -2)}`]) {
      expect(codeOf(() => tokens.verify(junk))).toBe('unauthorized');
    }
  });
});
