/**
 * A broker alone in its own process, so the bench measures its RSS and CPU without the load
 * generator's, and the generator never shares its event loop.
 *
 *   node bench/lib/hub-broker-server.ts --impl hub|aedes --devices N [--device-prefix P] [--integration NAME] [--hub-src DIR]
 *
 * `hub`: the hub's own Broker (authentication, ACLs and persistence on the SQLite store in a temp
 * data dir). `aedes`: plain aedes 1.2 with its defaults (in-memory persistence, no hooks), the
 * baseline that shows what our hooks and persistence cost. `--hub-src` loads the hub from another
 * copy of hub/src (experiments on a modified copy, e.g. under bench/results/, so node_modules
 * still resolve), never touching the real one.
 *
 * Prints one JSON line on stdout once listening:
 *   {"ready":true,"impl":..,"pid":..,"port":..,"devices":[{"id","username","password"}],"integration":{..}}
 * then answers JSON-line commands on stdin, one JSON line each on stdout:
 *   {"cmd":"mem","gc":true}      process.memoryUsage() and V8 heap spaces (after a full GC if asked)
 *   {"cmd":"sockets"}            per-connection stream buffer sizes of the accepted sockets
 *   {"cmd":"heapSnapshot","path":"..."}  writes a V8 heap snapshot
 *   {"cmd":"profileStart"} / {"cmd":"profileStop","path":"..."}  a V8 CPU profile of just that span
 *   {"cmd":"loopDelay"}         event-loop delay (p50/p99/max ms) since the last call, then reset
 * SIGTERM/SIGINT stop the broker and close the store.
 */
import { subscribe } from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { Aedes } from 'aedes';

export interface ServerCredential {
  id: string;
  username: string;
  password: string;
}

export interface ServerReady {
  ready: true;
  impl: 'hub' | 'aedes';
  pid: number;
  port: number;
  /** With --tls: the TLS listener's port and the certificate it presents (PEM); else 0 and ''. */
  tlsPort: number;
  certPem: string;
  devices: ServerCredential[];
  integration: { username: string; password: string };
  setupMs: number;
}

interface Running {
  port: number;
  tlsPort?: number;
  certPem?: string;
  devices: ServerCredential[];
  integration: { username: string; password: string };
  stop(): Promise<void>;
}

const { values } = parseArgs({
  options: {
    impl: { type: 'string', default: 'hub' },
    devices: { type: 'string', default: '100' },
    'device-prefix': { type: 'string', default: 'dev' },
    integration: { type: 'string', default: 'bench-sub' },
    'hub-src': { type: 'string' },
    /** The bench's temp dir for the store (it removes it even if this process is killed). */
    data: { type: 'string' },
    /** `hub` only: MQTT over TLS too (the hub's certificate, plug PSKs), its port in `tlsPort`. */
    tls: { type: 'boolean', default: false },
  },
});

const impl = values.impl === 'aedes' ? 'aedes' : 'hub';
const deviceIds = Array.from(
  { length: Number(values.devices) },
  (_, i) => `${values['device-prefix']}${String(i).padStart(4, '0')}`,
);

// Every accepted TCP connection, whatever server the broker builds, for buffer introspection.
const sockets = new Set<Socket>();
subscribe('net.server.socket', (msg) => {
  const socket = (msg as { socket: Socket }).socket;
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
});

async function startAedes(): Promise<Running> {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    devices: deviceIds.map((id) => ({ id, username: id, password: 'unused' })),
    integration: { username: String(values.integration), password: 'unused' },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}

