import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyRelease } from '../../src/update/release.ts';
import { tempDir } from '../helpers/temp.ts';

const ADMIN = fileURLToPath(new URL('../../src/admin.ts', import.meta.url));
const admin = (...args: string[]) => spawnSync(process.execPath, [ADMIN, ...args], { encoding: 'utf8' });

describe('hearth-admin release-keygen and sign-release', () => {
  const tmp = tempDir('hearth-release-cli-');
  afterAll(() => tmp.cleanup());

  it('makes a key (private 0600, never overwritten), signs a package; the release verifies with the printed key only', () => {
    const keyFile = join(tmp.dir, 'release.pem');
    const made = admin('release-keygen', '--out', keyFile);
    expect(made.status, made.stderr).toBe(0);
    const pub = made.stdout.trim();
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const again = admin('release-keygen', '--out', keyFile);
    expect([again.status, again.stderr]).toEqual([1, expect.stringContaining('conflict')]);

    const deb = join(tmp.dir, 'hearth_2.3.4_arm64.deb');
    writeFileSync(deb, 'not really a package, but bytes to sign');
    const signed = admin('sign-release', '--package', deb, '--key-file', keyFile, '--min-version', '2.0.0');
    expect(signed.status, signed.stderr).toBe(0);
    const release = JSON.parse(readFileSync(join(tmp.dir, 'hearth_2.3.4_arm64.release.json'), 'utf8'));
    expect(verifyRelease(release, [pub])).toMatchObject({
      version: '2.3.4',
      minVersion: '2.0.0',
      package: { name: 'hearth_2.3.4_arm64.deb', bytes: 39 },
    });
    const other = admin('release-keygen', '--out', join(tmp.dir, 'other.pem')).stdout.trim();
    expect(() => verifyRelease(release, [other])).toThrow(expect.objectContaining({ code: 'update_release_invalid' }));
    expect(admin('sign-release', '--package', deb).status).toBe(2);
  });
});
