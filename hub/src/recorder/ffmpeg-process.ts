import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** The fd ffmpeg reads the camera's input list from (0-3 are stdin, stdout, stderr, live). */
const INPUT_FD = 4;

/**
 * ffmpeg's input arguments for a camera without its URL: ffmpeg reads a one-entry `ffconcat`
 * list naming it from fd 4 (see `cameraInputList`), so the credentials never reach the
 * command line, where `ps` and /proc/<pid>/cmdline show them to every local user. The concat
 * demuxer opens the entry like `-i URL` would; the whitelist lets a list read from a pipe open
 * network protocols.
 */
export function cameraInputArgs(fd = INPUT_FD): string[] {
  return ['-f', 'concat', '-safe', '0', '-protocol_whitelist', 'pipe,file,rtsp,rtsps,rtp,srtp,tcp,udp,tls', '-i', `pipe:${fd}`];
}

/**
 * The list for `cameraInputArgs`: the URL and the RTSP options per entry (TCP: no lost UDP
 * packets on Wi-Fi; the I/O timeout in µs ends a run whose camera vanished).
 */
export function cameraInputList(url: string, timeoutUs = 5_000_000): string {
  return [
    'ffconcat version 1.0',
    `file '${url.replace(/'/g, "'\\''")}'`,
    'option rtsp_transport tcp',
    `option timeout ${timeoutUs}`,
    '',
  ].join('\n');
}

/**
 * Starts ffmpeg with stdin, stdout, stderr and fd 3 as pipes, and the camera's input list
 * written to fd 4. ffmpeg would outlive a killed hub (it ignores SIGPIPE and a closed stdin)
 * and keep reading the camera next to the new hub's ffmpeg: setpriv (util-linux) makes the
 * kernel kill it when the hub dies.
 */
export function spawnFfmpeg(ffmpeg: string, args: string[], cameraUrl: string): ChildProcessWithoutNullStreams {
  const [cmd, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', ffmpeg, ...args]] : [ffmpeg, args];
  const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'] }) as unknown as ChildProcessWithoutNullStreams;
  const input = child.stdio[INPUT_FD] as Writable | null;
  input?.on('error', () => {}); // an ffmpeg that failed at once closed it
  input?.end(cameraInputList(cameraUrl));
  return child;
}