async function startHub(): Promise<Running> {
  // Loaded only in this mode so the aedes baseline runs even where the hub broker is not built.
  type Hub = [
    typeof import('../../hub/src/broker/broker.ts'),
    typeof import('../../hub/src/store/store.ts'),
    typeof import('../../hub/src/core/bus.ts'),
    typeof import('../../hub/src/core/logger.ts'),
    typeof import('../../hub/src/core/clock.ts'),
    typeof import('../../hub/src/core/config.ts'),
  ];
  const src = values['hub-src'];
  const [{ Broker }, { Store }, { EventBus }, { createLogger }, { systemClock }, { validateConfig }] = (await (src
    ? Promise.all(
        ['broker/broker.ts', 'store/store.ts', 'core/bus.ts', 'core/logger.ts', 'core/clock.ts', 'core/config.ts'].map(
          (f) => import(pathToFileURL(resolve(src, f)).href),
        ),
      )
    : Promise.all([
        import('../../hub/src/broker/broker.ts'),
        import('../../hub/src/store/store.ts'),
        import('../../hub/src/core/bus.ts'),
        import('../../hub/src/core/logger.ts'),
        import('../../hub/src/core/clock.ts'),
        import('../../hub/src/core/config.ts'),
      ]))) as Hub;
  const dataDir = values.data ?? mkdtempSync(join(tmpdir(), 'hearth-bench-hub-data-'));
  const store = Store.open(dataDir);
  // Experiments: HEARTH_BENCH_PRAGMAS="synchronous=OFF;wal_autocheckpoint=0" on the hub's database.
  for (const pragma of (process.env.HEARTH_BENCH_PRAGMAS ?? '').split(';').filter(Boolean)) store.db.pragma(pragma);
  const log = createLogger({ level: 'silent' });
  const bus = new EventBus(log);
  // Integrations in clear too, whatever the default: the bench compares clear with TLS.
  const config = validateConfig({ mqtt: { host: '127.0.0.1', port: 0, tlsPort: 0, plainIntegrations: true } }).mqtt;
  const { loadHubCertificate } = (await import(
    src ? pathToFileURL(resolve(src, 'tls/hub-certificate.ts')).href : '../../hub/src/tls/hub-certificate.ts'
  )) as typeof import('../../hub/src/tls/hub-certificate.ts');
  const tls = values.tls ? loadHubCertificate(store.settings, 'localhost') : undefined;
  const now = systemClock.now();
  // Credentials of a device reference its row: register the devices as a pairing would.
  store.transaction(() => {
    for (const id of deviceIds) {
      store.devices.insert({
        id,
        name: id,
        roomId: null,
        driver: 'plug',
        model: 'bench',
        capabilities: ['switch', 'power'],
        config: {},
        available: false,
        createdAt: now,
        updatedAt: now,
      });
    }
  });
  // Experiments: HEARTH_BENCH_BROKER_LIMITS='{"flushMs":50}' overrides the broker's DEFAULT_LIMITS.
  // The bench measures how fast the broker delivers, so the publish rate limits (issue 12: per
  // credential and in all, far below the bench's 100 publishers at full speed) are lifted.
  const unlimited = { perSecond: 1e9, burst: 1e9 };
  const limits = {
    publishRates: { device: unlimited, integration: unlimited, total: unlimited },
    ...(process.env.HEARTH_BENCH_BROKER_LIMITS
      ? (JSON.parse(process.env.HEARTH_BENCH_BROKER_LIMITS) as Record<string, unknown>)
      : {}),
  };
  const broker = new Broker({
    store,
    bus,
    log,
    clock: systemClock,
    config,
    limits: limits as never,
    ...(tls ? { tls: { keyPem: tls.keyPem, certPem: tls.certPem } } : {}),
  });
  await broker.start();
  const devices: ServerCredential[] = [];
  for (const id of deviceIds) devices.push({ id, ...(await broker.credentials.createDeviceCredential(id)) });
  const integration = await broker.credentials.createIntegrationUser({
    username: String(values.integration),
    scope: 'readwrite',
    topics: ['#'],
  });
  return {
    port: broker.port,
    tlsPort: broker.tlsPort,
    certPem: tls?.certPem ?? '',
    devices,
    integration: { username: integration.username, password: integration.password },
    async stop() {
      await broker.stop();
      store.close();
      if (!values.data) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function bufferInfo(): unknown {
  const per = [...sockets].map((s) => ({
    readableHighWaterMark: s.readableHighWaterMark,
    writableHighWaterMark: s.writableHighWaterMark,
    readableLength: s.readableLength,
    writableLength: s.writableLength,
  }));
  const sum = (k: keyof (typeof per)[number]): number => per.reduce((a, p) => a + p[k], 0);
  return {
    connections: per.length,
    readableHighWaterMark: per[0]?.readableHighWaterMark ?? null,
    writableHighWaterMark: per[0]?.writableHighWaterMark ?? null,
    bufferedReadBytes: sum('readableLength'),
    bufferedWriteBytes: sum('writableLength'),
  };
}

function memInfo(gc: boolean): unknown {
  const g = (globalThis as { gc?: () => void }).gc;
  if (gc && g) {
    g();
    g();
  }
  return {
    gc: Boolean(gc && g),
    ...process.memoryUsage(),
    heapSpaces: Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size])),
  };
}

