import type { Actor } from '@hearth/model/values';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApi } from './api/build.ts';
import { AuthService } from './auth/service.ts';
import { finishInterruptedRestore } from './backup/restore.ts';
import { FirstRunRestore } from './backup/first-run-restore.ts';
import { BackupScheduler } from './backup/schedule.ts';
import { BACKUPS_DIR, BackupService } from './backup/service.ts';
import { HubError } from './core/errors.ts';
import { PACKAGED_RELEASE_KEYS, readKeysFile } from './update/release.ts';
import { UpdateService } from './update/service.ts';
import { Broker } from './broker/broker.ts';
import { EventBus } from './core/bus.ts';
import { systemClock, type Clock } from './core/clock.ts';
import type { HubConfig } from './core/config.ts';
import { lockDataDir, writeFileAtomic } from './core/data-dir.ts';
import { createLogger, type Logger } from './core/logger.ts';
import type { Part, PartStatus } from './core/part.ts';
import { HUB_VERSION } from './core/version.ts';
import { HomeService } from './devices/home.ts';
import { DeviceRegistry } from './devices/registry.ts';
import { MqttDeviceDriver } from './drivers/mqtt/driver.ts';
import { HistoryService } from './history/service.ts';
import { EnergyService } from './energy/service.ts';
import { LiveCycles } from './energy/live-cycles.ts';
import { PlugDirectory } from './drivers/plug/discovery.ts';
import { PlugDriver } from './drivers/plug/driver.ts';
import { loadHubSignKey } from './drivers/plug/hub-key.ts';
import { SERVICE_TYPE as PLUG_SERVICE_TYPE } from './drivers/plug/protocol.ts';
import { FirmwareStore } from './drivers/plug/firmware-store.ts';
import { PlugService } from './drivers/plug/service.ts';
import { PlugUpdates } from './drivers/plug/updates.ts';
import type { ZigbeeAdapter, ZigbeeDriver } from './drivers/zigbee/driver.ts';
import { RecorderService, type RecorderConfig } from './recorder/service.ts';
import { RemoteAccess } from './relay/service.ts';
import { RulesService } from './rules/service.ts';
import { type Advertisement, hubInstanceName, Mdns, parseMdnsMode } from './mdns/mdns.ts';
import { AuditLog, recordAudit } from './store/audit-log.ts';
import { Store } from './store/store.ts';
import { loadHubCertificate, type HubCertificate } from './tls/hub-certificate.ts';
import { closeHttps, listenHttps } from './tls/https-listener.ts';
import { TransportSettings } from './tls/transport-settings.ts';
import type { Server as HttpsServer } from 'node:https';

export interface HubOptions {
  clock?: Clock;
  log?: Logger;
  /**
   * The hub asks its process to stop and exit with `code` (main.ts): 75 after a first-run
   * restore, so the service manager starts it again on the restored data.
   */
  onExitRequested?: (code: number) => void;
}

/** Exit code after a first-run restore: systemd (Restart=on-failure) starts the hub again. */
export const EXIT_RESTART = 75;

export interface HubPorts {
  http: number;
  mqtt: number;
  /** MQTT over TLS; 0 when the hub has no certificate (no openssl at first start). */
  mqtts: number;
  /** The web UI and API over HTTPS; 0 when the hub has no certificate. */
  https: number;
}

/** How long a stop may take before the process gives up waiting (the 5 s). */
export const STOP_DEADLINE_MS = 5000;

/**
 * The composition root: builds every part from the config, starts them in dependency order and
 * stops them in reverse. Only this file knows every part.
 */
