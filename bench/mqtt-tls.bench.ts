/**
 * bench/mqtt-tls: what MQTT over TLS costs (issue 17), the hub beside Mosquitto, each against
 * itself in clear. Transports: `tcp` (clear), `psk` (the hub only: TLS 1.3 with a plug's
 * external PSK, as plugs connect), `cert` (TLS with the broker's certificate pinned, as
 * integrations connect; Mosquitto 2.0 with the same kind of P-256 certificate).
 * For each broker and transport, on a broker process of its own (so RSS starts equal):
 *   1. reconnect: `--connects` sequential connections (TCP + TLS handshake + CONNECT/CONNACK),
 *      then closed → p50/p90 ms, client and broker on this machine's loopback;
 *   2. CPU per message: one device publishes `--messages` QoS 0 telemetry messages (64 bytes) to
 *      one subscriber on the same transport → broker CPU (utime+stime) per message, in µs;
 *   3. RAM per connection: `--idle` device connections opened and left idle → broker RSS growth
 *      per connection, in KiB.
 * The clients are mqtt.js in this process (its CPU is not counted). Figures in bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { ServerCredential, ServerReady } from './lib/hub-broker-server.ts';
import { mosquittoVersion, startMosquitto } from './lib/mosquitto.ts';
import {
  captureTail,
  cpuSeconds,
  makeTempDir,
  removeTempDir,
  rssKiB,
  sleep,
  spawnTracked,
  stopChild,
} from './lib/proc.ts';
import { plugPsk } from '../hub/src/broker/plug-psk.ts';
import { ratio, round } from './lib/stats.ts';
import type { BenchContext, BenchSmoke } from './run.ts';

const here = dirname(fileURLToPath(import.meta.url));

export const description =
  'MQTT over TLS: reconnect time, broker CPU per message, RAM per connection (hub TLS-PSK and certificate, Mosquitto certificate), each against clear TCP';

export const smoke: BenchSmoke = {
  args: ['--connects=3', '--messages=100', '--idle=5'],
  keys: ['brokers.hub.psk.reconnectMsP50', 'brokers.hub.tcp.cpuUsPerMsg', 'brokers.mosquitto.cert.rssKiBPerConnection'],
};

type Transport = 'tcp' | 'psk' | 'cert';

interface Broker {
  pid: number;
  port: number;
  tlsPort: number;
  certPem: string;
  devices: ServerCredential[];
  integration: { username: string; password: string };
  stop(): Promise<void>;
}

interface Figures {
  reconnectMsP50: number;
  reconnectMsP90: number;
  cpuUsPerMsg: number;
  rssKiBPerConnection: number;
}

async function startHubBroker(devices: number): Promise<Broker> {
  const dataDir = makeTempDir('hub-tls-data');
  const child = spawnTracked(
    process.execPath,
    [
      join(here, 'lib/hub-broker-server.ts'),
      '--impl',
      'hub',
      '--tls',
      '--devices',
      String(devices),
      '--integration',
      'bench-sub',
      '--data',
      dataDir,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const stderr = captureTail(child.stderr);
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (l) => l.startsWith('{') && resolve(l));
    child.once('exit', (code) => reject(new Error(`hub broker exited (${code}): ${stderr()}`)));
  });
  const ready = JSON.parse(line) as ServerReady;
  return {
    pid: ready.pid,
    port: ready.port,
    tlsPort: ready.tlsPort,
    certPem: ready.certPem,
    devices: ready.devices,
    integration: ready.integration,
    async stop() {
      child.stdin!.end();
      await stopChild(child, 10_000);
      removeTempDir(dataDir);
    },
  };
}

/** Mosquitto with a TLS listener on a P-256 certificate made like the hub's (openssl). */
async function startMosquittoBroker(devices: number): Promise<Broker> {
  const dir = makeTempDir('mosquitto-tls-cert');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const ids = Array.from({ length: devices }, (_, i) => `dev${String(i).padStart(4, '0')}`);
  const m = await startMosquitto({
    deviceIds: ids,
    integration: 'bench-sub',
    maxQueuedMessages: 0,
    noDelay: true,
    tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') },
  });
  return {
    pid: m.pid,
    port: m.port,
    tlsPort: m.tlsPort,
    certPem: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    devices: m.devices,
    integration: m.integration,
    async stop() {
      await m.stop();
      removeTempDir(dir);
    },
  };
}

function options(
  b: Broker,
  t: Transport,
  login: { username: string; password: string; id?: string },
  clientId: string,
): IClientOptions {
  const base: IClientOptions = {
    host: '127.0.0.1',
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    clean: true,
    clientId,
    username: login.username,
    password: login.password,
  };
  if (t === 'tcp') return { ...base, port: b.port };
  if (t === 'cert') return { ...base, protocol: 'mqtts', port: b.tlsPort, ca: b.certPem, servername: 'localhost' };
  return {
    ...base,
    protocol: 'mqtts',
    port: b.tlsPort,
    ...({
      pskCallback: () => ({ psk: plugPsk(login.password), identity: login.username }),
      ciphers: 'TLS_AES_128_GCM_SHA256',
      checkServerIdentity: () => undefined,
    } as object),
  };
}