// Experiments: HEARTH_BENCH_MQTT_NUMCACHE=off turns off mqtt-packet's cache of 65,536 two-byte
// buffers (about 7 MB of heap, filled on the first packet written) before the broker starts.
if (process.env.HEARTH_BENCH_MQTT_NUMCACHE === 'off') {
  const mqttPacket = (await import('mqtt-packet')).default as unknown as { writeToStream: { cacheNumbers: boolean } };
  mqttPacket.writeToStream.cacheNumbers = false;
}

const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
const ms = (ns: number): number => Math.round(ns / 1e4) / 100;

const t0 = performance.now();
const running = await (impl === 'aedes' ? startAedes() : startHub());
const ready: ServerReady = {
  ready: true,
  impl,
  pid: process.pid,
  port: running.port,
  tlsPort: running.tlsPort ?? 0,
  certPem: running.certPem ?? '',
  devices: running.devices,
  integration: running.integration,
  setupMs: Math.round(performance.now() - t0),
};
process.stdout.write(`${JSON.stringify(ready)}\n`);

// The sampling profiler, started and stopped around one measurement window.
let profiler: Session | null = null;
async function profileStart(): Promise<unknown> {
  profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
  await profiler.post('Profiler.start');
  return { profiling: true };
}
async function profileStop(path: string): Promise<unknown> {
  if (!profiler) return { error: 'not profiling' };
  const { profile } = await profiler.post('Profiler.stop');
  profiler.disconnect();
  profiler = null;
  writeFileSync(path, JSON.stringify(profile));
  return { path };
}

// Commands are answered in order, one at a time.
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  queue = queue.then(async () => {
    let out: unknown;
    try {
      const cmd = JSON.parse(line) as { cmd: string; gc?: boolean; path?: string };
      if (cmd.cmd === 'mem') out = memInfo(Boolean(cmd.gc));
      else if (cmd.cmd === 'sockets') out = bufferInfo();
      else if (cmd.cmd === 'heapSnapshot') out = { path: writeHeapSnapshot(cmd.path) };
      else if (cmd.cmd === 'profileStart') out = await profileStart();
      else if (cmd.cmd === 'loopDelay') {
        out = { p50Ms: ms(loop.percentile(50)), p99Ms: ms(loop.percentile(99)), maxMs: ms(loop.max) };
        loop.reset();
      } else if (cmd.cmd === 'profileStop') out = await profileStop(String(cmd.path));
      else out = { error: `unknown command ${cmd.cmd}` };
    } catch (err) {
      out = { error: (err as Error).message };
    }
    process.stdout.write(`${JSON.stringify(out)}\n`);
  });
});

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  running.stop().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`stop failed: ${err.message}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The bench closing our stdin (it ended or died) also stops us.
process.stdin.on('end', stop);
