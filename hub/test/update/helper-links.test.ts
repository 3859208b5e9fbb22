import {
  chmodSync,
  chownSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  lstatSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { giveBackToOwner } from '../../src/update/helper/checks.ts';
import { TreeInstaller } from '../../src/update/helper/installers.ts';
import { runHelper } from '../../src/update/helper/run.ts';
import { ProcessControl } from '../../src/update/helper/service-control.ts';
import { generateReleaseKey, signRelease } from '../../src/update/release.ts';
import { spoolPaths } from '../../src/update/spool.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * The helper runs as root in a directory the hub's user can write to. A compromised hub may plant
 * symbolic links where the helper reads, writes or chowns; none may be followed (safe-fs.ts).
 * Here the hub is not running: these are the helper's file operations on a planted data dir.
 * Each test fails on a helper that follows links (writeFileSync, copyFileSync, chownSync).
 */
describe.skipIf(process.getuid?.() !== 0)('update helper: links the hub planted are not followed', () => {
  let tmp: { dir: string; cleanup: () => void };
  let data: string;
  const key = generateReleaseKey();
  const options = (root: string) => ({
    dataDir: data,
    stateDir: join(tmp.dir, 'state'),
    trustedKeys: [key.publicB64],
    installer: new TreeInstaller(root),
    service: new ProcessControl({ launcher: '/bin/true', args: [], dataDir: data, logFile: join(tmp.dir, 'hub.log') }),
    maxPackageBytes: 1024 * 1024,
    healthTimeoutMs: 1000,
    devicesTimeoutMs: 1000,
    log: () => undefined,
  });
  beforeEach(() => {
    tmp = tempDir('hearth-helper-links-');
    data = join(tmp.dir, 'data');
    mkdirSync(spoolPaths(data).dir, { recursive: true });
  });
  afterEach(() => tmp.cleanup());

  it("writes its status as a new file, not through a link at the temp file's name", async () => {
    const victim = join(tmp.dir, 'victim');
    writeFileSync(victim, 'root secret\n', { mode: 0o600 });
    symlinkSync(victim, `${spoolPaths(data).status}.${process.pid}.tmp`);
    writeFileSync(spoolPaths(data).request, JSON.stringify({ id: 'u1', version: '1.1.0', from: '1.0.0' }));
    const status = await runHelper(options(join(tmp.dir, 'root')));
    expect([status?.state, status?.error?.code]).toEqual(['refused', 'update_package_missing']);
    expect(readFileSync(victim, 'utf8')).toBe('root secret\n');
    expect(lstatSync(spoolPaths(data).status).isFile()).toBe(true);
  });

  it('takes the package and release only as plain files: a link to a secret is refused and nothing copied', async () => {
    const secret = join(tmp.dir, 'shadow');
    writeFileSync(secret, 'root:$y$secret:19000:0:99999:7:::\n', { mode: 0o600 });
    symlinkSync(secret, spoolPaths(data).package);
    writeFileSync(spoolPaths(data).release, '{}');
    writeFileSync(spoolPaths(data).request, JSON.stringify({ id: 'u3', version: '1.1.0', from: '1.0.0' }));
    const status = await runHelper(options(join(tmp.dir, 'root')));
    expect([status?.state, status?.step, status?.error?.code]).toEqual(['refused', 'accept', 'update_package_missing']);
    expect(() => statSync(join(tmp.dir, 'state', 'work', 'package.deb'))).toThrow();
  });

  it('refuses a database that is a link: the linked file is neither changed nor copied', async () => {
    // A root-owned SQLite file elsewhere that happens to have a devices table.
    const victim = join(tmp.dir, 'other.db');
    const db = new Database(victim);
    db.exec("CREATE TABLE devices (id TEXT, available INTEGER); INSERT INTO devices VALUES ('x', 1)");
    db.close();
    symlinkSync(victim, join(data, 'hearth.db'));
    // A valid signed request, so the helper reaches its snapshot step.
    const root = join(tmp.dir, 'root');
    mkdirSync(join(root, 'versions', '1.0.0', 'bin'), { recursive: true });
    writeFileSync(join(root, 'versions', '1.0.0', 'bin', 'hearth-hub'), '');
    symlinkSync('versions/1.0.0', join(root, 'current'));
    writeFileSync(spoolPaths(data).package, 'package bytes');
    const signed = await signRelease({
      packagePath: spoolPaths(data).package,
      packageName: 'hearth_1.1.0_all.deb',
      version: '1.1.0',
      minVersion: '0.0.1',
      privatePem: key.privatePem,
    });
    writeFileSync(spoolPaths(data).release, JSON.stringify(signed.file));
    writeFileSync(spoolPaths(data).request, JSON.stringify({ id: 'u2', version: '1.1.0', from: '1.0.0' }));

    const status = await runHelper(options(root));
    expect([status?.state, status?.step, status?.error?.code]).toEqual(['failed', 'snapshot', 'update_step_failed']);
    const after = new Database(victim, { readonly: true });
    expect(after.prepare('SELECT available FROM devices').pluck().get()).toBe(1);
    after.close();
    expect(() => statSync(join(tmp.dir, 'state', 'snapshot', 'hearth.db'))).toThrow();
  });

  it("gives the database's files back to the hub's user with lchown: a link is changed, not its target", () => {
    const victim = join(tmp.dir, 'victim-owned');
    writeFileSync(victim, 'root file\n', { mode: 0o600 });
    chownSync(data, 4242, 4242);
    chmodSync(data, 0o700);
    symlinkSync(victim, join(data, 'hearth.db-shm'));
    giveBackToOwner(data);
    expect(statSync(victim).uid).toBe(0);
    expect(lstatSync(join(data, 'hearth.db-shm')).uid).toBe(4242);
  });
});
