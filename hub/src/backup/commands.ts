import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { toolEnv } from '../core/config.ts';
import { PRIVATE_UMASK } from '../core/data-dir.ts';
import { createBackup, backupFileName } from './create.ts';
import { restoreBackup } from './restore.ts';
import { verifyBackup } from './verify.ts';

/**
 * `hearth-admin backup` and `hearth-admin restore` (docs/backup.md). Exit codes: 0 done, 1
 * refused (one line `code: message` on stderr), 2 bad usage. The passphrase comes from a file
 * (its first line), never the command line, where other users could read it in `ps`.
 */
export const BACKUP_USAGE = `usage: hearth-admin backup --data DIR --out FILE --passphrase-file F
       hearth-admin restore --data DIR --file FILE --passphrase-file F [--replace]
       hearth-admin verify-backup --file FILE --passphrase-file F [--scratch DIR]`;

export class UsageError extends Error {}

function readPassphrase(path: string): string {
  const line = readFileSync(path, 'utf8').split(/\r?\n/)[0] ?? '';
  if (line.length === 0) throw new UsageError(`the passphrase file ${path} is empty`);
  return line;
}

function parse(
  args: string[],
  options: Record<string, { type: 'string' | 'boolean' }>,
): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args, options, strict: true }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export async function backupCommand(args: string[]): Promise<void> {
  const v = parse(args, { data: { type: 'string' }, out: { type: 'string' }, 'passphrase-file': { type: 'string' } });
  const data = (v.data as string | undefined) ?? toolEnv().dataDir;
  if (!data || !v['passphrase-file']) throw new UsageError('backup needs --data and --passphrase-file');
  process.umask(PRIVATE_UMASK);
  const passphrase = readPassphrase(v['passphrase-file'] as string);
  const now = Date.now();
  const out = resolve((v.out as string | undefined) ?? backupFileName('home', now));
  const made = await createBackup({ dataDir: resolve(data), out, passphrase, now });
  const { createdAt, hubVersion, schemaVersion, counts } = made.manifest;
  const summary = { file: made.path, bytes: made.bytes, createdAt, hubVersion, schemaVersion, counts };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

export async function restoreCommand(args: string[]): Promise<void> {
  const v = parse(args, {
    data: { type: 'string' },
    file: { type: 'string' },
    'passphrase-file': { type: 'string' },
    replace: { type: 'boolean' },
  });
  const data = (v.data as string | undefined) ?? toolEnv().dataDir;
  if (!data || !v.file || !v['passphrase-file'])
    throw new UsageError('restore needs --data, --file and --passphrase-file');
  process.umask(PRIVATE_UMASK);
  const passphrase = readPassphrase(v['passphrase-file'] as string);
  const done = await restoreBackup({
    file: resolve(v.file as string),
    dataDir: resolve(data),
    passphrase,
    replace: v.replace === true,
  });
  const { createdAt, hubVersion, counts } = done.manifest;
  const summary = { restored: resolve(data), safetyCopy: done.safetyCopy, createdAt, hubVersion, counts };
  process.stdout.write(`${JSON.stringify({ ...summary, plugCountersMoved: done.plugsMoved })}\n`);
}

/**
 * Opens a backup into a scratch dir (the system temp dir unless --scratch: the plaintext needs as
 * much room as the home, and should be on a private disk) and checks it; changes nothing.
 */
export async function verifyCommand(args: string[]): Promise<void> {
  const v = parse(args, {
    file: { type: 'string' },
    'passphrase-file': { type: 'string' },
    scratch: { type: 'string' },
  });
  if (!v.file || !v['passphrase-file']) throw new UsageError('verify-backup needs --file and --passphrase-file');
  process.umask(PRIVATE_UMASK);
  const passphrase = readPassphrase(v['passphrase-file'] as string);
  const m = await verifyBackup(
    resolve(v.file as string),
    passphrase,
    resolve((v.scratch as string | undefined) ?? join(tmpdir(), `hearth-verify-${process.getuid?.() ?? 0}`)),
  );
  const { createdAt, hubVersion, schemaVersion, home, counts } = m;
  const summary = { ok: true, createdAt, hubVersion, schemaVersion, home, counts, entries: m.entries.length };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}
