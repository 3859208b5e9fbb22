import { describe, expect, it } from 'vitest';
import { dummyHash, hashPassword, verifyPassword } from '../../src/auth/passwords.ts';

describe('passwords', () => {
  it('stores argon2id in PHC format with a fresh salt and verifies only the right password', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterY', a)).toBe(false);
  });

  it('verifies with the parameters stored in the hash', async () => {
    const cheap = await hashPassword('password1', { memoryKiB: 1024, passes: 1, parallelism: 1 });
    expect(cheap).toContain('$m=1024,t=1,p=1$');
    expect(await verifyPassword('password1', cheap)).toBe(true);
  });

  it('refuses malformed hashes and parameters beyond sane bounds instead of throwing', async () => {
    expect(await verifyPassword('x', 'plain')).toBe(false);
    expect(
      await verifyPassword(
        'x',
        '$argon2i$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      ),
    ).toBe(false);
    expect(
      await verifyPassword(
        'x',
        '$argon2id$v=19$m=99999999,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      ),
    ).toBe(false);
  });

  it('keeps one decoy hash for unknown users, with the same parameters as real ones', async () => {
    const decoy = await dummyHash();
    expect(await dummyHash()).toBe(decoy);
    expect(decoy).toContain('$m=19456,t=2,p=1$');
  });
});
