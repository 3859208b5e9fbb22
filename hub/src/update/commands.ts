import { readFileSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../backup/commands.ts';
import { HubError } from '../core/errors.ts';
import { HUB_VERSION } from '../core/version.ts';
import { generateReleaseKey, signRelease } from './release.ts';

/**
 * The release side of hub updates (docs/update.md), for whoever builds packages; hubs never
 * hold the private key. Exit codes as the other commands: 0 done, 1 refused, 2 bad usage.
 */
export const RELEASE_USAGE = `usage: hearth-admin release-keygen --out PRIVATE_KEY_FILE
       hearth-admin sign-release --package FILE.deb --key-file PRIVATE_KEY_FILE [--version V] [--min-version V] [--out FILE]`;

function parse(args: string[], options: Record<string, { type: 'string' }>): Record<string, string | undefined> {
  try {
    return parseArgs({ args, options, strict: true }).values as Record<string, string | undefined>;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Makes a release key pair: the private key into `--out` (0600, never overwritten), the public key (base64) on stdout. */
export function releaseKeygenCommand(args: string[]): void {
  const v = parse(args, { out: { type: 'string' } });
  if (!v.out) throw new UsageError('release-keygen needs --out');
  const key = generateReleaseKey();
  try {
    writeFileSync(resolve(v.out), key.privatePem, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new HubError(
      'conflict',
      `${v.out} exists or cannot be written (${(err as NodeJS.ErrnoException).code}); a release key is never overwritten`,
    );
  }
  process.stdout.write(`${key.publicB64}\n`);
}

/** Signs a package: writes `<package>.release.json` (or `--out`) and prints its manifest. */
export async function signReleaseCommand(args: string[]): Promise<void> {
  const v = parse(args, {
    package: { type: 'string' },
    'key-file': { type: 'string' },
    version: { type: 'string' },
    'min-version': { type: 'string' },
    out: { type: 'string' },
  });
  if (!v.package || !v['key-file']) throw new UsageError('sign-release needs --package and --key-file');
  const pkg = resolve(v.package);
  // hearth_<version>_<arch>.deb, as scripts/build-deb names it.
  const version = v.version ?? /^hearth_(\d+\.\d+\.\d+)_/.exec(basename(pkg))?.[1] ?? HUB_VERSION;
  const signed = await signRelease({
    packagePath: pkg,
    packageName: basename(pkg),
    version,
    minVersion: v['min-version'] ?? '0.0.0',
    privatePem: readFileSync(resolve(v['key-file']), 'utf8'),
  });
  const out = resolve(v.out ?? `${pkg.replace(/\.deb$/, '')}.release.json`);
  writeFileSync(out, `${JSON.stringify(signed.file)}\n`);
  process.stdout.write(`${JSON.stringify({ file: out, ...signed.manifest, publicKey: signed.publicB64 })}\n`);
}
