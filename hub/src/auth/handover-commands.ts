import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EventBus } from '../core/bus.ts';
import { systemClock } from '../core/clock.ts';
import { toolEnv, validateConfig } from '../core/config.ts';
import { securePrivateDir, usePrivateUmask } from '../core/data-dir.ts';
import { createLogger } from '../core/logger.ts';
import { Store } from '../store/store.ts';
import { AuthService } from './service.ts';

/**
 * `hearth-admin create-installer` and `invite-owner`: the handover (handover.ts) from the console,
 * for headless installs. Whoever runs them controls the hub's machine, so no setup code is asked.
 * Refusals are thrown as HubErrors (admin.ts prints `code: message` and exits 1); bad usage
 * throws HandoverUsageError (exit 2).
 */
export const HANDOVER_USAGE = `usage: hearth-admin create-installer [--data DIR] --username NAME  (password read from stdin)
       hearth-admin invite-owner [--data DIR] [--support-days N]  (prints the one-time owner invite)`;

export class HandoverUsageError extends Error {}

export async function createInstallerCommand(args: string[]): Promise<void> {
  const values = parse(args, { username: { type: 'string' } });
  if (typeof values.username !== 'string') throw new HandoverUsageError('--username is required');
  const password = readFileSync(0, 'utf8').split('\n')[0] ?? '';
  await withAuth(values.data, async (auth) => {
    const { user } = await auth.createOwner({ username: values.username as string, password }, 'console', 'installer');
    process.stdout.write(`created installer ${user.username}\n`);
  });
}

export async function inviteOwnerCommand(args: string[]): Promise<void> {
  const values = parse(args, { 'support-days': { type: 'string' } });
  const raw = values['support-days'];
  const supportDays = typeof raw === 'string' ? Number(raw) : 0;
  if (typeof raw === 'string' && !/^\d+$/.test(raw))
    throw new HandoverUsageError('--support-days is a whole number of days (0-90)');
  await withAuth(values.data, async (auth) => {
    const invite = auth.handover.inviteOwner({ kind: 'system', part: 'console' }, { supportDays });
    // The code first, alone on its line, so scripts can take it with `head -1`.
    process.stdout.write(
      `${invite.code}\nvalid until ${invite.expiresAt}; the installer keeps support access for ${invite.supportDays} days after the owner accepts\n`,
    );
  });
}

type Options = Record<string, { type: 'string' }>;

function parse(args: string[], options: Options): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args, options: { data: { type: 'string' }, ...options }, strict: true }).values as Record<
      string,
      string | undefined
    >;
  } catch (err) {
    throw new HandoverUsageError((err as Error).message);
  }
}

/** The data dir and what is made in it are for the hub's user only, as when the hub makes them. */
async function withAuth(data: string | boolean | undefined, fn: (auth: AuthService) => Promise<void>): Promise<void> {
  const config = validateConfig({
    dataDir: resolve(typeof data === 'string' ? data : (toolEnv().dataDir ?? './data')),
  });
  const log = createLogger({ level: 'silent' });
  usePrivateUmask();
  securePrivateDir(config.dataDir);
  const store = Store.open(config.dataDir);
  try {
    await fn(
      new AuthService({
        store,
        bus: new EventBus(log),
        clock: systemClock,
        log,
        config: config.auth,
        dataDir: config.dataDir,
      }),
    );
  } finally {
    store.close();
  }
}
