import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const RELAY_MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const REMOTE_CLI = fileURLToPath(new URL('../../src/cli/hearth-remote.ts', import.meta.url));

export interface RelayProcess {
  port: number;
  url: string;
  node: string;
  /** Every stdout and stderr line so far (the test greps them for leaks). */
  output: string[];
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

/** Starts a real relay node (`node cloud-relay/src/main.ts`) on a free loopback port. */
export async function startRelay(args: string[]): Promise<RelayProcess> {
  const proc = spawn(process.execPath, [RELAY_MAIN, '--port', '0', '--host', '127.0.0.1', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  createInterface({ input: proc.stderr! }).on('line', (line) => output.push(line));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const started = await new Promise<{ port: number; node: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay did not start: ${output.join('\n')}`)), 20_000);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      output.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number; node?: string };
        if (entry.msg?.startsWith('relay listening')) {
          clearTimeout(timer);
          resolve({ port: entry.port!, node: entry.node! });
        }
      } catch {
        // not a log line
      }
    });
    void exited.then(() => reject(new Error(`relay exited: ${output.join('\n')}`)));
  });
  return {
    ...started,
    url: `ws://127.0.0.1:${started.port}`,
    output,
    stop: async () => stop(proc, 'SIGTERM', exited),
    kill9: async () => stop(proc, 'SIGKILL', exited),
  };
}

function stop(proc: ChildProcess, signal: NodeJS.Signals, exited: Promise<void>): Promise<void> {
  if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
  return exited;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RedisProcess {
  url: string;
  port: number;
  /** Its log lines so far. */
  output: string[];
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

/** A real redis-server on a loopback port, no persistence except an explicit SAVE into `dir`. */
export async function startRedis(dir: string, extra: string[] = []): Promise<RedisProcess> {
  const port = await freePort();
  return spawnRedis(
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--dbfilename',
      'dump.rdb',
      ...extra,
    ],
    port,
    /Ready to accept connections/i,
  );
}

/** A real Redis Sentinel (redis-server in sentinel mode) watching the primary `name` at `primaryPort`. */
export async function startSentinel(dir: string, name: string, primaryPort: number): Promise<RedisProcess> {
  const port = await freePort();
  const conf = join(dir, `sentinel-${port}.conf`);
  // Sentinel rewrites its config file as it learns, so it gets its own writable copy.
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 1`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 5000`,
      '',
    ].join('\n'),
  );
  return spawnRedis([conf, '--sentinel'], port, /\+monitor master/);
}

export interface RedisClusterProcess {
  /** `redis-cluster://` with every node as a seed, for `--redis`. */
  url: string;
  /** The primaries, in the order redis-cli assigned them slot ranges (ascending). */
  nodes: RedisProcess[];
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

/**
 * A real Redis Cluster of `primaries` redis-servers on loopback ports, no replicas, no
 * persistence; resolves once every node reports `cluster_state:ok`. The cluster bus port is picked
 * free too (by default it would be the port + 10000, which may be taken or out of range).
 */
export async function startRedisCluster(dir: string, primaries = 3): Promise<RedisClusterProcess> {
  const nodes: RedisProcess[] = [];
  const stopAll = async (how: 'stop' | 'kill9') => {
    await Promise.all(nodes.map((n) => n[how]()));
  };
  try {
    for (let i = 0; i < primaries; i++) {
      const port = await freePort();
      const busPort = await freePort();
      nodes.push(
        await spawnRedis(
          [
            '--port',
            String(port),
            '--cluster-port',
            String(busPort),
            '--bind',
            '127.0.0.1',
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout',
            '2000',
            '--save',
            '',
            '--appendonly',
            'no',
            '--dir',
            dir,
          ],
          port,
          /Ready to accept connections/i,
        ),
      );
    }
    await redisCli([
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    // Each node learns the slot map over the cluster bus; until then it may answer CLUSTERDOWN.
    await waitFor(
      async () => {
        const infos = await Promise.all(nodes.map((n) => redisCli(['-p', String(n.port), 'cluster', 'info'])));
        return infos.every((info) => info.includes('cluster_state:ok')) ? true : undefined;
      },
      'cluster_state:ok on every node',
      20_000,
      100,
    );
  } catch (err) {
    await stopAll('kill9');
    throw err;
  }
  return {
    url: `redis-cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    nodes,
    stop: () => stopAll('stop'),
    kill9: () => stopAll('kill9'),
  };
}

/** Runs `redis-cli` (against 127.0.0.1) to completion; rejects on a non-zero exit. */
export function redisCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-h', '127.0.0.1', ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(' ')}: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

async function spawnRedis(args: string[], port: number, ready: RegExp): Promise<RedisProcess> {
  const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server ${args.join(' ')} did not start`)), 10_000);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      output.push(line);
      if (ready.test(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => reject(new Error('redis-server exited')));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    output,
    stop: async () => stop(proc, 'SIGTERM', exited),
    kill9: async () => stop(proc, 'SIGKILL', exited),
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `hearth-remote` (the same file scripts/hearth-remote runs) to completion. */
export function remote(args: string[]): Promise<CliResult> {
  const proc = spawn(process.execPath, [REMOTE_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, stdout, stderr })));
}

/** Starts `hearth-remote events`; resolves once its ready line arrived. */
export async function remoteEvents(args: string[]): Promise<{
  lines: Record<string, unknown>[];
  next(match: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): void;
}> {
  const proc = spawn(process.execPath, [REMOTE_CLI, 'events', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  const waiters: { match: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }[] =
    [];
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const event = JSON.parse(line) as Record<string, unknown>;
    lines.push(event);
    for (const w of [...waiters]) {
      if (w.match(event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  });
  const next = (match: (e: Record<string, unknown>) => boolean, timeoutMs = 15_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const found = lines.find(match);
      if (found) return resolve(found);
      const timer = setTimeout(() => reject(new Error(`no matching event; stderr: ${stderr}`)), timeoutMs);
      waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  await next((e) => e.type === 'ready');
  return { lines, next, stop: () => proc.kill('SIGTERM') };
}

/** Retries `fn` until it returns a value (not undefined) or the time is up. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
