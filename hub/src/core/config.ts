import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';

/**
 * Configuration comes from, lowest precedence first: embedded defaults, a JSON file (`--config`),
 * environment variables (`HEARTH_*`), command-line flags. The merged result is validated once
 * against this schema; anything unknown or out of range is a ConfigError naming the key, which
 * `main` turns into one line on stderr and exit code 2.
 */
const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const closed = { additionalProperties: false } as const;
/** A token bucket: a sustained rate and the burst allowed on top of it. */
const Rate = (perSecond: number, burst: number) =>
  Type.Object(
    {
      perSecond: Type.Number({ minimum: 0.01, maximum: 10_000_000, default: perSecond }),
      burst: Type.Integer({ minimum: 1, maximum: 100_000_000, default: burst }),
    },
    { ...closed, default: {} },
  );

export const ConfigSchema = Type.Object(
  {
    dataDir: Type.String({ minLength: 1, default: './data' }),
    http: Type.Object(
      {
        host: Type.String({ minLength: 1, default: '0.0.0.0' }),
        port: Type.Intersect([Port], { default: 8080 }),
        /** HTTPS with the hub's certificate, same app (hub/src/tls/https-listener.ts); 0 picks a free port. */
        httpsPort: Type.Intersect([Port], { default: 8443 }),
        /**
         * Strict: plain http answers only first contact (health, and the setup page and API
         * before any account exists) and sends everything else to https; https answers carry
         * Strict-Transport-Security. Off by default (hub/src/tls/README.md says why).
         */
        strict: Type.Boolean({ default: false }),
        bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 1024 * 1024 }),
        /**
         * Extra names the hub answers to (e.g. a router's DNS name for it), besides IP literals,
         * localhost, its hostname and <hostname>.local; others get 421 host_not_allowed.
         */
        allowedHosts: Type.Array(Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.-]+$' }), {
          maxItems: 64,
          default: [],
        }),
      },
      { ...closed, default: {} },
    ),
    mqtt: Type.Object(
      {
        host: Type.String({ minLength: 1, default: '0.0.0.0' }),
        port: Type.Intersect([Port], { default: 1883 }),
        /** MQTT over TLS with the hub's certificate (hub/src/tls/); 0 picks a free port. */
        tlsPort: Type.Intersect([Port], { default: 8883 }),
        /**
         * Integration users may log in over cleartext (1883, ws://…/mqtt). Unset (the default), the
         * hub decides once at its first start with this rule and keeps the answer in settings: off
         * for a new home, on for a home that already has integration users (they are on 1883 and
         * would break at the update). Set here, it is the default until the owner chooses in
         * Settings (hub/src/tls/README.md).
         */
        plainIntegrations: Type.Optional(Type.Boolean()),
        /** Largest MQTT packet accepted; bigger ones close that connection only. */
        maxPacketBytes: Type.Integer({ minimum: 1024, maximum: 256 * 1024 * 1024, default: 1024 * 1024 }),
        /** Messages queued in memory per connected client before it is treated as stuck. */
        maxClientQueue: Type.Integer({ minimum: 16, maximum: 1_000_000, default: 10_000 }),
        /**
         * Publish rate limits (hub/src/broker/publish-budget.ts): messages a second and the burst
         * on top, for each device, each integration user (all its connections together) and all
         * clients together; the hub's own messages and wills are not counted. Over budget a
         * client is not read until it has room again and its QoS 0 messages are shed; a whole
         * burst beyond it, it is disconnected. A plug publishes a few messages a second (the
         * burst covers a reconnect's catch-up); the total is far below what the broker delivers
         * on a Raspberry Pi 4, so the hub keeps time for HTTP, rules and recording.
         */
        publishRates: Type.Object(
          {
            device: Rate(100, 500),
            integration: Rate(2000, 10_000),
            total: Rate(20_000, 40_000),
          },
          { ...closed, default: {} },
        ),
      },
      { ...closed, default: {} },
    ),
    mdns: Type.String({ minLength: 1, default: 'on', description: 'on, off, or a comma-separated list of interfaces' }),
    /** Relay URL(s), ws:// or wss://; several separated by commas are tried in turn (docs/relay-protocol.md). */
    relay: Type.Union(
      [
        Type.String({ minLength: 1, maxLength: 2048, pattern: '^wss?://[^,\\s]+(\\s*,\\s*wss?://[^,\\s]+)*$' }),
        Type.Null(),
      ],
      { default: null },
    ),
    /**
     * A Zigbee coordinator (hub/src/drivers/zigbee/). Off unless `port` is set: a serial device
     * (`/dev/ttyUSB0`) or `tcp://host:port` for network coordinators.
     */
    zigbee: Type.Object(
      {
        port: Type.Union([Type.String({ minLength: 1, maxLength: 1024 }), Type.Null()], { default: null }),
        adapter: Type.Union(
          ['zstack', 'ember', 'deconz', 'zigate', 'zboss'].map((a) => Type.Literal(a)),
          { default: 'zstack' },
        ),
        channel: Type.Integer({ minimum: 11, maximum: 26, default: 11 }),
        /** A mains device not heard from for this long is unavailable (pinged at half of it). */
        availabilityTimeoutS: Type.Integer({ minimum: 10, maximum: 7 * 86_400, default: 600 }),
        /** The same for battery devices, which sleep and report rarely. */
        batteryAvailabilityTimeoutS: Type.Integer({ minimum: 60, maximum: 30 * 86_400, default: 25 * 3600 }),
      },
      { ...closed, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
          { default: 'info' },
        ),
      },
      { ...closed, default: {} },
    ),
    auth: Type.Object(
      {
        accessTokenTtlS: Type.Integer({ minimum: 30, maximum: 86_400, default: 900 }),
        refreshTokenTtlS: Type.Integer({ minimum: 300, maximum: 365 * 86_400, default: 30 * 86_400 }),
        /** Failed logins from one address before each further attempt is delayed. */
        loginSlowAfter: Type.Integer({ minimum: 1, maximum: 1000, default: 3 }),
        /** Failed logins from one address before it is refused with 429. */
        loginBanAfter: Type.Integer({ minimum: 1, maximum: 10_000, default: 10 }),
        loginBanS: Type.Integer({ minimum: 1, maximum: 86_400, default: 900 }),
        /**
         * Failed logins for one account, from addresses it has not logged in from, before each
         * further one is delayed, and before password logins for it from such addresses are
         * refused with 429 for loginBanS (hub/src/auth/account-guard.ts).
         */
        loginAccountSlowAfter: Type.Integer({ minimum: 1, maximum: 10_000, default: 10 }),
        loginAccountBanAfter: Type.Integer({ minimum: 1, maximum: 100_000, default: 50 }),
      },
      { ...closed, default: {} },
    ),
    devices: Type.Object(
      {
        commandTimeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 5000 }),
        /** The most shares the home holds (devices/sharing.ts): each is checked on every event a guest may see. */
        maxShares: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
      },
      { ...closed, default: {} },
    ),
    /** Telemetry and event history (hub/src/history/); sized for an SD card by default. */
    history: Type.Object(
      {
        /**
         * The telemetry loss window (docs/writes.md): telemetry samples, and each device's latest
         * reading in its state, are written at least this often... A power cut loses at most this
         * much of them; 30 s keeps 50 plugs at 1 Hz within the SD card's write budget.
         */
        flushIntervalMs: Type.Integer({ minimum: 50, maximum: 600_000, default: 30_000 }),
        /** ...and a batch holding a state change, availability change or command within this. */
        eventFlushMs: Type.Integer({ minimum: 50, maximum: 60_000, default: 1000 }),
        /** ...or as soon as it holds this many rows. A power cut loses at most the open batch. */
        flushRows: Type.Integer({ minimum: 1, maximum: 100_000, default: 5000 }),
        /** Rollups, packing, retention and thinning run in slices of at most sliceMs this often. */
        maintenanceIntervalMs: Type.Integer({ minimum: 50, maximum: 600_000, default: 1000 }),
        maintenanceSliceMs: Type.Integer({ minimum: 1, maximum: 1000, default: 20 }),
        retentionDays: Type.Object(
          {
            raw: Type.Number({ exclusiveMinimum: 0, maximum: 3650, default: 7 }),
            minute: Type.Number({ exclusiveMinimum: 0, maximum: 3650, default: 30 }),
            hour: Type.Number({ exclusiveMinimum: 0, maximum: 36500, default: 365 }),
            day: Type.Number({ exclusiveMinimum: 0, maximum: 36500, default: 5 * 365 }),
            events: Type.Number({ exclusiveMinimum: 0, maximum: 36500, default: 365 }),
          },
          { ...closed, default: {} },
        ),
        /**
         * Memory the open raw tail (samples not yet in an hourly raw block, history/open-tail.ts)
         * may take: 12 bytes a sample, ~0.17 MB per plug-hour at 1 s (four readings). Over it,
         * the series holding the most samples is packed into its block early.
         */
        openTailMaxMb: Type.Number({ minimum: 1, maximum: 4096, default: 64 }),
        /** History may use at most this much of the database; the oldest raw data goes first. */
        budgetMb: Type.Number({ minimum: 1, maximum: 1_000_000, default: 512 }),
      },
      { ...closed, default: {} },
    ),
    /** Hearth plugs (hub/src/drivers/plug/). */
    plugs: Type.Object(
      {
        /**
         * Ed25519 public keys (32 bytes, base64) whose signatures make a firmware image acceptable
         * (docs/plug-protocol.md "Firmware update"). The plugs' own compiled-in key must be one
         * of them; empty: no image can be uploaded.
         */
        firmwareKeys: Type.Array(Type.String({ pattern: '^[A-Za-z0-9+/]{43}=$' }), { maxItems: 16, default: [] }),
        /** A firmware update with no progress for this long (the plug vanished) fails with `timeout`. */
        updateTimeoutS: Type.Integer({ minimum: 1, maximum: 86_400, default: 120 }),
      },
      { ...closed, default: {} },
    ),
    /**
     * Rules (hub/src/rules/budget.ts): how many actions one run may execute before it stops with
     * `rule_step_budget_exceeded`, how often a run gives the event loop a turn, what one dry
     * run may execute and keep, and how many dry runs may be in progress at once.
     */
    rules: Type.Object(
      {
        maxSteps: Type.Integer({ minimum: 10, maximum: 10_000_000, default: 100_000 }),
        yieldEvery: Type.Integer({ minimum: 1, maximum: 100_000, default: 100 }),
        dryRunMaxSteps: Type.Integer({ minimum: 10, maximum: 10_000_000, default: 100_000 }),
        dryRunMaxCommands: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 5_000 }),
        dryRunConcurrent: Type.Integer({ minimum: 1, maximum: 64, default: 2 }),
        /**
         * Traces of runs that ended are written together, one transaction per this window
         * (docs/writes.md: a power cut may lose the last window's traces); 0: each at once.
         */
        traceFlushMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 1_000 }),
      },
      { ...closed, default: {} },
    ),
    /** The audit log (store/audit-repo.ts). */
    audit: Type.Object(
      {
        /**
         * Audit rows of commands and rules' notifications (the frequent ones) are written together,
         * one transaction per this window, and every other audit row at once after them (docs/
         * writes.md: a power cut may lose the last window's command rows); 0: each at once.
         */
        flushMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 1_000 }),
      },
      { ...closed, default: {} },
    ),
    /** Hub self-update (hub/src/update/, docs/update.md). */
    update: Type.Object(
      {
        /**
         * Ed25519 public keys (32 bytes, base64) whose signed releases this hub installs, besides
         * those in the package's hub/release-keys. The privileged helper reads the same list.
         */
        releaseKeys: Type.Array(Type.String({ pattern: '^[A-Za-z0-9+/]{43}=$' }), { maxItems: 16, default: [] }),
        /** Where `POST /api/v1/update/fetch` gets the release file (the package is beside it); null: uploads only. */
        url: Type.Union([Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://' }), Type.Null()], {
          default: null,
        }),
        /** Largest package accepted (uploaded or fetched); the .deb is ~40 MB. */
        maxPackageMb: Type.Integer({ minimum: 1, maximum: 4096, default: 256 }),
      },
      { ...closed, default: {} },
    ),
    /** Camera recordings (hub/src/recorder/); retention is per camera, in its settings. */
    recorder: Type.Object(
      {
        /**
         * Where recordings are written: best on their own volume (a USB disk or SSD), since
         * footage is the one big writer an SD card cannot take (docs/writes.md). Relative paths
         * are under the data directory; default `recordings` there.
         */
        dir: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
        /** Segment length; cuts land on the camera's keyframes. */
        segmentS: Type.Integer({ minimum: 1, maximum: 60, default: 4 }),
        /** Longest wait before restarting a camera's ffmpeg (the back-off doubles up to it). */
        backoffMaxMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000 }),
        /** All cameras' footage together; 0 = only the free-space floor limits it. */
        budgetMb: Type.Number({ minimum: 0, maximum: 100_000_000, default: 0 }),
        /** Free space kept on the recordings volume; below it with nothing left to remove, recording stops. */
        minFreeMb: Type.Number({ minimum: 0, maximum: 100_000_000, default: 1024 }),
        /** Playback/export ffmpegs one user may run at once, and all users together (429 `too_many_exports` beyond). */
        exportsPerUser: Type.Integer({ minimum: 1, maximum: 64, default: 2 }),
        exportsTotal: Type.Integer({ minimum: 1, maximum: 256, default: 4 }),
        /** Most space the playback/export files (a cache) may take; they only ever use space above the floor. */
        exportMb: Type.Number({ minimum: 1, maximum: 100_000_000, default: 4096 }),
      },
      { ...closed, default: {} },
    ),
    /** Scheduled backups (hub/src/backup/schedule.ts); the schedule itself is a home setting. */
    backup: Type.Object(
      {
        /**
         * Where scheduled backups are written, best another disk (a USB stick): a backup on the
         * card it protects dies with it. Relative paths are under the data directory; default
         * `backups/scheduled` there.
         */
        dir: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
      },
      { ...closed, default: {} },
    ),
    /**
     * What remote access (through the relay, hub/src/relay/) may hold in the hub's memory
     * (docs/relay-protocol.md "Live view" and "Answers").
     */
    remote: Type.Object(
      {
        /** Bytes one remote live view may have queued (a few seconds of a 2-4 Mbit/s camera). */
        liveQueueBytes: Type.Integer({ minimum: 1024, maximum: 1024 * 1024 * 1024, default: 1024 * 1024 }),
        /** Bytes one remote session's streamed answers may hold; beyond it `remote_bytes_exceeded`. */
        sessionAnswerBytes: Type.Integer({ minimum: 1024, maximum: 1024 * 1024 * 1024, default: 8 * 1024 * 1024 }),
        /** Bytes all remote sessions' answers together may hold. */
        answerBytes: Type.Integer({ minimum: 1024, maximum: 4 * 1024 * 1024 * 1024, default: 64 * 1024 * 1024 }),
      },
      { ...closed, default: {} },
    ),
  },
  closed,
);

