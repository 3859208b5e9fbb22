/**
 * Benches that multicast (mDNS: plug pairing) run inside a loopback-only network namespace:
 * started outside one, they run themselves again inside `scripts/netns-run` and hand back the
 * figures of that run.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from '../run.ts';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(benchDir, '..');

/** Runs bench `name` again inside scripts/netns-run and hands back its figures. */
export async function reexecInNetns(ctx: BenchContext, name: string): Promise<Record<string, unknown>> {
  const netnsRun = join(root, 'scripts', 'netns-run');
  if (!existsSync(netnsRun)) throw new Error('scripts/netns-run is missing');
  if (existsSync(join(root, 'scripts', 'plug-sim')) && !process.env.HEARTH_PLUG_SIM) {
    // Build the simulator out here: inside the namespace there is no network for its packages.
    const build = spawn(
      'bash',
      ['-c', 'source firmware/test/deps.sh && firmware_ensure_build_debs && make -s -C firmware sim'],
      { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const code = await new Promise<number | null>((resolve) => build.once('exit', resolve));
    if (code !== 0) throw new Error(`building the plug simulator failed (exit ${code})`);
  }
  const child = spawn(netnsRun, [process.execPath, join(benchDir, 'run.ts'), name, ...ctx.args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let last: Record<string, unknown> | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('{')) {
      try {
        last = JSON.parse(line);
        return;
      } catch {
        // not the figures line
      }
    }
    if (!line.startsWith('== bench')) ctx.log(line);
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (!last) throw new Error(`the bench inside the network namespace printed no figures (exit ${code})`);
  const { bench: _bench, durationS: _d, error, ...figures } = last;
  if (error) throw Object.assign(new Error(String(error)), { figures });
  return figures;
}