function connect(opts: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(opts);
    c.once('connect', () => resolve(c));
    c.once('error', (err) => {
      c.end(true);
      reject(err);
    });
  });
}

const percentile = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function measure(
  b: Broker,
  t: Transport,
  opts: { connects: number; messages: number; idle: number },
): Promise<Figures> {
  const dev = b.devices[0]!;
  // 1. reconnect
  const times: number[] = [];
  for (let i = 0; i < opts.connects; i++) {
    const t0 = performance.now();
    const c = await connect(options(b, t, dev, dev.id));
    times.push(performance.now() - t0);
    await c.endAsync();
  }
  // 2. CPU per message: the subscriber takes the integration's way in (PSK is for devices).
  const sub = await connect(options(b, t === 'psk' ? 'cert' : t, b.integration, 'bench-sub'));
  await sub.subscribeAsync('hearth/+/telemetry', { qos: 0 });
  let got = 0;
  sub.on('message', () => got++);
  const pub = await connect(options(b, t, dev, dev.id));
  await sleep(200);
  const payload = Buffer.alloc(64, 'x');
  const cpu0 = cpuSeconds(b.pid);
  for (let i = 0; i < opts.messages; i++) {
    pub.publish(`hearth/${dev.id}/telemetry`, payload, { qos: 0 });
    if (i % 200 === 199) await new Promise((r) => setImmediate(r));
  }
  const until = Date.now() + 60_000;
  while (got < opts.messages && Date.now() < until) await sleep(20);
  const cpu1 = cpuSeconds(b.pid);
  const lost = opts.messages - got;
  await pub.endAsync();
  await sub.endAsync();
  if (lost > 0) throw new Error(`${lost} of ${opts.messages} messages did not arrive`);
  // 3. RAM per idle connection
  await sleep(300);
  const rss0 = rssKiB(b.pid);
  const idle: MqttClient[] = [];
  for (let i = 1; i <= opts.idle; i++) {
    const d = b.devices[i]!;
    idle.push(await connect(options(b, t, d, d.id)));
  }
  await sleep(500);
  const rss1 = rssKiB(b.pid);
  await Promise.all(idle.map((c) => c.endAsync()));
  return {
    reconnectMsP50: round(percentile(times, 50), 2),
    reconnectMsP90: round(percentile(times, 90), 2),
    cpuUsPerMsg: round(((cpu1 - cpu0) / opts.messages) * 1e6, 2),
    rssKiBPerConnection: round((rss1 - rss0) / opts.idle, 1),
  };
}

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: ctx.args,
    options: {
      connects: { type: 'string', default: '100' },
      messages: { type: 'string', default: '20000' },
      idle: { type: 'string', default: '200' },
    },
  });
  const opts = { connects: Number(values.connects), messages: Number(values.messages), idle: Number(values.idle) };
  ctx.log(
    `mosquitto ${mosquittoVersion()}, node ${process.version}; ${opts.connects} reconnects, ` +
      `${opts.messages} messages, ${opts.idle} idle connections per transport`,
  );
  const plan: [string, () => Promise<Broker>, Transport[]][] = [
    ['hub', () => startHubBroker(opts.idle + 1), ['tcp', 'psk', 'cert']],
    ['mosquitto', () => startMosquittoBroker(opts.idle + 1), ['tcp', 'cert']],
  ];
  const brokers: Record<string, Record<string, Figures>> = {};
  for (const [name, start, transports] of plan) {
    brokers[name] = {};
    for (const t of transports) {
      const b = await start();
      try {
        const f = await measure(b, t, opts);
        brokers[name]![t] = f;
        ctx.log(
          `${name.padEnd(10)}${t.padEnd(6)} reconnect p50 ${f.reconnectMsP50} ms p90 ` +
            `${f.reconnectMsP90} ms, CPU ${f.cpuUsPerMsg} µs/msg, RSS ${f.rssKiBPerConnection} ` +
            `KiB/connection`,
        );
      } finally {
        await b.stop();
      }
    }
  }
  const hub = brokers.hub!;
  const mosq = brokers.mosquitto!;
  return {
    brokers,
    ratios: {
      hubPskVsTcpReconnect: ratio(hub.psk!.reconnectMsP50, hub.tcp!.reconnectMsP50),
      hubPskVsTcpCpu: ratio(hub.psk!.cpuUsPerMsg, hub.tcp!.cpuUsPerMsg),
      hubCertVsMosquittoCertReconnect: ratio(hub.cert!.reconnectMsP50, mosq.cert!.reconnectMsP50),
      hubCertVsMosquittoCertCpu: ratio(hub.cert!.cpuUsPerMsg, mosq.cert!.cpuUsPerMsg),
    },
  };
}
