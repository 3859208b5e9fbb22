import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { HubError } from '../../core/errors.ts';
import { crashPoint } from './crash-points.ts';
import { fsyncDir } from './state-file.ts';

const run = promisify(execFile);

/**
 * The lowest layer of an update: putting a package's program in place and taking it back.
 * Everything above it (verification, stop, snapshot, health, rollback, the state file) is the
 * same whichever installer runs. `dpkg` is the installed hub's (`dpkg -i`); `tree` lays versions
 * side by side under a root with a `current` link, which is what the tests run (real packages,
 * real hub processes, no root-owned system changes) and what a machine without dpkg could use.
 */
export interface Installer {
  /** The version installed now, or undefined if none can be told. */
  installedVersion(): Promise<string | undefined>;
  /** Makes sure `version` can be put back later; `update_no_rollback` if it cannot (nothing changed). */
  prepareRollback(version: string): Promise<void>;
  install(pkg: string, version: string, sha256: string): Promise<void>;
  /** Puts `version` (prepared before) back in place. */
  rollback(version: string): Promise<void>;
  /** The update succeeded: keep `pkg` as the way back from the next one, drop older ones. */
  committed(pkg: string, version: string, previous: string): Promise<void>;
}

/**
 * `ROOT/versions/<version>/` holds the package's `/usr/lib/hearth` tree (`dpkg-deb -x`, which only
 * unpacks), `ROOT/current` links to the one that runs (`current/bin/hearth-hub`). A version is
 * unpacked beside the others under a temporary name and renamed into place, then `current` is
 * swapped by renaming a new link over it: at any kill, `current` names a complete version.
 */
export class TreeInstaller implements Installer {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  get current(): string {
    return join(this.#root, 'current');
  }

  async installedVersion(): Promise<string | undefined> {
    try {
      return basename(readlinkSync(this.current));
    } catch {
      return undefined;
    }
  }

  async prepareRollback(version: string): Promise<void> {
    if (!existsSync(join(this.#root, 'versions', version, 'bin', 'hearth-hub')))
      throw new HubError(
        'update_no_rollback',
        `version ${version} is not under ${this.#root}/versions: nothing to roll back to`,
      );
  }

  async install(pkg: string, version: string, sha256: string): Promise<void> {
    const versions = join(this.#root, 'versions');
    const target = join(versions, version);
    const marker = join(target, '.package-sha256');
    const have = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : undefined;
    if (have !== sha256) {
      const partial = join(versions, `.${version}.partial`);
      rmSync(partial, { recursive: true, force: true });
      mkdirSync(partial, { recursive: true });
      await run('dpkg-deb', ['-x', pkg, partial]);
      const tree = join(partial, 'usr', 'lib', 'hearth');
      if (!existsSync(join(tree, 'bin', 'hearth-hub')))
        throw new HubError('update_package_mismatch', 'the package holds no /usr/lib/hearth/bin/hearth-hub', {
          reason: 'layout',
        });
      writeFileSync(join(tree, '.package-sha256'), `${sha256}\n`);
      crashPoint('install:unpacked');
      // The running version is never this one (a reinstall of the same version replaces a dir
      // `current` does not point at only if it was broken; otherwise `have === sha256`).
      const old = join(versions, `.${version}.old`);
      rmSync(old, { recursive: true, force: true });
      if (existsSync(target)) renameSync(target, old);
      renameSync(tree, target);
      rmSync(partial, { recursive: true, force: true });
      rmSync(old, { recursive: true, force: true });
      fsyncDir(versions);
    }
    crashPoint('install:mid');
    this.#point(version);
  }

  async rollback(version: string): Promise<void> {
    await this.prepareRollback(version);
    this.#point(version);
  }

  async committed(_pkg: string, version: string, previous: string): Promise<void> {
    const versions = join(this.#root, 'versions');
    for (const name of readdirSync(versions))
      if (name !== version && name !== previous) rmSync(join(versions, name), { recursive: true, force: true });
  }

  #point(version: string): void {
    const tmp = join(this.#root, `.current.${process.pid}`);
    rmSync(tmp, { force: true });
    symlinkSync(join('versions', version), tmp);
    renameSync(tmp, this.current);
    fsyncDir(this.#root);
  }
}

/**
 * The installed hub: `dpkg -i` (its postinst restarts hearth.service). The way back is the
 * previous version's .deb, kept in `STATE/packages/` after each update; the first update after
 * a hand install has none, so it is rebuilt from the installed files with `dpkg-repack` before
 * anything changes (`update_no_rollback` if that is not possible).
 */
export class DpkgInstaller implements Installer {
  readonly #packages: string;
  readonly #env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

  constructor(stateDir: string) {
    this.#packages = join(stateDir, 'packages');
  }

  #deb(version: string): string {
    return join(this.#packages, `hearth_${version}.deb`);
  }

  async installedVersion(): Promise<string | undefined> {
    try {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not a template.
      const { stdout } = await run('dpkg-query', ['-W', '-f', '${Version}', 'hearth'], { env: this.#env });
      return stdout.trim() || undefined;
    } catch {
      return undefined;
    }
  }

  async prepareRollback(version: string): Promise<void> {
    if (existsSync(this.#deb(version))) return;
    mkdirSync(this.#packages, { recursive: true, mode: 0o700 });
    const scratch = join(this.#packages, '.repack');
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch);
    try {
      await run('dpkg-repack', ['hearth'], { cwd: scratch, env: this.#env, timeout: 600_000 });
      const made = readdirSync(scratch).find((n) => n.endsWith('.deb'));
      if (!made) throw new Error('dpkg-repack made no package');
      renameSync(join(scratch, made), this.#deb(version));
    } catch (err) {
      throw new HubError(
        'update_no_rollback',
        `no package of the installed version ${version} to roll back to (dpkg-repack: ${(err as Error).message})`,
        undefined,
        { cause: err },
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  async install(pkg: string): Promise<void> {
    await run('dpkg', ['-i', '--force-confold', pkg], { env: this.#env, timeout: 900_000 });
  }

  async rollback(version: string): Promise<void> {
    // A dpkg killed mid-install leaves the package half-configured: finish that first.
    await run('dpkg', ['--configure', '-a', '--force-confold'], { env: this.#env, timeout: 900_000 }).catch(
      () => undefined,
    );
    await run('dpkg', ['-i', '--force-confold', '--force-downgrade', this.#deb(version)], {
      env: this.#env,
      timeout: 900_000,
    });
  }

  async committed(pkg: string, version: string, previous: string): Promise<void> {
    mkdirSync(this.#packages, { recursive: true, mode: 0o700 });
    copyFileSync(pkg, `${this.#deb(version)}.tmp`);
    renameSync(`${this.#deb(version)}.tmp`, this.#deb(version));
    for (const name of readdirSync(this.#packages)) {
      if (name !== basename(this.#deb(version)) && name !== basename(this.#deb(previous)))
        rmSync(join(this.#packages, name), { recursive: true, force: true });
    }
  }
}
