#!/usr/bin/env node
/**
 * `hearth-admin`: installer tasks on the hub's machine, without the HTTP API.
 *   hearth-admin create-owner --data DIR --username NAME   (password on stdin, one line)
 *   hearth-admin setup-code [--data DIR]                   (prints the first-run setup code)
 *   hearth-admin flash-plug --port DEV [...]               (flash a plug, give it Wi-Fi: flash/)
 *   hearth-admin backup --data DIR --out FILE --passphrase-file F            (backup/, docs/backup.md)
 *   hearth-admin restore --data DIR --file FILE --passphrase-file F [--replace]
 *   hearth-admin verify-backup --file FILE --passphrase-file F
 *   hearth-admin create-installer | invite-owner [...]          (handover to the owner: auth/handover-commands.ts)
 *   hearth-admin release-keygen | sign-release [...]            (signed hub releases: update/commands.ts, docs/update.md)
 * create-owner makes the same checks as `POST /api/v1/setup` (it calls the same AuthService) but
 * needs no setup code: whoever runs it already controls the hub's machine. Exit codes: 0 done,
 * 1 refused (e.g. already_set_up), 2 bad usage.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AuthService } from './auth/service.ts';
import {
  createInstallerCommand,
  HANDOVER_USAGE,
  HandoverUsageError,
  inviteOwnerCommand,
} from './auth/handover-commands.ts';
import { EventBus } from './core/bus.ts';
import { systemClock } from './core/clock.ts';
import { toolEnv, validateConfig } from './core/config.ts';
import { securePrivateDir, usePrivateUmask } from './core/data-dir.ts';
import { isHubError } from './core/errors.ts';
import { createLogger } from './core/logger.ts';
import { BACKUP_USAGE, backupCommand, restoreCommand, UsageError, verifyCommand } from './backup/commands.ts';
import { FLASH_USAGE, flashPlugCommand } from './flash/flash-plug-command.ts';
import { Store } from './store/store.ts';
import { RELEASE_USAGE, releaseKeygenCommand, signReleaseCommand } from './update/commands.ts';

const USAGE =
  `usage: hearth-admin create-owner [--data DIR] --username NAME  (password read from stdin)\n` +
  `       hearth-admin setup-code [--data DIR]\n` +
  `${FLASH_USAGE.replace('usage: ', '       ')}\n` +
  `${BACKUP_USAGE.replace('usage: ', '       ')}\n` +
  `${HANDOVER_USAGE.replace('usage: ', '       ')}\n` +
  `${RELEASE_USAGE.replace('usage: ', '       ')}`;

function fail(code: number, line: string): never {
  process.stderr.write(`hearth-admin: ${line}\n`);
  process.exit(code);
}

async function createOwner(args: string[]): Promise<void> {
  let values: { data?: string | undefined; username?: string | undefined };
  try {
    ({ values } = parseArgs({
      args,
      options: { data: { type: 'string' }, username: { type: 'string' } },
      strict: true,
    }));
  } catch (err) {
    fail(2, `${(err as Error).message}\n${USAGE}`);
  }
  if (!values.username) fail(2, USAGE);
  const password = readFileSync(0, 'utf8').split('\n')[0] ?? '';
  const config = validateConfig({ dataDir: resolve(values.data ?? toolEnv().dataDir ?? './data') });
  const log = createLogger({ level: 'silent' });
  const store = openDataDir(config.dataDir);
  try {
    const auth = new AuthService({
      store,
      bus: new EventBus(log),
      clock: systemClock,
      log,
      config: config.auth,
      dataDir: config.dataDir,
    });
    const { user } = await auth.createOwner({ username: values.username, password });
    process.stdout.write(`created owner ${user.username}\n`);
  } finally {
    store.close();
  }
}

/**
 * Prints the one-time code the web app asks for on first run (making it if the hub has not yet),
 * or exits 1 with `already_set_up` once an owner exists.
 */
function printSetupCode(args: string[]): void {
  let values: { data?: string | undefined };
  try {
    ({ values } = parseArgs({ args, options: { data: { type: 'string' } }, strict: true }));
  } catch (err) {
    fail(2, `${(err as Error).message}\n${USAGE}`);
  }
  const config = validateConfig({ dataDir: resolve(values.data ?? toolEnv().dataDir ?? './data') });
  const log = createLogger({ level: 'silent' });
  const store = openDataDir(config.dataDir);
  try {
    const auth = new AuthService({
      store,
      bus: new EventBus(log),
      clock: systemClock,
      log,
      config: config.auth,
      dataDir: config.dataDir,
    });
    const code = auth.openSetup();
    if (!code) fail(1, 'already_set_up: the hub already has an owner; log in instead');
    process.stdout.write(`${code}\n`);
  } finally {
    store.close();
  }
}

/** The data dir and what is made in it are for the hub's user only, as when the hub makes them. */
function openDataDir(dataDir: string): Store {
  usePrivateUmask();
  securePrivateDir(dataDir);
  return Store.open(dataDir);
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'create-owner') await createOwner(rest);
  else if (command === 'setup-code') printSetupCode(rest);
  else if (command === 'flash-plug') process.exit(await flashPlugCommand(rest));
  else if (command === 'backup') await backupCommand(rest);
  else if (command === 'restore') await restoreCommand(rest);
  else if (command === 'verify-backup') await verifyCommand(rest);
  else if (command === 'create-installer') await createInstallerCommand(rest);
  else if (command === 'invite-owner') await inviteOwnerCommand(rest);
  else if (command === 'release-keygen') releaseKeygenCommand(rest);
  else if (command === 'sign-release') await signReleaseCommand(rest);
  else fail(2, USAGE);
} catch (err) {
  if (err instanceof UsageError) fail(2, `${err.message}\n${USAGE}`);
  if (err instanceof HandoverUsageError) fail(2, `${err.message}\n${HANDOVER_USAGE}`);
  fail(1, isHubError(err) ? `${err.code}: ${err.message}` : (err as Error).message);
}
