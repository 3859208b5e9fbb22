import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { EnrolledDevice } from '@hearth/protocol/client';

/** What `hearth-remote` keeps per enrolled device: the secret seed, so the file is 0600. */
export interface KeysFile extends EnrolledDevice {
  session?: { accessToken: string; refreshToken: string; accessExpiresAt: number };
}

export function readKeys(path: string): KeysFile {
  let parsed: KeysFile;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as KeysFile;
  } catch (err) {
    throw new CliError(2, `cannot read keys file ${path}: ${(err as Error).message}`);
  }
  if (typeof parsed.seed !== 'string' || typeof parsed.hubId !== 'string' || !Array.isArray(parsed.relayUrls))
    throw new CliError(2, `${path} is not a hearth-remote keys file`);
  return parsed;
}

export function writeKeys(path: string, keys: KeysFile): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

export class CliError extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}