export type HubConfig = Static<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export class HelpRequested extends Error {}

export const USAGE = `Usage: hearth-hub [options]
  --data DIR          data directory (HEARTH_DATA, default ./data)
  --http-port N       HTTP/UI/API port, 0 picks a free one (HEARTH_HTTP_PORT, default 8080)
  --https-port N      HTTPS UI/API port, 0 picks a free one (HEARTH_HTTPS_PORT, default 8443)
  --mqtt-port N       MQTT TCP port, 0 picks a free one (HEARTH_MQTT_PORT, default 1883)
  --mqtts-port N      MQTT over TLS port, 0 picks a free one (HEARTH_MQTTS_PORT, default 8883)
  --host ADDR         address every listener binds to (HEARTH_HOST, default 0.0.0.0)
  --mdns MODE         on, off, or IFACE[,IFACE] (HEARTH_MDNS, default on)
  --relay URL         cloud relay to connect to (HEARTH_RELAY)
  --zigbee PORT       Zigbee coordinator: /dev/ttyUSB0 or tcp://host:port (HEARTH_ZIGBEE, default off)
  --log-level LEVEL   fatal|error|warn|info|debug|trace|silent (HEARTH_LOG_LEVEL)
  --config FILE       JSON config file (HEARTH_CONFIG)
  --help              this text`;

