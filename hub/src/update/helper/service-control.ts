import { execFile, spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isAlive } from '../../core/data-dir.ts';

const run = promisify(execFile);

/** Stopping and starting the hub around an update. */
export interface ServiceControl {
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** The installed hub: its systemd unit. */
export class SystemdControl implements ServiceControl {
  readonly #unit: string;
  constructor(unit = 'hearth.service') {
    this.#unit = unit;
  }
  async stop(): Promise<void> {
    await run('systemctl', ['stop', this.#unit], { timeout: 60_000 });
  }
  async start(): Promise<void> {
    // After `dpkg -i` the package's postinst has (re)started it already; start is then a no-op.
    await run('systemctl', ['start', this.#unit], { timeout: 60_000 });
  }
}

/**
 * A hub run as a plain process (the tests, a machine without systemd): `start` runs
 * `<launcher> ...args` detached (its output appended to `logFile`); `stop` sends SIGTERM to the
 * pid in `DATA/hub.pid` and waits for it to go (SIGKILL after `graceMs`).
 */
export class ProcessControl implements ServiceControl {
  readonly #o: { launcher: string; args: string[]; dataDir: string; logFile: string; graceMs?: number };
  constructor(o: { launcher: string; args: string[]; dataDir: string; logFile: string; graceMs?: number }) {
    this.#o = o;
  }

  async stop(): Promise<void> {
    let pid: number;
    try {
      pid = Number(readFileSync(join(this.#o.dataDir, 'hub.pid'), 'utf8').trim());
    } catch {
      return;
    }
    if (!pid || !isAlive(pid)) return;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + (this.#o.graceMs ?? 20_000);
    while (isAlive(pid)) {
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        await new Promise((r) => setTimeout(r, 200));
        if (!isAlive(pid)) break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async start(): Promise<void> {
    const out = openSync(this.#o.logFile, 'a');
    const child = spawn(this.#o.launcher, this.#o.args, { detached: true, stdio: ['ignore', out, out] });
    child.unref();
  }
}
