import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/**
 * Starts ffmpeg with stdin, stdout, stderr and fd 3 as pipes. ffmpeg would outlive a killed
 * hub (it ignores SIGPIPE and a closed stdin) and keep reading the camera next to the new
 * hub's ffmpeg: setpriv (util-linux) makes the kernel kill it when the hub dies.
 */
export function spawnFfmpeg(ffmpeg: string, args: string[]): ChildProcessWithoutNullStreams {
  const [cmd, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', ffmpeg, ...args]] : [ffmpeg, args];
  return spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] }) as unknown as ChildProcessWithoutNullStreams;
}