const FLAGS = {
  data: { type: 'string' },
  'http-port': { type: 'string' },
  'https-port': { type: 'string' },
  'mqtt-port': { type: 'string' },
  'mqtts-port': { type: 'string' },
  host: { type: 'string' },
  mdns: { type: 'string' },
  relay: { type: 'string' },
  zigbee: { type: 'string' },
  'log-level': { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean' },
} as const;

/** Where each flag or environment variable lands in the config object. */
const PATHS: Record<string, { path: string[]; integer?: boolean; env: string }> = {
  data: { path: ['dataDir'], env: 'HEARTH_DATA' },
  'http-port': { path: ['http', 'port'], integer: true, env: 'HEARTH_HTTP_PORT' },
  'https-port': { path: ['http', 'httpsPort'], integer: true, env: 'HEARTH_HTTPS_PORT' },
  'mqtt-port': { path: ['mqtt', 'port'], integer: true, env: 'HEARTH_MQTT_PORT' },
  'mqtts-port': { path: ['mqtt', 'tlsPort'], integer: true, env: 'HEARTH_MQTTS_PORT' },
  host: { path: ['__host'], env: 'HEARTH_HOST' },
  mdns: { path: ['mdns'], env: 'HEARTH_MDNS' },
  relay: { path: ['relay'], env: 'HEARTH_RELAY' },
  zigbee: { path: ['zigbee', 'port'], env: 'HEARTH_ZIGBEE' },
  'log-level': { path: ['log', 'level'], env: 'HEARTH_LOG_LEVEL' },
};

/**
 * Settings with an environment variable but no flag (tests and demos use short segments,
 * fractions of a MB and small queues). Like the others they beat the file and lose to nothing.
 */
const ENV_ONLY: { env: string; path: string[]; type: 'integer' | 'number' }[] = [
  { env: 'HEARTH_RECORDER_SEGMENT_S', path: ['recorder', 'segmentS'], type: 'integer' },
  { env: 'HEARTH_RECORDER_BACKOFF_MAX_MS', path: ['recorder', 'backoffMaxMs'], type: 'integer' },
  { env: 'HEARTH_RECORDER_BUDGET_MB', path: ['recorder', 'budgetMb'], type: 'number' },
  { env: 'HEARTH_RECORDER_MIN_FREE_MB', path: ['recorder', 'minFreeMb'], type: 'number' },
  { env: 'HEARTH_RECORDER_EXPORTS_PER_USER', path: ['recorder', 'exportsPerUser'], type: 'integer' },
  { env: 'HEARTH_RECORDER_EXPORTS_TOTAL', path: ['recorder', 'exportsTotal'], type: 'integer' },
  { env: 'HEARTH_RECORDER_EXPORT_MB', path: ['recorder', 'exportMb'], type: 'number' },
  { env: 'HEARTH_RELAY_LIVE_QUEUE_BYTES', path: ['remote', 'liveQueueBytes'], type: 'integer' },
  { env: 'HEARTH_RELAY_SESSION_BYTES', path: ['remote', 'sessionAnswerBytes'], type: 'integer' },
  { env: 'HEARTH_RELAY_ANSWER_BYTES', path: ['remote', 'answerBytes'], type: 'integer' },
];

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): HubConfig {
  let parsed: { values: Record<string, string | boolean | undefined> };
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false });
  } catch (err) {
    throw new ConfigError((err as Error).message.split('\n')[0] ?? 'invalid command line');
  }
  if (parsed.values.help) throw new HelpRequested(USAGE);

  const configFile = (parsed.values.config as string | undefined) ?? env.HEARTH_CONFIG;
  const merged: Record<string, unknown> = configFile ? readConfigFile(resolve(cwd, configFile)) : {};

  for (const spec of ENV_ONLY) {
    const raw = env[spec.env];
    if (raw === undefined || raw === '') continue;
    setPath(merged, spec.path, spec.type === 'integer' ? parseInteger(raw, spec.env) : parseNumber(raw, spec.env));
  }
  for (const source of ['env', 'flag'] as const) {
    for (const [flag, spec] of Object.entries(PATHS)) {
      const raw = source === 'env' ? env[spec.env] : (parsed.values[flag] as string | undefined);
      if (raw === undefined || raw === '') continue;
      const name = source === 'env' ? spec.env : `--${flag}`;
      const value = spec.integer ? parseInteger(raw, name) : raw;
      if (spec.path[0] === '__host') {
        setPath(merged, ['http', 'host'], value);
        setPath(merged, ['mqtt', 'host'], value);
      } else {
        setPath(merged, spec.path, value);
      }
    }
  }
  return validateConfig(merged, cwd);
}

