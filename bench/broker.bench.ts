/**
 * bench/broker: the hub's MQTT broker against Mosquitto, side by side in one run (and plain
 * aedes 1.2 as a third column: what aedes costs before our hooks and persistence).
 * bench/README.md explains every figure and holds the results.
 *
 * For each broker, started alone in its own process (mosquitto with a generated config: password
 * file, ACL, persistence; the hub's Broker on a Store in a temp dir; plain aedes as it comes):
 *   1. idle: after a warm-up, RSS before and after 1,000 clients connect (each with its own device
 *      credential, a retained-status will, subscribed to its own cmd topic, then silent);
 *   2. latency: 100 publishers (one device credential and one `hearth/<id>/telemetry` topic each)
 *      at a fixed total of 2,000 msg/s into one `hearth/+/telemetry` subscriber (an integration
 *      user); the payload carries the send time → p50/p99 end to end, at QoS 0 and at QoS 1
 *      (persistent session);
 *   3. throughput: the same publishers as fast as the broker delivers, with at most `--credit`
 *      messages sent and not yet received → msgs/s the subscriber received in a fixed window after
 *      a warm-up, at QoS 0, QoS 1 (persistent session) and QoS 1 (clean session).
 * Broker CPU comes from /proc/PID/stat (utime+stime) over each window; RSS from /proc/PID/status.
 * The load runs in this process: publisher threads and a subscriber thread (lib/load-worker.ts).
 *
 * Options (after the bench name): --window=S (5) --warmup=S (1.5) --threads=N (2 publisher threads)
 *   --client=raw|mqttjs (raw) --brokers=hub,mosquitto,mosquitto-nodelay,aedes
 *   --phases=idle,latency,throughput (or single modes: latency.qos1, throughput.qos1Clean, ...)
 *   --idle=N (1000) --publishers=N (100) --rate=N (2000) --qos1-window=N (10) --credit=N (5000)
 *   --mosquitto-max-queued=N (0 = unlimited)
 *   --node-flags="--flag ..." (extra node flags for the Node brokers) --hub-src=DIR (a copy of hub/src)
 *   --profile (a CPU profile per window and heap snapshots around the idle phase, in bench/results/)
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import {
  COUNTERS,
  RECEIVED,
  SENT,
  type ClientSpec,
  type LatencySummary,
  type Mark,
  type SendCounts,
  type WorkerRequest,
} from './lib/load-protocol.ts';
import type { ServerCredential, ServerReady } from './lib/hub-broker-server.ts';
import { mosquittoVersion, startMosquitto } from './lib/mosquitto.ts';
import {
  captureTail,
  cpuSeconds,
  machineCpu,
  makeTempDir,
  removeTempDir,
  rssKiB,
  threadWorker,
  ticksPerSecond,
  sleep,
  spawnTracked,
  stopChild,
  type Worker,
} from './lib/proc.ts';
import { ratio, round } from './lib/stats.ts';
import type { BenchContext, BenchSmoke } from './run.ts';
import { summarizeProfile, type ProfileSummary } from './lib/cpuprofile-summary.ts';
import { heapDiff, type HeapDiffRow } from './lib/heap-summary.ts';

const here = dirname(fileURLToPath(import.meta.url));
/** `mosquitto`: its defaults (Nagle on); `mosquitto-nodelay`: set_tcp_nodelay true, as the hub's listener. */
const BROKERS = ['hub', 'mosquitto', 'mosquitto-nodelay', 'aedes'] as const;
type BrokerName = (typeof BROKERS)[number];

export const description = 'hub MQTT broker vs Mosquitto (and plain aedes): throughput, latency, idle memory';

/** The hub and Mosquitto, 20 idle clients, 4 publishers, one latency and one throughput mode. */
export const smoke: BenchSmoke = {
  args: [
    '--brokers=hub,mosquitto',
    '--phases=idle,latency.qos1,throughput.qos0',
    '--window=0.5',
    '--warmup=0',
    '--idle=20',
    '--publishers=4',
    '--threads=1',
    '--rate=200',
    '--credit=100',
  ],
  keys: [
    'msgsPerS',
    'ratioVsMosquitto',
    'brokers.hub.idle.perClientKiB',
    'brokers.hub.latency.qos1.p99Ms',
    'brokers.mosquitto.throughput.qos0.msgsPerS',
  ],
};

interface Options {
  windowS: number;
  warmupS: number;
  generators: number;
  client: 'raw' | 'mqttjs';
  brokers: BrokerName[];
  phases: Set<string>;
  idle: number;
  publishers: number;
  rate: number;
  qos1Window: number;
  credit: number;
  mosquittoMaxQueued: number;
  /** Extra node flags for the broker processes (experiments: --max-semi-space-size=..., ...). */
  nodeFlags: string[];
  /** Another copy of hub/src for the hub broker (experiments); default the real one. */
  hubSrc: string | null;
  profile: boolean;
  /** Set in profile mode: where CPU profiles (one per measurement window) and heap snapshots go. */
  profileDir: string | null;
}

function parseOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      window: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1.5' },
      threads: { type: 'string', default: '2' },
      client: { type: 'string', default: 'raw' },
      brokers: { type: 'string', default: BROKERS.join(',') },
      phases: { type: 'string', default: 'idle,latency,throughput' },
      idle: { type: 'string', default: '1000' },
      publishers: { type: 'string', default: '100' },
      rate: { type: 'string', default: '2000' },
      'qos1-window': { type: 'string', default: '10' },
      credit: { type: 'string', default: '5000' },
      'mosquitto-max-queued': { type: 'string', default: '0' },
      'node-flags': { type: 'string', default: '' },
      'hub-src': { type: 'string' },
      profile: { type: 'boolean', default: false },
    },
  });
  const num = (k: string, v: string | undefined, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${k} must be a number in ${min}..${max}`);
    return n;
  };
  const brokers = String(values.brokers).split(',').filter(Boolean) as BrokerName[];
  for (const b of brokers) if (!BROKERS.includes(b)) throw new Error(`--brokers: unknown broker ${b}`);
  if (values.client !== 'raw' && values.client !== 'mqttjs') throw new Error('--client must be raw or mqttjs');
  return {
    windowS: num('window', values.window, 0.5, 60),
    warmupS: num('warmup', values.warmup, 0, 30),
    generators: Math.round(num('threads', values.threads, 1, 16)),
    client: values.client,
    brokers,
    phases: new Set(String(values.phases).split(',')),
    idle: Math.round(num('idle', values.idle, 0, 20_000)),
    publishers: Math.round(num('publishers', values.publishers, 1, 10_000)),
    rate: num('rate', values.rate, 1, 1_000_000),
    qos1Window: Math.round(num('qos1-window', values['qos1-window'], 1, 1000)),
    credit: Math.round(num('credit', values.credit, 1, 1_000_000)),
    mosquittoMaxQueued: Math.round(num('mosquitto-max-queued', values['mosquitto-max-queued'], 0, 10_000_000)),
    nodeFlags: String(values['node-flags']).split(' ').filter(Boolean),
    hubSrc: values['hub-src'] ?? null,
    profile: values.profile,
    profileDir: null,
  };
}

// ---------------------------------------------------------------------------------------------
// The brokers under test, each in its own process.

interface Target {
  name: BrokerName;
  pid: number;
  port: number;
  devices: ServerCredential[];
  integration: { username: string; password: string };
  /** Only for the Node brokers: ask the server process something (memory, buffers, snapshot). */
  ask?(cmd: object): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
  notes: string[];
}

/**
 * The Node/V8 flags the hub really runs with (`hub/node-flags`, also read by `scripts/run hub`),
 * so the `hub` column measures that configuration. `--node-flags` come after them and win.
 */
function hubNodeFlags(): string[] {
  return readFileSync(join(here, '../hub/node-flags'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

const deviceId = (i: number): string => `dev${String(i).padStart(4, '0')}`;

async function startNodeBroker(
  impl: 'hub' | 'aedes',
  devices: number,
  integration: string,
  nodeFlags: string[],
  hubSrc: string | null,
): Promise<Target> {
  const execArgv = ['--expose-gc', ...(impl === 'hub' ? hubNodeFlags() : []), ...nodeFlags];
  const dataDir = makeTempDir(`${impl}-data`);
  const child = spawnTracked(
    process.execPath,
    [
      ...execArgv,
      join(here, 'lib/hub-broker-server.ts'),
      '--impl',
      impl,
      '--devices',
      String(devices),
      '--integration',
      integration,
      '--data',
      dataDir,
      ...(hubSrc ? ['--hub-src', hubSrc] : []),
    ],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const stderr = captureTail(child.stderr);
  // HEARTH_BENCH_BROKER_STDERR=FILE keeps what the broker process wrote to stderr, and any stdout
  // line that is not an answer (e.g. --trace-gc output): for experiments.
  const extra = process.env.HEARTH_BENCH_BROKER_STDERR
    ? createWriteStream(process.env.HEARTH_BENCH_BROKER_STDERR, { flags: 'a' })
    : null;
  if (extra) child.stderr?.pipe(extra, { end: false });
  const lines = createInterface({ input: child.stdout! });
  const queue: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  lines.on('line', (l) => {
    // Only JSON objects are answers; anything else (e.g. --trace-gc output) is not ours.
    if (!l.startsWith('{')) {
      extra?.write(`${l}\n`);
      return;
    }
    const w = waiters.shift();
    if (w) w(l);
    else queue.push(l);
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`${impl} broker process exited (${code ?? signal}): ${stderr() || 'no output'}`)),
    ),
  );
  exited.catch(() => {});
  const nextLine = (timeoutMs: number): Promise<string> =>
    Promise.race([
      exited,
      new Promise<string>((resolve, reject) => {
        const q = queue.shift();
        if (q !== undefined) return resolve(q);
        const timer = setTimeout(
          () => reject(new Error(`${impl} broker process did not answer in ${timeoutMs} ms: ${stderr()}`)),
          timeoutMs,
        );
        waiters.push((l) => {
          clearTimeout(timer);
          resolve(l);
        });
      }),
    ]);
  const ready = JSON.parse(await nextLine(60_000)) as ServerReady;
  const notes = [
    `${impl} broker set up in ${ready.setupMs} ms (including ${devices} device credentials)` +
      `${hubSrc ? `, hub code from ${hubSrc}` : ''}` +
      `${execArgv.length > 1 ? `, node ${execArgv.slice(1).join(' ')}` : ''}`,
  ];
  return {
    name: impl,
    pid: ready.pid,
    port: ready.port,
    devices: ready.devices,
    integration: ready.integration,
    notes,
    async ask(cmd) {
      child.stdin!.write(`${JSON.stringify(cmd)}\n`);
      return JSON.parse(await nextLine(120_000)) as Record<string, unknown>;
    },
    async stop() {
      child.stdin!.end();
      await stopChild(child, 10_000);
      removeTempDir(dataDir);
      extra?.end();
    },
  };
}

async function startTarget(name: BrokerName, opts: Options): Promise<Target> {
  const devices = opts.publishers + opts.idle;
  if (name === 'mosquitto' || name === 'mosquitto-nodelay') {
    const noDelay = name === 'mosquitto-nodelay';
    const m = await startMosquitto({
      deviceIds: Array.from({ length: devices }, (_, i) => deviceId(i)),
      integration: 'bench-sub',
      maxQueuedMessages: opts.mosquittoMaxQueued,
      noDelay,
    });
    const queue = opts.mosquittoMaxQueued
      ? `max_queued_messages ${opts.mosquittoMaxQueued}`
      : 'max_queued_messages 0 (unlimited)';
    return {
      name,
      pid: m.pid,
      port: m.port,
      devices: m.devices,
      integration: m.integration,
      stop: m.stop,
      notes: [`mosquitto ${m.version}, ${queue}, set_tcp_nodelay ${noDelay}`],
    };
  }
  return startNodeBroker(name, devices, 'bench-sub', opts.nodeFlags, name === 'hub' ? opts.hubSrc : null);
}

// ---------------------------------------------------------------------------------------------
// Measurements

interface Generators {
  pubs: Worker<WorkerRequest>[];
  sub: Worker<WorkerRequest>;
  counters: Int32Array;
}

/** CPU seconds of a load thread (its own, from /proc/thread-self/stat). */
async function threadCpu(w: Worker<WorkerRequest>): Promise<number> {
  const { ticks } = await w.call<{ ticks: number }>({ op: 'cpu' });
  return ticks / ticksPerSecond();
}

function split<T>(items: T[], parts: number): T[][] {
  const out: T[][] = Array.from({ length: parts }, () => []);
  items.forEach((item, i) => out[i % parts]!.push(item));
  return out;
}

const specs = (creds: ServerCredential[], topic: (id: string) => string): ClientSpec[] =>
  creds.map((c) => ({ clientId: c.id, username: c.username, password: c.password, topic: topic(c.id) }));

interface IdleFigures {
  clients: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  perClientKiB: number;
  connectS: number;
  connectsPerS: number;
  /** Node brokers: V8 heap growth after a full GC, per client (what is really retained). */
  heapPerClientKiB?: number;
  /** V8 heap reserved (committed) growth per client: what the heap holds in RSS, used or not. */
  heapTotalPerClientKiB?: number;
  externalPerClientKiB?: number;
  rssAfterGcPerClientKiB?: number;
  buffers?: unknown;
  heapDiff?: { totalBytesPer: number; rows: HeapDiffRow[] };
}

async function measureIdle(
  t: Target,
  g: Generators,
  opts: Options,
  ctx: BenchContext,
  profileDir: string | null,
): Promise<IdleFigures> {
  const creds = t.devices.slice(opts.publishers, opts.publishers + opts.idle);
  const idleSpecs = specs(creds, (id) => `hearth/${id}/cmd`);
  // Warm-up: a few clients connect and leave first, so one-time costs (lazily loaded code, JIT,
  // mqtt-packet's 65,536-entry number cache, ~7 MB, filled on the first packet written) are paid
  // before the baseline and not counted per client.
  const warm = idleSpecs.slice(0, Math.min(50, idleSpecs.length));
  await g.pubs[0]!.call({ op: 'connectIdle', port: t.port, clients: warm, concurrency: 10 }, 60_000);
  await g.pubs[0]!.call({ op: 'closeIdle' });
  // Profile mode: a heap snapshot before and after, to see what one client holds.
  const snapBefore = profileDir && t.ask ? join(profileDir, `${t.name}-idle-0.heapsnapshot`) : null;
  if (snapBefore) await t.ask!({ cmd: 'heapSnapshot', path: snapBefore });
  await sleep(1000);
  const rssBefore = rssKiB(t.pid);
  const memBefore = await t.ask?.({ cmd: 'mem', gc: true });
  const rssBeforeGc = t.ask ? rssKiB(t.pid) : rssBefore;
  const t0 = performance.now();
  await Promise.all(
    split(idleSpecs, g.pubs.length).map((part, i) =>
      g.pubs[i]!.call({ op: 'connectIdle', port: t.port, clients: part, concurrency: 25 }, 120_000),
    ),
  );
  const connectS = (performance.now() - t0) / 1000;
  await sleep(2000);
  const rssAfter = rssKiB(t.pid);
  const fig: IdleFigures = {
    clients: creds.length,
    rssBeforeKiB: rssBefore,
    rssAfterKiB: rssAfter,
    perClientKiB: round((rssAfter - rssBefore) / creds.length, 1),
    connectS: round(connectS, 2),
    connectsPerS: round(creds.length / connectS),
  };
  if (t.ask && memBefore) {
    const memAfter = await t.ask({ cmd: 'mem', gc: true });
    const rssAfterGc = rssKiB(t.pid);
    fig.heapPerClientKiB = round(
      ((memAfter.heapUsed as number) - (memBefore.heapUsed as number)) / 1024 / creds.length,
      2,
    );
    fig.heapTotalPerClientKiB = round(
      ((memAfter.heapTotal as number) - (memBefore.heapTotal as number)) / 1024 / creds.length,
      2,
    );
    fig.externalPerClientKiB = round(
      ((memAfter.external as number) +
        (memAfter.arrayBuffers as number) -
        (memBefore.external as number) -
        (memBefore.arrayBuffers as number)) /
        1024 /
        creds.length,
      2,
    );
    fig.rssAfterGcPerClientKiB = round((rssAfterGc - rssBeforeGc) / creds.length, 1);
    fig.buffers = await t.ask({ cmd: 'sockets' });
    if (profileDir && snapBefore) {
      const after = join(profileDir, `${t.name}-idle-${creds.length}.heapsnapshot`);
      await t.ask({ cmd: 'heapSnapshot', path: after });
      const diff = heapDiff(snapBefore, after, creds.length, 15);
      fig.heapDiff = diff;
      ctx.log(`  heap snapshots ${snapBefore} → ${after}: ${diff.totalBytesPer} bytes per idle client, largest:`);
      for (const r of diff.rows)
        ctx.log(`    ${String(r.bytesPer).padStart(7)} B  ${String(r.countPer).padStart(5)} ×  ${r.what}`);
    }
  }
  ctx.log(
    `  idle: ${creds.length} clients connected in ${fig.connectS} s (${fig.connectsPerS}/s); ` +
      `RSS ${rssBefore} → ${rssAfter} KiB = ${fig.perClientKiB} KiB/client` +
      (fig.heapPerClientKiB !== undefined
        ? ` (after GC: heap used ${fig.heapPerClientKiB}, heap reserved ${fig.heapTotalPerClientKiB}, RSS ${fig.rssAfterGcPerClientKiB} KiB/client)`
        : ''),
  );
  await Promise.all(g.pubs.map((w) => w.call({ op: 'closeIdle' })));
  return fig;
}

/** Waits until the subscriber stops receiving (the broker's queues drained). */
async function quiesce(g: Generators): Promise<number> {
  let last = -1;
  let stableSince = performance.now();
  const deadline = performance.now() + 10_000;
  for (;;) {
    const m = await g.sub.call<Mark>({ op: 'mark' });
    if (m.received !== last) {
      last = m.received;
      stableSince = performance.now();
    } else if (performance.now() - stableSince > 300) {
      return m.received;
    }
    if (performance.now() > deadline) return m.received;
    await sleep(50);
  }
}

interface LatencyFigures extends LatencySummary {
  offeredPerS: number;
  brokerCpuPct: number;
  cpuUsPerMsg: number;
  /** CPU (% of one core) of other processes on the machine during the window (see ThroughputFigures). */
  otherLoadPct: number;
  /** Node brokers: how late the broker's event loop ran during the window (blocking work). */
  eventLoopDelay?: LoopDelay;
  profile?: ProfileSummary;
}

interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** What the subscriber does in a phase. QoS 1 runs with a persistent session: the case persistence is for. */
interface Mode {
  key: 'qos0' | 'qos1' | 'qos1Clean';
  qos: 0 | 1;
  persistent: boolean;
  label: string;
}
const QOS0: Mode = { key: 'qos0', qos: 0, persistent: false, label: 'QoS 0' };
const QOS1: Mode = { key: 'qos1', qos: 1, persistent: true, label: 'QoS 1 (persistent session)' };
const QOS1_CLEAN: Mode = { key: 'qos1Clean', qos: 1, persistent: false, label: 'QoS 1 (clean session)' };

async function measureLatency(
  t: Target,
  g: Generators,
  mode: Mode,
  opts: Options,
  ctx: BenchContext,
): Promise<LatencyFigures> {
  const { qos } = mode;
  await g.sub.call({
    op: 'subscribe',
    port: t.port,
    client: subscriber(t, `lat-${mode.key}`),
    qos,
    persistent: mode.persistent,
  });
  await Promise.all(
    g.pubs.map((w) => w.call({ op: 'pace', qos, rate: opts.rate / g.pubs.length, window: opts.qos1Window })),
  );
  await sleep(Math.max(1000, opts.warmupS * 1000));
  const stopProfile = await windowProfile(t, opts, `latency-${mode.key}`);
  await t.ask?.({ cmd: 'loopDelay' });
  await g.sub.call({ op: 'latencyStart' });
  const c0 = cpuSeconds(t.pid);
  const k0 = machineCpu();
  const l0 = cpuSeconds(process.pid);
  const w0 = performance.now();
  await sleep(opts.windowS * 1000);
  const lat = await g.sub.call<LatencySummary>({ op: 'latencyStop' });
  const c1 = cpuSeconds(t.pid);
  const k1 = machineCpu();
  const l1 = cpuSeconds(process.pid);
  const loop = (await t.ask?.({ cmd: 'loopDelay' })) as LoopDelay | undefined;
  const profile = await stopProfile(ctx);
  const elapsed = (performance.now() - w0) / 1000;
  await Promise.all(g.pubs.map((w) => w.call<SendCounts>({ op: 'stopSending' })));
  await quiesce(g);
  const fig: LatencyFigures = {
    offeredPerS: opts.rate,
    ...lat,
    brokerCpuPct: round(((c1 - c0) / elapsed) * 100, 1),
    cpuUsPerMsg: round(((c1 - c0) * 1e6) / Math.max(1, lat.count), 1),
    otherLoadPct: round(Math.max(0, (k1.busy - k0.busy - (c1 - c0) - (l1 - l0)) / elapsed) * 100, 1),
    ...(loop ? { eventLoopDelay: loop } : {}),
    ...(profile ? { profile } : {}),
  };
  ctx.log(
    `  latency ${mode.label} @ ${opts.rate} msg/s: p50 ${fig.p50Ms} ms, p90 ${fig.p90Ms} ms, ` +
      `p99 ${fig.p99Ms} ms, max ${fig.maxMs} ms (${fig.count} msgs); broker CPU ` +
      `${fig.brokerCpuPct}% = ${fig.cpuUsPerMsg} µs/msg; other processes ${fig.otherLoadPct}% CPU` +
      (loop ? `; event loop delay p99 ${loop.p99Ms} ms, max ${loop.maxMs} ms` : ''),
  );
  return fig;
}

interface ThroughputFigures {
  msgsPerS: number;
  /** Broker CPU >= 90% of a core: the figure is the broker's limit, not the load generator's. */
  brokerSaturated: boolean;
  sentPerS: number;
  lossPct: number;
  brokerCpuPct: number;
  cpuUsPerMsg: number;
  /** The whole bench process (all load threads, their GC, the orchestrator). */
  generatorCpuPct: number;
  /** All cores of the machine (/proc/stat): near 100% means broker + load + kernel used it all. */
  machineBusyPct: number;
  /**
   * CPU (% of one core) used by anything but the broker and the bench in the window: other
   * processes on the machine. Well above a few % means the figures are disturbed.
   */
  otherLoadPct: number;
  publisherCpuPct: number;
  subscriberCpuPct: number;
  brokerRssKiB: number;
  eventLoopDelay?: LoopDelay;
  profile?: ProfileSummary;
}

async function measureThroughput(
  t: Target,
  g: Generators,
  mode: Mode,
  opts: Options,
  ctx: BenchContext,
): Promise<ThroughputFigures> {
  const { qos } = mode;
  await g.sub.call({
    op: 'subscribe',
    port: t.port,
    client: subscriber(t, `tput-${mode.key}`),
    qos,
    persistent: mode.persistent,
  });
  Atomics.store(g.counters, SENT, 0);
  Atomics.store(g.counters, RECEIVED, 0);
  const start = performance.now();
  await Promise.all(
    g.pubs.map((w) => w.call({ op: 'blast', qos, window: opts.qos1Window, batch: 16, credit: opts.credit })),
  );
  await sleep(opts.warmupS * 1000);
  const pubCpu = async (): Promise<number> => (await Promise.all(g.pubs.map(threadCpu))).reduce((a, b) => a + b, 0);
  const stopProfile = await windowProfile(t, opts, `throughput-${mode.key}`);
  await t.ask?.({ cmd: 'loopDelay' });
  const m0 = await g.sub.call<Mark>({ op: 'mark' });
  const b0 = cpuSeconds(t.pid);
  const g0 = cpuSeconds(process.pid);
  const k0 = machineCpu();
  const p0 = await pubCpu();
  const s0 = await threadCpu(g.sub);
  await sleep(opts.windowS * 1000);
  const m1 = await g.sub.call<Mark>({ op: 'mark' });
  const b1 = cpuSeconds(t.pid);
  const g1 = cpuSeconds(process.pid);
  const k1 = machineCpu();
  const p1 = await pubCpu();
  const s1 = await threadCpu(g.sub);
  const rss = rssKiB(t.pid);
  const loop = (await t.ask?.({ cmd: 'loopDelay' })) as LoopDelay | undefined;
  const profile = await stopProfile(ctx);
  const counts = await Promise.all(g.pubs.map((w) => w.call<SendCounts>({ op: 'stopSending' })));
  const sendS = (performance.now() - start) / 1000;
  const sent = counts.reduce((a, c) => a + c.sent, 0);
  const total = await quiesce(g);
  const windowS = (m1.atUs - m0.atUs) / 1e6;
  const got = m1.received - m0.received;
  const fig: ThroughputFigures = {
    msgsPerS: round(got / windowS),
    brokerSaturated: (b1 - b0) / windowS >= 0.9,
    sentPerS: round(sent / sendS),
    lossPct: round(sent > 0 ? (100 * Math.max(0, sent - total)) / sent : 0, 2),
    brokerCpuPct: round(((b1 - b0) / windowS) * 100, 1),
    cpuUsPerMsg: round(((b1 - b0) * 1e6) / Math.max(1, got), 2),
    generatorCpuPct: round(((g1 - g0) / windowS) * 100, 1),
    machineBusyPct: round((100 * (k1.busy - k0.busy)) / Math.max(1e-9, k1.total - k0.total), 1),
    otherLoadPct: round(Math.max(0, (k1.busy - k0.busy - (b1 - b0) - (g1 - g0)) / windowS) * 100, 1),
    publisherCpuPct: round(((p1 - p0) / windowS) * 100, 1),
    subscriberCpuPct: round(((s1 - s0) / windowS) * 100, 1),
    brokerRssKiB: rss,
    ...(loop ? { eventLoopDelay: loop } : {}),
    ...(profile ? { profile } : {}),
  };
  ctx.log(
    `  throughput ${mode.label}: ${fig.msgsPerS} msg/s received (sent ${fig.sentPerS}/s, lost ` +
      `${fig.lossPct}%); broker CPU ${fig.brokerCpuPct}%` +
      `${fig.brokerSaturated ? ' (saturated)' : ' (NOT saturated)'} = ${fig.cpuUsPerMsg} µs/msg, ` +
      `RSS ${rss} KiB; ` +
      `load process ${fig.generatorCpuPct}% CPU (publisher threads ${fig.publisherCpuPct}%, subscriber thread ${fig.subscriberCpuPct}%); ` +
      `machine ${fig.machineBusyPct}% busy, other processes ${fig.otherLoadPct}% CPU` +
      (loop ? `; event loop delay p99 ${loop.p99Ms} ms, max ${loop.maxMs} ms` : ''),
  );
  return fig;
}

/** Profile mode: a CPU profile of the Node broker over exactly one measurement window. */
async function windowProfile(
  t: Target,
  opts: Options,
  name: string,
): Promise<(ctx: BenchContext) => Promise<ProfileSummary | undefined>> {
  const dir = opts.profileDir;
  if (!dir || !t.ask) return async () => undefined;
  await t.ask({ cmd: 'profileStart' });
  return async (ctx) => {
    const { path } = (await t.ask!({ cmd: 'profileStop', path: join(dir, `${t.name}-${name}.cpuprofile`) })) as {
      path: string;
    };
    return summarizeProfile(path, (l) => ctx.log(`    ${l}`), 12);
  };
}

let subscriberSeq = 0;
function subscriber(t: Target, phase: string): ClientSpec {
  return {
    clientId: `bench-sub-${phase}-${++subscriberSeq}`,
    username: t.integration.username,
    password: t.integration.password,
    topic: 'hearth/+/telemetry',
  };
}

interface BrokerFigures {
  idle?: IdleFigures;
  latency?: { qos0?: LatencyFigures; qos1?: LatencyFigures };
  throughput?: { qos0?: ThroughputFigures; qos1?: ThroughputFigures; qos1Clean?: ThroughputFigures };
  publishersConnectS?: number;
  notes: string[];
  error?: string;
}

async function measureBroker(name: BrokerName, opts: Options, ctx: BenchContext): Promise<BrokerFigures> {
  ctx.log(`${name}:`);
  const workerPath = join(here, 'lib/load-worker.ts');
  const shared = new SharedArrayBuffer(COUNTERS * Int32Array.BYTES_PER_ELEMENT);
  const g: Generators = {
    pubs: Array.from({ length: opts.generators }, (_, i) =>
      threadWorker<WorkerRequest>(workerPath, `publisher thread ${i + 1}`, { counters: shared }),
    ),
    sub: threadWorker<WorkerRequest>(workerPath, 'subscriber thread', { counters: shared }),
    counters: new Int32Array(shared),
  };
  let target: Target | null = null;
  const out: BrokerFigures = { notes: [] };
  try {
    target = await startTarget(name, opts);
    const t = target;
    out.notes.push(...t.notes);
    ctx.log(`  ${t.notes.join('; ')}; pid ${t.pid}, port ${t.port}`);
    if (opts.phases.has('idle') && opts.idle > 0) out.idle = await measureIdle(t, g, opts, ctx, opts.profileDir);

    const pubCreds = t.devices.slice(0, opts.publishers);
    const c0 = performance.now();
    await Promise.all(
      split(
        specs(pubCreds, (id) => `hearth/${id}/telemetry`),
        g.pubs.length,
      ).map((part, i) =>
        g.pubs[i]!.call({ op: 'connectPublishers', port: t.port, clients: part, client: opts.client }, 120_000),
      ),
    );
    out.publishersConnectS = round((performance.now() - c0) / 1000, 2);

    // --phases takes whole phases (latency) or single modes (latency.qos1, throughput.qos1Clean).
    const wanted = (phase: string, mode: Mode): boolean =>
      opts.phases.has(phase) || opts.phases.has(`${phase}.${mode.key}`);
    for (const mode of [QOS0, QOS1]) {
      if (wanted('latency', mode))
        (out.latency ??= {})[mode.key as 'qos0' | 'qos1'] = await measureLatency(t, g, mode, opts, ctx);
    }
    for (const mode of [QOS0, QOS1, QOS1_CLEAN]) {
      if (wanted('throughput', mode))
        (out.throughput ??= {})[mode.key] = await measureThroughput(t, g, mode, opts, ctx);
    }
    await Promise.all([...g.pubs.map((w) => w.call({ op: 'closePublishers' })), g.sub.call({ op: 'closeSubscriber' })]);
  } catch (err) {
    out.error = (err as Error).message;
    ctx.log(`  FAILED: ${out.error}`);
  } finally {
    await Promise.all([...g.pubs, g.sub].map((w) => w.stop()));
    if (target) await target.stop();
  }
  return out;
}

/** Mosquitto at its best: for each figure the better value over the configurations given. */
function bestOf(list: BrokerFigures[]): BrokerFigures {
  const pick = (get: (f: BrokerFigures) => number | undefined, better: 'max' | 'min'): number | undefined => {
    const vs = list.map(get).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (!vs.length) return undefined;
    return better === 'max' ? Math.max(...vs) : Math.min(...vs);
  };
  const tput = (k: 'qos0' | 'qos1' | 'qos1Clean') =>
    ({
      msgsPerS: pick((f) => f.throughput?.[k]?.msgsPerS, 'max'),
      cpuUsPerMsg: pick((f) => f.throughput?.[k]?.cpuUsPerMsg, 'min'),
    }) as ThroughputFigures;
  const lat = (k: 'qos0' | 'qos1') =>
    ({
      p50Ms: pick((f) => f.latency?.[k]?.p50Ms, 'min'),
      p99Ms: pick((f) => f.latency?.[k]?.p99Ms, 'min'),
    }) as LatencyFigures;
  return {
    notes: [],
    throughput: { qos0: tput('qos0'), qos1: tput('qos1'), qos1Clean: tput('qos1Clean') },
    latency: { qos0: lat('qos0'), qos1: lat('qos1') },
    idle: { perClientKiB: pick((f) => f.idle?.perClientKiB, 'min') } as IdleFigures,
  };
}

/** Which hub code the bench measures: the commit, and whether hub/src/broker has local changes. */
function hubRevision(hubSrc: string | null): { path: string; commit: string; dirty: boolean } {
  const root = join(here, '..');
  const git = (...args: string[]): string => {
    try {
      return execFileSync('git', ['-C', root, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      return '';
    }
  };
  return {
    path: hubSrc ?? 'hub/src',
    commit: git('rev-parse', '--short', 'HEAD') || 'unknown',
    dirty: hubSrc === null && git('status', '--porcelain', '--', 'hub/src/broker') !== '',
  };
}

// ---------------------------------------------------------------------------------------------

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  const opts = parseOptions(ctx.args);
  const startedAt = new Date();
  const resultsDir = join(here, 'results');
  const profileDir = opts.profile ? join(resultsDir, `profile-${startedAt.toISOString().replace(/[:.]/g, '-')}`) : null;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  opts.profileDir = profileDir;
  const hubSource = opts.brokers.includes('hub') ? hubRevision(opts.hubSrc) : null;
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    mosquitto: opts.brokers.some((b) => b.startsWith('mosquitto')) ? mosquittoVersion() : null,
  };
  ctx.log(`machine: ${machine.cpus} × ${machine.cpuModel}, node ${machine.node}, mosquitto ${machine.mosquitto}`);
  if (hubSource)
    ctx.log(
      `hub broker: ${hubSource.path} at ${hubSource.commit}${hubSource.dirty ? ' with uncommitted changes in hub/src/broker' : ''}`,
    );
  ctx.log(
    `load: 1 generator process (this one) with ${opts.generators} publisher threads (` +
      `${opts.publishers} publishers, ${opts.client} MQTT client) + 1 subscriber thread; ` +
      `window ${opts.windowS} s after ${opts.warmupS} s warm-up; QoS 1 window ` +
      `${opts.qos1Window} per publisher; at most ${opts.credit} messages in flight end to end; ` +
      `${opts.idle} idle clients`,
  );

  const results: Partial<Record<BrokerName, BrokerFigures>> = {};
  for (const name of opts.brokers) {
    results[name] = await measureBroker(name, opts, ctx);
  }

  const hub = results.hub;
  // The reference is Mosquitto at its best, figure by figure, over the configurations measured.
  const mosqs = [results.mosquitto, results['mosquitto-nodelay']].filter(
    (f): f is BrokerFigures => f !== undefined && !f.error,
  );
  const mosq = mosqs.length ? bestOf(mosqs) : undefined;
  const ratiosOf = (a: BrokerFigures | undefined, b: BrokerFigures | undefined) => ({
    throughputQos0: ratio(a?.throughput?.qos0?.msgsPerS, b?.throughput?.qos0?.msgsPerS),
    throughputQos1: ratio(a?.throughput?.qos1?.msgsPerS, b?.throughput?.qos1?.msgsPerS),
    throughputQos1Clean: ratio(a?.throughput?.qos1Clean?.msgsPerS, b?.throughput?.qos1Clean?.msgsPerS),
    cpuPerMsgQos0: ratio(a?.throughput?.qos0?.cpuUsPerMsg, b?.throughput?.qos0?.cpuUsPerMsg),
    cpuPerMsgQos1: ratio(a?.throughput?.qos1?.cpuUsPerMsg, b?.throughput?.qos1?.cpuUsPerMsg),
    cpuPerMsgQos1Clean: ratio(a?.throughput?.qos1Clean?.cpuUsPerMsg, b?.throughput?.qos1Clean?.cpuUsPerMsg),
    p50Qos0: ratio(a?.latency?.qos0?.p50Ms, b?.latency?.qos0?.p50Ms),
    p99Qos0: ratio(a?.latency?.qos0?.p99Ms, b?.latency?.qos0?.p99Ms),
    p50Qos1: ratio(a?.latency?.qos1?.p50Ms, b?.latency?.qos1?.p50Ms),
    p99Qos1: ratio(a?.latency?.qos1?.p99Ms, b?.latency?.qos1?.p99Ms),
    idlePerClient: ratio(a?.idle?.perClientKiB, b?.idle?.perClientKiB),
  });
  const ratios = ratiosOf(hub, mosq);
  const target = (
    value: number | null | undefined,
    op: '>=' | '<' | '<=',
    limit: number,
  ): { value: number | null; target: string; met: boolean | null } => {
    const v = value ?? null;
    const met = v === null ? null : op === '>=' ? v >= limit : op === '<' ? v < limit : v <= limit;
    return { value: v, target: `${op} ${limit}`, met };
  };
  const targets = {
    throughputQos0VsMosquitto: target(ratios.throughputQos0, '>=', 0.5),
    throughputQos1VsMosquitto: target(ratios.throughputQos1, '>=', 1.0),
    p99Qos0Ms: target(hub?.latency?.qos0?.p99Ms, '<', 5),
    p99Qos1Ms: target(hub?.latency?.qos1?.p99Ms, '<', 5),
    idleKiBPerClient: target(hub?.idle?.perClientKiB, '<=', 20),
  };
  const measured = Object.values(targets).filter((t) => t.met !== null);

  ctx.log('');
  ctx.log('figure                         hub          mosquitto    mosq-nodelay aedes        hub/mosq  target');
  const row = (label: string, get: (f: BrokerFigures) => number | undefined, r: number | null, tgt = ''): void => {
    const cell = (f: BrokerFigures | undefined): string => String(f ? (get(f) ?? '-') : '-').padEnd(13);
    ctx.log(
      `${label.padEnd(31)}${cell(hub)}${cell(results.mosquitto)}` +
        `${cell(results['mosquitto-nodelay'])}${cell(results.aedes)}${String(r ?? '-').padEnd(10)}` +
        `${tgt}`,
    );
  };
  const mark = (t: { met: boolean | null }): string => (t.met === null ? '' : t.met ? ' met' : ' MISSED');
  row(
    'QoS 0 msgs/s',
    (f) => f.throughput?.qos0?.msgsPerS,
    ratios.throughputQos0,
    `>= 0.5×${mark(targets.throughputQos0VsMosquitto)}`,
  );
  row(
    'QoS 1 msgs/s (persistent)',
    (f) => f.throughput?.qos1?.msgsPerS,
    ratios.throughputQos1,
    `>= 1.0×${mark(targets.throughputQos1VsMosquitto)}`,
  );
  row('QoS 1 msgs/s (clean)', (f) => f.throughput?.qos1Clean?.msgsPerS, ratios.throughputQos1Clean);
  row('QoS 0 CPU µs/msg', (f) => f.throughput?.qos0?.cpuUsPerMsg, ratios.cpuPerMsgQos0);
  row('QoS 1 CPU µs/msg (persistent)', (f) => f.throughput?.qos1?.cpuUsPerMsg, ratios.cpuPerMsgQos1);
  row('QoS 1 CPU µs/msg (clean)', (f) => f.throughput?.qos1Clean?.cpuUsPerMsg, ratios.cpuPerMsgQos1Clean);
  row(`QoS 0 p50 ms @${opts.rate}/s`, (f) => f.latency?.qos0?.p50Ms, ratios.p50Qos0);
  row(
    `QoS 0 p99 ms @${opts.rate}/s`,
    (f) => f.latency?.qos0?.p99Ms,
    ratios.p99Qos0,
    `< 5 ms${mark(targets.p99Qos0Ms)}`,
  );
  row(`QoS 1 p50 ms @${opts.rate}/s (pers.)`, (f) => f.latency?.qos1?.p50Ms, ratios.p50Qos1);
  row(
    `QoS 1 p99 ms @${opts.rate}/s (pers.)`,
    (f) => f.latency?.qos1?.p99Ms,
    ratios.p99Qos1,
    `< 5 ms${mark(targets.p99Qos1Ms)}`,
  );
  row(
    `KiB per idle client (${opts.idle})`,
    (f) => f.idle?.perClientKiB,
    ratios.idlePerClient,
    `<= 20 KiB${mark(targets.idleKiBPerClient)}`,
  );

  ctx.log('hub/mosq compares with the better of the two Mosquitto configurations for each figure.');
  if (profileDir) ctx.log(`CPU profiles (one per measurement window) and heap snapshots in ${profileDir}`);

  const failed = opts.brokers.filter((b) => results[b]?.error);
  const figures = {
    date: startedAt.toISOString(),
    machine,
    hubSource,
    load: {
      publishers: opts.publishers,
      generatorProcesses: 1,
      publisherThreads: opts.generators,
      subscriberThreads: 1,
      client: opts.client,
      payloadBytes: 100,
      windowS: opts.windowS,
      warmupS: opts.warmupS,
      qos1WindowPerPublisher: opts.qos1Window,
      creditInFlight: opts.credit,
      latencyOfferedPerS: opts.rate,
      idleClients: opts.idle,
    },
    // The headline figures of the DESIGN.md contract: the hub at QoS 0 and its ratio to Mosquitto
    // (ratios: against Mosquitto's better configuration for each figure).
    msgsPerS: hub?.throughput?.qos0?.msgsPerS ?? null,
    ratioVsMosquitto: ratios.throughputQos0,
    brokers: results,
    ratios,
    ratiosAedesVsMosquitto: results.aedes && mosq ? ratiosOf(results.aedes, mosq) : null,
    // What our hooks and persistence cost over plain aedes (1.0 = nothing).
    ratiosHubVsAedes: hub && results.aedes ? ratiosOf(hub, results.aedes) : null,
    targets,
    targetsMet: measured.length === Object.keys(targets).length && measured.every((t) => t.met),
    ...(profileDir ? { profileDir } : {}),
    ...(failed.length ? { failed } : {}),
  };
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, `broker-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`),
    JSON.stringify(figures, null, 2),
  );
  if (failed.length) {
    // Still print the figures that were measured; run.ts turns this into a non-zero exit.
    throw Object.assign(
      new Error(`could not measure: ${failed.map((b) => `${b} (${results[b]!.error})`).join('; ')}`),
      { figures },
    );
  }
  return figures;
}
