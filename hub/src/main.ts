#!/usr/bin/env node
/**
 * `npm start` lands here: read the config, start the hub, stop it cleanly on SIGINT/SIGTERM.
 * Exit codes: 0 clean stop, 1 a part failed to start or stop, 2 bad command line or config.
 */
import { ConfigError, HelpRequested, loadConfig, type HubConfig } from './core/config.ts';
import { usePrivateUmask } from './core/data-dir.ts';
import { isHubError } from './core/errors.ts';
import { Hub, STOP_DEADLINE_MS } from './hub.ts';

function readConfig(): HubConfig {
  try {
    return loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(`${err.message}\n`);
      process.exit(0);
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`hearth: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  // Before any file is made: the data dir's files are the hub user's alone, whatever the umask.
  usePrivateUmask();
  let stopping = false;
  // Set below; the hub asks for it after a first-run restore (exit 75: start me again).
  let requestExit = (_code: number): void => {};
  const hub = new Hub(readConfig(), { onExitRequested: (code) => requestExit(code) });
  const stop = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    hub.log.info({ reason }, 'hub stopping');
    const deadline = setTimeout(() => {
      hub.log.error('hub did not stop within the deadline; exiting anyway');
      process.exit(1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    await hub.stop();
    hub.log.info('hub stopped');
    process.exit(code);
  };
  requestExit = (code) => void stop('restart requested', code);
  process.on('SIGINT', () => void stop('SIGINT', 0));
  process.on('SIGTERM', () => void stop('SIGTERM', 0));
  process.on('uncaughtException', (err) => {
    hub.log.fatal({ err }, 'uncaught exception');
    void stop('uncaughtException', 1);
  });
  process.on('unhandledRejection', (err) => {
    hub.log.fatal({ err }, 'unhandled rejection');
    void stop('unhandledRejection', 1);
  });

  try {
    await hub.start();
  } catch (err) {
    const line = isHubError(err) ? `${err.code}: ${err.message}` : (err as Error).message;
    process.stderr.write(`hearth: failed to start: ${line}\n`);
    process.exit(1);
  }
}

await main();
