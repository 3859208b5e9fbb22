import { fileURLToPath } from 'node:url';
import { systemClock } from './clock.ts';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Backplane } from './backplane/backplane.ts';
import { LocalBackplane } from './backplane/local.ts';
import { RedisBackplane, parseClusterUrl, parseSentinelUrl } from './backplane/redis.ts';
import { DEFAULT_LIMITS, type RelayLimits } from './limits.ts';
import { RelayNode } from './relay-node.ts';
import { WebApp } from './web-app.ts';

/** The checkout's UI build, beside this package. */
function defaultUiDir(): string {
  return fileURLToPath(new URL('../../ui/dist', import.meta.url));
}

const USAGE = `Usage: npm run relay -- [options]
  --port N              WebSocket port (0 picks a free one; default 8443)
  --host ADDR           address to bind (default 0.0.0.0)
  --redis URL           share presence, routing and blobs with other nodes through Redis:
                        redis://, rediss://, redis-sentinel://host:port[,host:port]/name
                        or redis-cluster://host:port[,host:port] (seed nodes of a Redis Cluster)
  --data DIR            single-node store (SQLite) when there is no --redis (default ./relay-data)
  --ui DIR              serve the web app built in DIR (ui/dist) to remote browsers on this port;
                        --no-ui serves none (default: ui/dist of this checkout when it is built)
  --max-frame-bytes N   --device-rate N --device-burst N --hub-rate N --hub-burst N
  --hub-out-rate N      --hub-out-burst N (frames/s a hub may send its devices)
  --tunnels-per-min N   --sessions-per-hub N --max-state-bytes N --pushes-per-min N
  --backups-per-hub N   off-site backups one home may keep (default 3)
  --backup-bytes N      bytes they may take together (default 1 GiB)
  --max-backup-bytes N  largest single backup (default 512 MiB)
  --push-allow-loopback tests only: Web Push endpoints may be http:// on 127.0.0.1 / ::1
  --log-level LEVEL     fatal|error|warn|info|debug|silent (default info)`;

type NumericLimit = { [K in keyof RelayLimits]: RelayLimits[K] extends number ? K : never }[keyof RelayLimits];

const LIMIT_FLAGS: Record<string, NumericLimit> = {
  'max-frame-bytes': 'maxFrameBytes',
  'device-rate': 'deviceRatePerS',
  'device-burst': 'deviceBurst',
  'hub-rate': 'hubRatePerS',
  'hub-burst': 'hubBurst',
  'hub-out-rate': 'hubOutRatePerS',
  'hub-out-burst': 'hubOutBurst',
  'tunnels-per-min': 'tunnelsPerHubPerMin',
  'sessions-per-hub': 'sessionsPerHub',
  'max-state-bytes': 'maxStateBytes',
  'pushes-per-min': 'pushesPerHubPerMin',
  'backups-per-hub': 'backupsPerHub',
  'backup-bytes': 'backupBytesPerHub',
  'max-backup-bytes': 'maxBackupBytes',
};

function fail(message: string): never {
  process.stderr.write(`relay: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function positiveInt(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) fail(`--${name} must be an integer >= ${min}`);
  return value;
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      redis: { type: 'string' },
      data: { type: 'string' },
      ui: { type: 'string' },
      'no-ui': { type: 'boolean' },
      'log-level': { type: 'string' },
      help: { type: 'boolean' },
      'push-allow-loopback': { type: 'boolean' },
      ...Object.fromEntries(Object.keys(LIMIT_FLAGS).map((k) => [k, { type: 'string' as const }])),
    },
    strict: true,
  }).values;
} catch (err) {
  fail((err as Error).message);
}
if (parsed.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const port = positiveInt('port', parsed.port as string | undefined, 0) ?? 8443;
if (port > 65535) fail('--port must be at most 65535');
const limits: RelayLimits = { ...DEFAULT_LIMITS };
for (const [flag, key] of Object.entries(LIMIT_FLAGS)) {
  const value = positiveInt(flag, (parsed as Record<string, unknown>)[flag] as string | undefined, 1);
  if (value !== undefined) limits[key] = value;
}
limits.pushAllowLoopback = parsed['push-allow-loopback'] === true;
const level = (parsed['log-level'] as string | undefined) ?? 'info';
if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) fail('--log-level is not a level');
const redisUrl = parsed.redis as string | undefined;
if (
  redisUrl !== undefined &&
  !/^rediss?:\/\//.test(redisUrl) &&
  !parseSentinelUrl(redisUrl) &&
  !parseClusterUrl(redisUrl)
) {
  fail(
    '--redis must be a redis://, rediss://, redis-sentinel://host:port[,host:port]/name or redis-cluster://host:port[,host:port] URL',
  );
}

const log = pino({ level, base: { part: 'relay' } });
const backplane: Backplane = redisUrl
  ? new RedisBackplane(redisUrl, systemClock)
  : new LocalBackplane((parsed.data as string | undefined) ?? './relay-data', systemClock);
if (backplane instanceof RedisBackplane)
  backplane.onError = (err) => log.warn({ err: err.message }, 'redis connection error');
const uiDir = parsed['no-ui'] ? null : ((parsed.ui as string | undefined) ?? defaultUiDir());
let webApp: WebApp | undefined;
if (uiDir !== null) {
  try {
    webApp = new WebApp(uiDir);
  } catch (err) {
    // An explicit --ui that cannot be read is a mistake; the default is only there when built.
    if (parsed.ui !== undefined) fail(`--ui ${uiDir}: ${(err as Error).message}`);
  }
}
const node = new RelayNode({ backplane, log, limits, clock: systemClock, ...(webApp ? { webApp } : {}) });

try {
  const bound = await node.listen(port, (parsed.host as string | undefined) ?? '0.0.0.0');
  log.info(
    {
      port: bound,
      node: node.nodeId,
      mode: !redisUrl ? 'single' : parseClusterUrl(redisUrl) ? 'redis-cluster' : 'redis',
      webApp: webApp !== undefined,
    },
    `relay listening on ${bound}`,
  );
} catch (err) {
  log.fatal({ err }, 'relay failed to start');
  process.exit(1);
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    const deadline = setTimeout(() => process.exit(1), 5000);
    deadline.unref();
    void node.close().finally(() => process.exit(0));
  });
}
