import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { ffconcatQuote } from './ffconcat.ts';
import { parseCameraUrl } from './url.ts';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** The fd ffmpeg reads the camera's input list from (0-3 are stdin, stdout, stderr, live). */
const INPUT_FD = 4;

/**
 * ffmpeg's input arguments for a camera without its URL: ffmpeg reads a one-entry `ffconcat`
 * list naming it from fd 4 (see `cameraInputList`), so the credentials never reach the
 * command line, where `ps` and /proc/<pid>/cmdline show them to every local user. The concat
 * demuxer opens the entry like `-i URL` would (`-safe 0`: an entry may be a URL). The whitelist
 * lets a list read from a pipe open RTSP and what it runs on, and nothing else: no `file`, so
 * even a list that somehow held another entry could not read the hub's files.
 */
export function cameraInputArgs(fd = INPUT_FD): string[] {
  return [
    '-f',
    'concat',
    '-safe',
    '0',
    '-protocol_whitelist',
    'pipe,rtsp,rtsps,rtp,srtp,tcp,udp,tls',
    '-i',
    `pipe:${fd}`,
  ];
}

/**
 * The list for `cameraInputArgs`: the URL and the RTSP options per entry (TCP: no lost UDP
 * packets on Wi-Fi; the I/O timeout in µs ends a run whose camera vanished). The URL is one
 * quoted token (see ffconcatQuote): a URL with a line break is refused, never split into
 * entries of its own.
 */
export function cameraInputList(url: string, timeoutUs = 5_000_000): string {
  parseCameraUrl(url); // rtsp(s):// and no control characters, whatever the caller checked
  return [
    'ffconcat version 1.0',
    `file ${ffconcatQuote(url)}`,
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
  const [cmd, argv] = ffmpegCommand(ffmpeg, args);
  const child = spawn(cmd, argv, {
    stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
  }) as unknown as ChildProcessWithoutNullStreams;
  const input = child.stdio[INPUT_FD] as Writable | null;
  input?.on('error', () => {}); // an ffmpeg that failed at once closed it
  input?.end(inputListOrNone(cameraUrl));
  return child;
}

/** The program and arguments that run ffmpeg so that it dies with the hub (see spawnFfmpeg). */
export function ffmpegCommand(ffmpeg: string, args: string[]): [string, string[]] {
  return SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', ffmpeg, ...args]] : [ffmpeg, args];
}

/**
 * A URL stored before control characters were refused cannot be listed: ffmpeg then gets a list
 * without entries and exits at once, and the camera shows as unavailable instead of the hub
 * failing to start.
 */
function inputListOrNone(url: string): string {
  try {
    return cameraInputList(url);
  } catch {
    return 'ffconcat version 1.0\n';
  }
}