export function validateConfig(input: unknown, cwd = process.cwd()): HubConfig {
  const withDefaults = Value.Default(ConfigSchema, structuredClone(input ?? {}));
  const errors = [...Value.Errors(ConfigSchema, withDefaults)];
  // Report the most specific problem: an unknown key, else the first value error.
  const unknown = errors.find((e) => e.keyword === 'boolean' && e.schemaPath.endsWith('additionalProperties'));
  const first = unknown ?? errors.find((e) => e.keyword !== 'additionalProperties') ?? errors[0];
  if (first) {
    const key = pointerToKey(first.instancePath);
    if (first === unknown) throw new ConfigError(`config: unknown key '${key}'`);
    throw new ConfigError(`config: '${key || '(root)'}' ${first.message}`);
  }
  const config = withDefaults as HubConfig;
  config.dataDir = resolve(cwd, config.dataDir);
  checkMdnsInterfaces(config.mdns);
  return config;
}

/** `--mdns IFACE[,IFACE]` must name interfaces this machine has: a typo would silently mean "no mDNS". */
function checkMdnsInterfaces(mdns: string): void {
  if (mdns === 'on' || mdns === 'off') return;
  const known = Object.keys(networkInterfaces());
  const names = mdns.split(',').map((n) => n.trim());
  const unknown = names.find((n) => n === '' || !known.includes(n));
  if (unknown !== undefined) {
    throw new ConfigError(
      `config: 'mdns' names no interface of this machine: '${unknown}' (have: ${known.join(', ')}; or use on/off)`,
    );
  }
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `config: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config: ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`config: ${path} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

function parseInteger(raw: string, name: string): number {
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`config: ${name} must be a whole number (got '${raw}')`);
  return Number(raw.trim());
}

function parseNumber(raw: string, name: string): number {
  if (!/^\d+(\.\d+)?$/.test(raw.trim())) throw new ConfigError(`config: ${name} must be a number (got '${raw}')`);
  return Number(raw.trim());
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function pointerToKey(pointer: string): string {
  return pointer.split('/').filter(Boolean).join('.');
}

/**
 * The environment of the command-line tools (`hearth-admin` and its backup and handover
 * commands, `flash-plug`), read here so that this file stays the one reader of env. Each tool's
 * flag beats its variable; the tools apply their own defaults.
 */
export interface ToolEnv {
  /** HEARTH_DATA: the data directory when `--data` is not given. */
  dataDir: string | undefined;
  /** HEARTH_PLUG_IMAGE: the firmware image `flash-plug` writes when `--image` is not given. */
  plugImage: string | undefined;
}

export function toolEnv(env: NodeJS.ProcessEnv = process.env): ToolEnv {
  return { dataDir: env.HEARTH_DATA, plugImage: env.HEARTH_PLUG_IMAGE };
}
