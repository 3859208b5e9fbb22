import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { signRelease, type ReleaseFile } from '../../src/update/release.ts';
import { spoolPaths, type UpdateStatus } from '../../src/update/spool.ts';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const HELPER = fileURLToPath(new URL('../../src/update/helper/main.ts', import.meta.url));

/**
 * A real Debian package of this hub at `version`, laid out as the .deb lays out /usr/lib/hearth
 * (bin/hearth-hub launcher, hub/src, hub/package.json with the version, cloud-relay/src), built
 * with dpkg-deb. To stay small it links the runtime and node_modules of this checkout instead
 * of bundling them (scripts/build-deb bundles them; nothing the helper does depends on that).
 * `broken`: its main.ts first changes the database the way a new version's migration would
 * (a table and a schema version the old hub refuses, a changed row), then exits 1: a version
 * that never comes up healthy.
 */
export async function buildHubDeb(dir: string, version: string, broken = false): Promise<string> {
  const stage = join(dir, `stage-${version}`);
  const app = join(stage, 'usr', 'lib', 'hearth');
  mkdirSync(join(app, 'hub'), { recursive: true });
  mkdirSync(join(app, 'cloud-relay'), { recursive: true });
  mkdirSync(join(app, 'bin'), { recursive: true });
  mkdirSync(join(app, 'node', 'bin'), { recursive: true });
  cpSync(join(REPO, 'hub', 'src'), join(app, 'hub', 'src'), { recursive: true });
  cpSync(join(REPO, 'cloud-relay', 'src'), join(app, 'cloud-relay', 'src'), { recursive: true });
  cpSync(join(REPO, 'hub', 'node-flags'), join(app, 'hub', 'node-flags'));
  cpSync(join(REPO, 'hub', 'release-keys'), join(app, 'hub', 'release-keys'));
  const pkg = JSON.parse(readFileSync(join(REPO, 'hub', 'package.json'), 'utf8')) as { version: string };
  writeFileSync(join(app, 'hub', 'package.json'), JSON.stringify({ ...pkg, version }, null, 2));
  cpSync(join(REPO, 'packaging', 'bin', 'hearth-hub'), join(app, 'bin', 'hearth-hub'));
  symlinkSync(process.execPath, join(app, 'node', 'bin', 'node'));
  symlinkSync(join(REPO, 'node_modules'), join(app, 'node_modules'));
  symlinkSync(join(REPO, 'ui'), join(app, 'ui'));
  if (broken) {
    writeFileSync(
      join(app, 'hub', 'src', 'broken-migration.ts'),
      `import Database from 'better-sqlite3';
import { join } from 'node:path';
const data = process.argv[process.argv.indexOf('--data') + 1]!;
const db = new Database(join(data, 'hearth.db'));
db.exec("CREATE TABLE IF NOT EXISTS b_was_here (x INTEGER); UPDATE users SET username = username || '-b'; PRAGMA user_version = 9999;");
db.close();
process.stderr.write('broken build: migrated, then failing\\n');
process.exit(1);
`,
    );
    const main = join(app, 'hub', 'src', 'main.ts');
    // After the shebang line, before everything else main.ts imports.
    const [shebang, ...rest] = readFileSync(main, 'utf8').split('\n');
    writeFileSync(main, [shebang, "import './broken-migration.ts';", ...rest].join('\n'));
  }
  mkdirSync(join(stage, 'DEBIAN'));
  writeFileSync(
    join(stage, 'DEBIAN', 'control'),
    `Package: hearth\nVersion: ${version}\nArchitecture: all\nMaintainer: Hearth tests <tests@hearth.invalid>\nDescription: Hearth hub (test build)\n`,
  );
  const deb = join(dir, `hearth_${version}_all.deb`);
  await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z1', '--build', stage, deb]);
  return deb;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Puts a package and its release in the hub's spool and asks for it, as the hub's update service does. */
export function spoolRequest(
  dataDir: string,
  deb: string,
  release: ReleaseFile,
  o: { id: string; version: string; from: string; confirmDowngrade?: boolean },
): void {
  const spool = spoolPaths(dataDir);
  mkdirSync(spool.dir, { recursive: true });
  cpSync(deb, spool.package);
  writeFileSync(spool.release, JSON.stringify(release));
  writeFileSync(
    spool.request,
    JSON.stringify({
      id: o.id,
      version: o.version,
      from: o.from,
      confirmDowngrade: o.confirmDowngrade ?? false,
      backupId: null,
      requestedAt: Date.now(),
    }),
  );
}

export async function release(
  deb: string,
  version: string,
  privatePem: string,
  minVersion = '0.0.1',
): Promise<ReleaseFile> {
  return (
    await signRelease({ packagePath: deb, packageName: `hearth_${version}_all.deb`, version, minVersion, privatePem })
  ).file;
}

export interface HelperRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Runs the helper once, as `hearth-update.service` would, in tree/process mode. */
export function runHelperProcess(o: {
  dataDir: string;
  stateDir: string;
  root: string;
  keysFile: string;
  hubArgs: string[];
  healthTimeoutS: number;
  devicesTimeoutS?: number;
  crashAt?: string;
}): Promise<HelperRun> {
  const args = [
    HELPER,
    '--data',
    o.dataDir,
    '--state',
    o.stateDir,
    '--keys-file',
    o.keysFile,
    '--installer',
    'tree',
    '--root',
    o.root,
    '--service',
    'process',
    '--launcher',
    join(o.root, 'current', 'bin', 'hearth-hub'),
    ...o.hubArgs.map((a) => `--hub-arg=${a}`),
    '--health-timeout-s',
    String(o.healthTimeoutS),
    '--devices-timeout-s',
    String(o.devicesTimeoutS ?? 60),
  ];
  const env = { ...process.env };
  delete env.HEARTH_UPDATE_CRASH_AT;
  if (o.crashAt) env.HEARTH_UPDATE_CRASH_AT = o.crashAt;
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, output })));
}

export function readStatus(dataDir: string): UpdateStatus {
  return JSON.parse(readFileSync(spoolPaths(dataDir).status, 'utf8')) as UpdateStatus;
}
