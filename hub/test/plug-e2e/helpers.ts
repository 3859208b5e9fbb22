import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

/**
 * Everything here multicasts: it runs only inside a loopback-only network namespace
 * (`scripts/netns-run`, which sets HEARTH_NETNS). Outside one the test files skip themselves.
 */
export const IN_NETNS = Boolean(process.env.HEARTH_NETNS);
/** scripts/plug-sim, or HEARTH_PLUG_SIM (another build of the simulator, for experiments). */
export const PLUG_SIM =
  process.env.HEARTH_PLUG_SIM ?? fileURLToPath(new URL('../../../scripts/plug-sim', import.meta.url));
export const HAVE_SIM = existsSync(PLUG_SIM);

/** Polls `fn` until it returns something other than undefined (the test timeout bounds it). */
export async function waitFor<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- the events WebSocket ---------------------------------------------------------------------

export interface EventsSocket {
  events: Record<string, any>[];
  /** Resolves with the first event (already received or future) matching `predicate`. */
  next(predicate: (e: Record<string, any>) => boolean, what: string): Promise<Record<string, any>>;
  /** Calls `listener` with every later event as it arrives. */
  onEvent(listener: (e: Record<string, any>) => void): void;
  close(): void;
}

export async function openEvents(baseUrl: string, token: string): Promise<EventsSocket> {
  const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}/api/v1/events?token=${token}`);
  const events: Record<string, any>[] = [];
  ws.on('message', (data) => events.push(JSON.parse(String(data))));
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', function ready() {
      if (events.some((e) => e.type === 'ready')) {
        ws.off('message', ready);
        resolve();
      }
    });
  });
  return {
    events,
    next: (predicate, what) => waitFor(() => events.find(predicate), what),
    onEvent: (listener) => ws.on('message', (data) => listener(JSON.parse(String(data)))),
    close: () => ws.close(),
  };
}

// ---- the C plug simulator ---------------------------------------------------------------------

export interface SimProcess {
  id: string;
  proc: ChildProcess;
  /** Its pairing HTTP port, from its JSON lines on stdout. */
  httpPort: number;
  lines: Record<string, unknown>[];
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** Runs `scripts/plug-sim` (it builds the simulator if needed) and waits for its HTTP port. */
export async function startSim(options: {
  id: string;
  setupCode: string;
  stateDir: string;
  loadWatts?: number;
  noClock?: boolean;
  pairingWindowS?: number;
  /** A power cut right after the simulator stores this key (it exits 137). */
  dieAfterStore?: string;
}): Promise<SimProcess> {
  mkdirSync(options.stateDir, { recursive: true });
  const args = [
    '--id',
    options.id,
    '--setup-code',
    options.setupCode,
    '--state',
    options.stateDir,
    '--http-port',
    '0',
    '--address',
    '127.0.0.1',
  ];
  if (options.loadWatts !== undefined) args.push('--load-watts', String(options.loadWatts));
  if (options.noClock) args.push('--no-clock');
  if (options.dieAfterStore !== undefined) args.push('--die-after-store', options.dieAfterStore);
  // The plug answers pairing only this long after start (then after SIGUSR1, its button).
  if (options.pairingWindowS !== undefined) args.push('--pairing-window-s', String(options.pairingWindowS));
  const proc = spawn(PLUG_SIM, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const httpPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`plug-sim ${options.id} printed no http port in 120 s; stderr: ${stderr}`)),
      120_000,
    );
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      lines.push(entry);
      const port = entry.httpPort ?? entry.http_port ?? (entry.http as { port?: unknown } | undefined)?.port;
      if (typeof port === 'number' && port > 0) {
        clearTimeout(timer);
        resolve(port);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`plug-sim ${options.id} exited before it listened; stderr: ${stderr}`));
    });
  });
  const signal = async (sig: NodeJS.Signals) => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
    await exited;
  };
  return { id: options.id, proc, httpPort, lines, kill9: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}

const AVAHI_LOCK = join(tmpdir(), 'hearth-avahi-test.lock');

/** A directory as a lock, taken over when the process that holds it is gone. */
function takeLock(path: string): boolean {
  try {
    mkdirSync(path);
    writeFileSync(join(path, 'pid'), String(process.pid));
    return true;
  } catch {
    let holder = NaN;
    try {
      holder = Number(readFileSync(join(path, 'pid'), 'utf8'));
    } catch {
      return false; // being written right now
    }
    try {
      process.kill(holder, 0);
      return false;
    } catch {
      rmSync(path, { recursive: true, force: true });
      return false;
    }
  }
}

// ---- Avahi (avahi-daemon + avahi-browse), on a private D-Bus ----------------------------------

export interface Avahi {
  /** `avahi-browse -rtp _TYPE._tcp`: the resolved instances. */
  resolve(type: string): Promise<{ name: string; host: string; address: string; port: number; txt: string }[]>;
  stop(): Promise<void>;
}

/**
 * Starts a D-Bus daemon of its own (avahi-browse talks to avahi-daemon over the system bus; the
 * machine has none) and avahi-daemon on it, bound to `lo`. Avahi does use loopback: it accepts an
 * interface that is up and either multicast-capable or IFF_LOOPBACK (avahi-core iface-linux.c),
 * and scripts/netns-run turned multicast on for `lo`.
 */
export async function startAvahi(dir: string): Promise<Avahi> {
  mkdirSync(dir, { recursive: true });
  // avahi-daemon keeps one pid file per machine (/run/avahi-daemon/pid) and refuses to start
  // next to a live one, even in another network namespace: test files take turns.
  await waitFor(() => (takeLock(AVAHI_LOCK) ? true : undefined), 'the avahi lock', 120_000);
  const socket = join(dir, 'system_bus');
  writeFileSync(
    join(dir, 'bus.conf'),
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy>
</busconfig>
`,
  );
  writeFileSync(
    join(dir, 'avahi.conf'),
    `[server]
host-name=hearth-avahi-${process.pid}
use-ipv4=yes
use-ipv6=no
allow-interfaces=lo
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
`,
  );
  const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}` };
  const children: ChildProcess[] = [];
  const dbus = spawn('dbus-daemon', ['--nofork', `--config-file=${join(dir, 'bus.conf')}`], { stdio: 'ignore' });
  children.push(dbus);
  await waitFor(() => (existsSync(socket) ? true : undefined), 'the D-Bus socket', 10_000);
  const daemon = spawn(
    'avahi-daemon',
    ['--no-drop-root', '--no-chroot', '--no-rlimits', '--no-proc-title', '-f', join(dir, 'avahi.conf')],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(daemon);
  let daemonLog = '';
  daemon.stderr!.on('data', (d: Buffer) => {
    daemonLog += d.toString();
  });
  await waitFor(
    () => (/Server startup complete/.test(daemonLog) ? true : undefined),
    `avahi-daemon to start (${daemonLog})`,
    15_000,
  );

  const run = (args: string[]) =>
    new Promise<string>((resolve) => {
      const p = spawn('avahi-browse', args, { env, stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
      p.once('exit', () => {
        clearTimeout(timer);
        resolve(out);
      });
    });

  return {
    async resolve(type) {
      const out = await run(['-r', '-t', '-p', `_${type}._tcp`]);
      // =;iface;proto;name;type;domain;host;address;port;txt (names escaped: \032 is a space)
      return out
        .split('\n')
        .filter((l) => l.startsWith('='))
        .map((l) => l.split(';'))
        .map((f) => ({
          name: f[3]!.replace(/\\(\d{3})/g, (_m, d: string) => String.fromCharCode(Number(d))),
          host: f[6]!,
          address: f[7]!,
          port: Number(f[8]),
          txt: f.slice(9).join(';'),
        }));
    },
    async stop() {
      for (const child of children.reverse()) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await gone;
      }
      rmSync(AVAHI_LOCK, { recursive: true, force: true });
    },
  };
}