export class Hub {
  readonly config: HubConfig;
  readonly log: Logger;
  readonly clock: Clock;
  readonly bus: EventBus;
  readonly startedAt: number;
  store!: Store;
  broker!: Broker;
  /** The hub's TLS identity (hub/src/tls/), or undefined when it could not be made. */
  certificate: HubCertificate | undefined;
  /** The owner's http.strict and mqtt.plainIntegrations (config values until first changed). */
  transport!: TransportSettings;
  registry!: DeviceRegistry;
  history!: HistoryService;
  energy!: EnergyService;
  #liveCycles: LiveCycles | undefined;
  auth!: AuthService;
  api!: FastifyInstance;
  plugs!: PlugService;
  rules!: RulesService;
  recorder!: RecorderService;
  remote!: RemoteAccess;
  backup!: BackupService;
  backupSchedule!: BackupScheduler;
  #firstRunRestore: FirstRunRestore | undefined;
  readonly #onExitRequested: ((code: number) => void) | undefined;
  /** The Zigbee driver; undefined unless a coordinator is configured (`--zigbee PORT`). */
  zigbee: ZigbeeDriver | undefined;
  /** Plugs seen on the LAN; stays empty with `--mdns off`. */
  readonly plugDirectory = new PlugDirectory();
  #mdns: Mdns | undefined;
  #https: HttpsServer | undefined;
  readonly #status = new Map<string, PartStatus>();
  #started: Part[] = [];
  #unlock: (() => void) | undefined;

  constructor(config: HubConfig, options: HubOptions = {}) {
    this.config = config;
    this.clock = options.clock ?? systemClock;
    this.#onExitRequested = options.onExitRequested;
    this.log = options.log ?? createLogger({ level: config.log.level });
    this.bus = new EventBus(this.log.child({ part: 'bus' }));
    this.startedAt = this.clock.now();
  }

  /** Starts every part; on a failure stops what already started and rethrows. */
  async start(): Promise<HubPorts> {
    try {
      for (const part of this.#parts()) {
        this.#status.set(part.name, 'starting');
        try {
          await part.start();
        } catch (err) {
          this.#status.set(part.name, 'failed');
          this.log.fatal({ err, part: part.name }, 'part failed to start');
          throw err;
        }
        this.#status.set(part.name, 'ok');
        this.#started.push(part);
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
    const ports = this.ports();
    writeFileAtomic(join(this.config.dataDir, 'ports.json'), `${JSON.stringify(ports)}\n`);
    this.log.info(
      { ports, dataDir: this.config.dataDir, version: HUB_VERSION },
      `hub started: http ${ports.http}, https ${ports.https}, mqtt ${ports.mqtt}`,
    );
    return ports;
  }

  async stop(): Promise<void> {
    const parts = this.#started.reverse();
    this.#started = [];
    for (const part of parts) {
      try {
        await part.stop();
        this.#status.set(part.name, 'stopped');
      } catch (err) {
        this.#status.set(part.name, 'failed');
        this.log.error({ err, part: part.name }, 'part failed to stop');
      }
    }
    // A first-run restore swaps the data dir once nothing holds it any more.
    await this.#firstRunRestore?.finish();
  }

  ports(): HubPorts {
    const address = this.api.server.address();
    const http = typeof address === 'object' && address ? address.port : this.config.http.port;
    const secure = this.#https?.address();
    const https = typeof secure === 'object' && secure ? secure.port : 0;
    return { http, mqtt: this.broker.port, mqtts: this.broker.tlsPort, https };
  }

  /**
   * The hub's TLS certificate, made at first start. Without openssl the hub still runs, with
   * MQTT over TLS off and the reason in the log: cleartext MQTT is what it had before.
   */
  #loadCertificate(): HubCertificate | undefined {
    try {
      return loadHubCertificate(this.store.settings, hostname());
    } catch (err) {
      this.log.error({ err, part: 'broker' }, 'no TLS certificate: MQTT over TLS and HTTPS are off');
      return undefined;
    }
  }

  partsHealth(): Record<string, PartStatus> {
    return Object.fromEntries(this.#status);
  }

  /** The parts in start order. Each entry builds its part lazily so earlier parts exist first. */
  #parts(): Part[] {
    const { config, log, clock, bus } = this;
    return [
      {
        name: 'data',
        start: async () => {
          // A restore killed between its two renames left the restored dir beside this one.
          if (finishInterruptedRestore(config.dataDir))
            log.warn({ dataDir: config.dataDir }, 'finished an interrupted restore');
          this.#unlock = lockDataDir(config.dataDir);
        },
        stop: async () => this.#unlock?.(),
      },
      {
        name: 'store',
        start: async () => {
          this.store = Store.open(config.dataDir);
          this.store.audit.groupCommit(clock, config.audit.flushMs);
        },
        stop: async () => this.store.close(),
      },
      {
        name: 'broker',
        start: async () => {
          this.certificate = this.#loadCertificate();
          const tls = this.certificate
            ? { keyPem: this.certificate.keyPem, certPem: this.certificate.certPem }
            : undefined;
          const transport = new TransportSettings({
            settings: this.store.settings,
            defaults: { httpStrict: config.http.strict, plainIntegrations: config.mqtt.plainIntegrations },
            // Asked only through the API, which is up by then.
            httpsPort: () => (this.#https ? this.ports().https : 0),
            hasIntegrationUsers: () => this.store.mqttCredentials.list('integration').length > 0,
          });
          this.transport = transport;
          this.broker = new Broker({
            store: this.store,
            bus,
            log: log.child({ part: 'broker' }),
            clock,
            config: config.mqtt,
            ...(tls ? { tls } : {}),
            plainIntegrations: () => transport.plainIntegrations,
          });
          // Turned off: integrations still on 1883 or ws:// go now, not at their next reconnect.
          transport.onChange((view) => {
            if (!view.plainIntegrations) this.broker.closeCleartextIntegrations();
          });
          await this.broker.start();
        },
        stop: () => this.broker.stop(),
      },
      {
        name: 'devices',
        start: async () => {
          this.registry = new DeviceRegistry({
            store: this.store,
            bus,
            clock,
            log: log.child({ part: 'devices' }),
            commandTimeoutMs: config.devices.commandTimeoutMs,
            maxShares: config.devices.maxShares,
            telemetryInHistory: true,
          });
          this.registry.registerDriver(new MqttDeviceDriver(this.broker));
          const signKey = loadHubSignKey(this.store.settings);
          const audit = (actor: Actor, action: string, target: string, details: Record<string, unknown>) =>
            recordAudit(this.store, bus, { actor, action, target, details, at: clock.now() });
          const updates = new PlugUpdates({
            firmware: new FirmwareStore(config.dataDir, config.plugs.firmwareKeys),
            clock,
            timeoutMs: config.plugs.updateTimeoutS * 1000,
          });
          const plugDriver = new PlugDriver({
            broker: this.broker,
            signKey,
            clock,
            audit,
            updates,
            onUpdate: (e) => bus.emit('plug.update', e),
            mqttsPort: () => this.broker.tlsPort,
          });
          this.registry.registerDriver(plugDriver);
          this.plugs = new PlugService({
            directory: this.plugDirectory,
            driver: plugDriver,
            registry: this.registry,
            pairing: {
              credentials: this.broker.credentials,
              subscribe: (owner, filter, handler) => this.broker.subscribe(owner, filter, handler),
              hubSignPublicKey: signKey.publicKey,
              mqttPort: () => this.broker.port,
              mqttsPort: () => this.broker.tlsPort,
              clock,
              log: log.child({ part: 'plugs' }),
              httpTimeoutMs: 5000,
              onlineTimeoutMs: 20_000,
              audit,
            },
            rolloutFile: join(config.dataDir, 'firmware', 'rollout.json'),
          });
          if (config.zigbee.port) {
            // Loaded only with a coordinator configured: herdsman and the converters' device
            // definitions cost ~80 MB and a noticeable start-up on a Pi.
            const { ZigbeeDriver } = await import('./drivers/zigbee/driver.ts');
            const zigbeeActor: Actor = { kind: 'system', part: 'zigbee' };
            this.zigbee = new ZigbeeDriver({
              config: { ...config.zigbee, port: config.zigbee.port, adapter: config.zigbee.adapter as ZigbeeAdapter },
              dataDir: config.dataDir,
              log: log.child({ part: 'zigbee' }),
              bus,
              clock,
              adopt: async (input) => {
                await this.registry.create(input, zigbeeActor);
              },
              audit,
            });
            this.registry.registerDriver(this.zigbee);
          }
          await this.registry.start();
          const abandoned = await this.plugs.recover();
          if (abandoned.length > 0)
            log.warn({ plugs: abandoned }, 'removed plugs whose pairing did not finish before the hub stopped');
        },
        stop: () => {
          this.plugs.stopRollout();
          return this.registry.stop();
        },
      },
      {
        name: 'history',
        start: async () => {
          this.history = new HistoryService({
            store: this.store,
            bus,
            clock,
            log: log.child({ part: 'history' }),
            config: config.history,
          });
          await this.history.start();
          // Held audit rows go with history's event and sample batches (one commit, not two).
          this.history.ingest.alongside = () => this.store.audit.flush();
          // The registry's latest readings come from here, not from rows it rewrote every 30 s.
          this.registry.restoreReadings(this.history.latestReadings());
        },
        stop: () => this.history.stop(),
      },
      {
        // After history (it reads the tiers): energy insight, and appliance cycles as they happen
        // (rules' cycle_started / cycle_finished listen to its bus events).
        name: 'energy',
        start: async () => {
          this.energy = new EnergyService({
            history: this.history,
            registry: this.registry,
            settings: this.store.settings,
            audit: new AuditLog(this.store, bus),
            clock,
          });
          this.#liveCycles = new LiveCycles({
            bus,
            clock,
            log: log.child({ part: 'energy' }),
            idleW: (deviceId) => this.energy.idleW(deviceId),
          });
          this.#liveCycles.start();
        },
        stop: async () => this.#liveCycles?.stop(),
      },
      {
        // After devices and history: rules command devices and their state changes get recorded.
        name: 'rules',
        start: async () => {
          this.rules = new RulesService({
            store: this.store,
            bus,
            clock,
            log: log.child({ part: 'rules' }),
            registry: this.registry,
            limits: config.rules,
            traceFlushMs: config.rules.traceFlushMs,
          });
          await this.rules.start();
          // Scenes can be shared (devices/sharing.ts): sharing asks here whether one exists.
          const rules = this.rules;
          this.registry.sharing.registerTarget('scene', (id) => rules.scenes.byId(id) !== undefined);
          // Traces of rule runs that ended ride with history's batches too, beside the held audit rows.
          this.history.ingest.alongside = () => {
            this.store.audit.flush();
            this.rules.traceWriter.flush();
          };
        },
        stop: () => this.rules.stop(),
      },
      {
        // Before the API (its routes) and after the store; cameras are not registry devices.
        name: 'recorder',
        start: async () => {
          this.recorder = new RecorderService({
            store: this.store,
            bus,
            clock,
            log: log.child({ part: 'recorder' }),
            dataDir: config.dataDir,
            recordingsDir: resolve(config.dataDir, config.recorder.dir ?? 'recordings'),
            config: recorderConfig(config.recorder),
            devices: this.registry,
          });
          await this.recorder.start();
          // Rules ask for event clips through this interface; they never import the recorder.
          const recorder = this.recorder;
          this.registry.sharing.registerTarget('camera', (id) => recorder.repo.getCamera(id) !== undefined);
          this.rules.useCameras({
            has: (cameraId) => recorder.repo.getCamera(cameraId) !== undefined,
            clip: (cameraId, seconds, ruleId) => {
              recorder.clip(cameraId, { seconds, source: 'rule', details: { ruleId } });
            },
          });
        },
        stop: async () => {
          this.rules.useCameras(undefined);
          await this.recorder.stop();
        },
      },
      {
        name: 'auth',
        start: async () => {
          this.auth = new AuthService({
            store: this.store,
            bus,
            clock,
            log: log.child({ part: 'auth' }),
            config: config.auth,
            dataDir: config.dataDir,
          });
          // First run: the owner is created in the web app with this code (or with
          // `hearth-admin create-owner`); only someone at the hub can read it.
          const setupCode = this.auth.openSetup();
          if (setupCode)
            log.warn(
              { part: 'auth', setupCodeFile: join(config.dataDir, 'setup-code') },
              `no owner yet: open the web app and enter the setup code ${setupCode} (also printed by \`hearth-admin setup-code\`)`,
            );
        },
        stop: async () => this.auth.stop(),
      },
      {
        // Identity and enrolled devices: the API's remote routes need them; no network yet.
        name: 'remote',
        start: async () => {
          this.remote = new RemoteAccess({
            store: this.store,
            bus,
            clock,
            log: log.child({ part: 'relay' }),
            registry: this.registry,
            auth: this.auth,
            relay: config.relay,
            limits: config.remote,
            recorder: this.recorder,
          });
        },
        stop: async () => {},
      },
      {
        // Backups made on request (the API) and on the schedule (nightly into backup.dir).
        name: 'backup',
        start: async () => {
          const backupLog = log.child({ part: 'backup' });
          const home = (): string => this.store.rooms.homes()[0]?.name ?? 'home';
          this.backup = new BackupService({
            dataDir: config.dataDir,
            db: () => this.store.db,
            home,
            clock,
            log: backupLog,
            prepare: async () => {
              await this.zigbee?.saveForBackup();
            },
            recordingsDir: resolve(config.dataDir, config.recorder.dir ?? 'recordings'),
          });
          const dir = resolve(config.dataDir, config.backup.dir ?? join(BACKUPS_DIR, 'scheduled'));
          // The API's backups dir is pruned to its own count: sharing it would prune the other's files.
          if (dir === resolve(config.dataDir, BACKUPS_DIR))
            throw new HubError(
              'config_invalid',
              `backup.dir must not be ${BACKUPS_DIR} in the data dir (the API's backups are kept there)`,
            );
          this.backupSchedule = new BackupScheduler({
            dataDir: config.dataDir,
            dir,
            db: () => this.store.db,
            home,
            settings: this.store.settings,
            service: this.backup,
            bus,
            clock,
            log: backupLog,
            offsite: (path, id) => this.remote.uploadBackup(path, id),
          });
          this.backup.schedule = this.backupSchedule;
          const firstRun = new FirstRunRestore({ dataDir: config.dataDir, log: backupLog });
          this.#firstRunRestore = firstRun;
          this.backup.firstRun = {
            accept: (body, passphrase) => firstRun.accept(body, passphrase),
            restart: () => {
              if (!this.#onExitRequested)
                return log.error('a first-run restore is ready but this hub cannot restart itself: stop and start it');
              this.#onExitRequested(EXIT_RESTART);
            },
          };
          this.backupSchedule.start();
        },
        stop: () => this.backupSchedule.stop(),
      },
      {
        name: 'api',
        start: async () => {
          const audit = new AuditLog(this.store, bus);
          const home = new HomeService({ store: this.store, audit });
          this.api = await buildApi({
            config,
            bus,
            clock,
            log: log.child({ part: 'api' }),
            auth: this.auth,
            registry: this.registry,
            broker: this.broker,
            home,
            audit,
            plugs: this.plugs,
            ...(this.zigbee ? { zigbee: this.zigbee } : {}),
            history: this.history,
            energy: this.energy,
            rules: this.rules,
            recorder: this.recorder,
            remote: this.remote,
            backup: this.backup,
            update: new UpdateService({
              dataDir: config.dataDir,
              version: HUB_VERSION,
              trustedKeys: [...readKeysFile(PACKAGED_RELEASE_KEYS), ...config.update.releaseKeys],
              maxPackageBytes: config.update.maxPackageMb * 1024 * 1024,
              url: config.update.url,
              // The backup before an update is an ordinary one (listed, verified, kept).
              backup: (passphrase) => this.backup.create(passphrase),
              now: () => clock.now(),
              log: log.child({ part: 'update' }),
            }),
            version: HUB_VERSION,
            startedAt: this.startedAt,
            partsHealth: () => this.partsHealth(),
            transport: this.transport,
            https: () => {
              const port = this.ports().https;
              return this.certificate && port ? { port, sha256: this.certificate.sha256 } : undefined;
            },
          });
          await this.api.listen({ host: config.http.host, port: config.http.port });
          // The same app over TLS with the hub's certificate; none without one (logged above).
          if (this.certificate)
            this.#https = await listenHttps(this.api, config.http.host, config.http.httpsPort, this.certificate);
        },
        stop: async () => {
          const https = this.#https;
          this.#https = undefined;
          if (https) await closeHttps(https, () => this.api.close());
          else await this.api.close();
        },
      },
      {
        // After the API: remote requests run through it. Only with `relay` configured.
        name: 'relay',
        start: async () => this.remote.connect(this.api),
        stop: async () => this.remote.stop(),
      },
      {
        // Last: it announces the ports the listeners above got.
        name: 'mdns',
        start: async () => {
          const interfaces = parseMdnsMode(config.mdns);
          if (!interfaces) return;
          const ports = this.ports();
          this.#mdns = new Mdns({
            interfaces,
            log: log.child({ part: 'mdns' }),
            clock,
            advertise: () => [
              {
                name: hubInstanceName(),
                type: 'hearth',
                port: ports.http,
                // The encrypted ports too (0 = none, left out), so an app that found the hub can go
                // straight to https and pin the certificate there; mDNS itself is not trusted for that.
                txt: {
                  version: HUB_VERSION,
                  api: '/api/v1',
                  ...(ports.https ? { https: String(ports.https) } : {}),
                  ...(ports.mqtts ? { mqtts: String(ports.mqtts) } : {}),
                },
              },
              { name: hubInstanceName(), type: 'mqtt', port: ports.mqtt },
              ...encryptedAdvertisements(ports),
            ],
            browse: [
              {
                type: PLUG_SERVICE_TYPE,
                up: (s) => this.plugDirectory.seen(s),
                down: (name) => this.plugDirectory.gone(name),
              },
            ],
          });
          await this.#mdns.start();
        },
        stop: async () => {
          await this.#mdns?.stop();
          this.#mdns = undefined;
          this.plugDirectory.clear();
        },
      },
    ];
  }
}

/** The recorder's part of the config (its HEARTH_RECORDER_* variables are read in core/config.ts). */
function recorderConfig(file: HubConfig['recorder']): Partial<RecorderConfig> {
  return {
    segmentSeconds: file.segmentS,
    backoffMaxMs: file.backoffMaxMs,
    budgetBytes: Math.floor(file.budgetMb * 1024 * 1024),
    minFreeBytes: Math.floor(file.minFreeMb * 1024 * 1024),
    exportsPerUser: file.exportsPerUser,
    exportsTotal: file.exportsTotal,
    exportBudgetBytes: Math.floor(file.exportMb * 1024 * 1024),
  };
}

/** `_https._tcp` and `_secure-mqtt._tcp` (RFC 6763 service types; IANA names) for the TLS listeners the hub has. */
function encryptedAdvertisements(ports: HubPorts): Advertisement[] {
  const ads: Advertisement[] = [];
  if (ports.https) ads.push({ name: hubInstanceName(), type: 'https', port: ports.https, txt: { path: '/' } });
  if (ports.mqtts) ads.push({ name: hubInstanceName(), type: 'secure-mqtt', port: ports.mqtts });
  return ads;
}
