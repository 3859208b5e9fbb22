import { X509Certificate } from 'node:crypto';
import type { Server, AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import type { EventBus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import type { HubConfig } from '../core/config.ts';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Store } from '../store/store.ts';
import { isValidTopicFilter, isValidTopicName } from './topics.ts';
import { PublishAdmission } from './admission.ts';
import type { HearthClient } from './client-state.ts';
import { BrokerCounters } from './counters.ts';
import { MqttCredentials } from './credentials.ts';
import { disconnectReason } from './disconnect-reasons.ts';
import { createHooks } from './hooks.ts';
import { InternalSubscriptions, type InternalHandler } from './internal-subscriptions.ts';
import { KeyedLogThrottle } from './keyed-log-throttle.ts';
import { DEFAULT_LIMITS, type BrokerLimits } from './limits.ts';
import { LogThrottle } from './log-throttle.ts';
import { SqlitePersistence } from './persistence/sqlite-persistence.ts';
import { DevicePresence, statusTopic } from './presence.ts';
import { PublishPath } from './publish-path.ts';
import { SessionOwners } from './session-owners.ts';
import { Sessions } from './sessions.ts';
import { PublishIntake, type RouterQueue } from './transport/intake.ts';
import { Connections, isCleartext, listenTcp, listenTls, pskIdentityOf } from './transport/listeners.ts';
import { cacheMatches, type TopicMatcher } from './transport/router-cache.ts';
import { flattenDelivery, type RouterDo } from './transport/router-trampoline.ts';

export interface BrokerDeps {
  store: Store;
  bus: EventBus;
  log: Logger;
  clock: Clock;
  config: HubConfig['mqtt'];
  /** Optional overrides of DEFAULT_LIMITS and of the config's publish rates (tests). */
  limits?: Partial<BrokerLimits>;
  /** The hub's certificate (hub/src/tls/): with it, MQTT over TLS also listens on `config.tlsPort`. */
  tls?: { keyPem: string; certPem: string };
  /** `mqtt.plainIntegrations` as the owner set it (tls/transport-settings.ts), read per CONNECT; default: the config's, else off. */
  plainIntegrations?: () => boolean;
}

const OFFLINE = Buffer.from('offline');
/** Router back-pressure (intake.ts): messages waiting for delivery before publishers are paused, and resumed. */
const INTAKE = { high: 1000, low: 250 };
const BUS_OWNER = 'broker';

type State = 'new' | 'starting' | 'started' | 'stopping' | 'stopped';

/** One step of `start()`: a name (logged if it fails) and what it does. */
type StartStep = readonly [name: string, run: () => void | Promise<void>];

/**
 * The hub's MQTT broker: aedes 1.x with per-credential authentication and topic ACLs
 * (hooks.ts), budgets per PUBLISH (admission.ts, publish-path.ts), sessions and their expiry
 * (sessions.ts), persistence on the hub's SQLite file (persistence/), TCP and WebSocket
 * listeners with per-connection limits and the router's flow (transport/), and a hub-internal
 * publish/subscribe for drivers. What it supports is in README.md next to this file.
 */
export class Broker {
  readonly credentials: MqttCredentials;
  readonly #deps: BrokerDeps;
  readonly #limits: BrokerLimits;
  readonly #counters = new BrokerCounters();
  readonly #warn: LogThrottle;
  /** Shedding logs once per reason and credential per window, so a flood silences neither other warnings nor other flooders. */
  readonly #shedWarn: KeyedLogThrottle;
  readonly #admission: PublishAdmission;
  readonly #internal: InternalSubscriptions;
  readonly #presence: DevicePresence;
  readonly #errored = new WeakSet<object>();
  #state: State = 'new';
  #stopping: Promise<void> | undefined;
  #aedes: Aedes | undefined;
  #persistence: SqlitePersistence | undefined;
  #owners: SessionOwners | undefined;
  #sessions: Sessions | undefined;
  #publishPath: PublishPath | undefined;
  #connections: Connections | undefined;
  #intake: PublishIntake | undefined;
  #server: Server | undefined;
  #tlsServer: Server | undefined;

  /**
   * What `start()` does, in order, like aedes' `connectActions`: each step builds on the ones
   * before it. If one fails, `start()` stops what the earlier ones started and throws its error.
   */
  readonly #startSteps: readonly StartStep[] = [
    ['open persistence', () => this.#openPersistence()],
    ['create aedes', () => this.#createAedes()],
    ['take over the router', () => this.#takeOverRouter()],
    ['follow clients', () => this.#followClients()],
    ['load persistence', () => this.#aedes!.listen()],
    ['accept connections', () => this.#acceptConnections()],
    ['count retained messages', () => this.#countRetained()],
    ['attach internal subscriptions', () => this.#attachInternal()],
    ['recover after restart', () => this.#recoverAfterRestart()],
    ['expire sessions', () => this.#sessions!.startExpiry()],
    ['follow device removals', () => this.#followDeviceRemovals()],
    ['listen on TCP', () => this.#listenTcp()],
    ['listen on TLS', () => this.#listenTls()],
  ];

  constructor(deps: BrokerDeps) {
    this.#deps = deps;
    this.#limits = { ...DEFAULT_LIMITS, publishRates: deps.config.publishRates, ...deps.limits };
    this.#warn = new LogThrottle(deps.log, deps.clock);
    this.#shedWarn = new KeyedLogThrottle(deps.log, deps.clock);
    this.#internal = new InternalSubscriptions(this.#warn);
    this.#presence = new DevicePresence((deviceId) => this.#publishOffline(deviceId));
    this.credentials = new MqttCredentials({ store: deps.store, clock: deps.clock, log: deps.log });
    this.credentials.onRevoke((username, reason) => this.#sessions?.credentialGone(username, reason));
    this.#admission = new PublishAdmission({
      limits: this.#limits,
      clock: deps.clock,
      counters: this.#counters,
      shedWarn: this.#shedWarn,
      isDevice: (clientId) => this.credentials.isDevice(clientId),
    });
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new HubError('conflict', `broker cannot start when ${this.#state}`);
    this.#state = 'starting';
    const { log, config, clock } = this.#deps;
    let current = '';
    try {
      for (const [name, run] of this.#startSteps) {
        current = name;
        await run();
      }
      this.#state = 'started';
      log.info({ port: this.port, host: config.host, at: clock.now() }, 'mqtt broker listening');
    } catch (err) {
      log.error({ step: current }, 'mqtt broker start failed');
      await this.#shutdown();
      this.#state = 'stopped';
      throw err;
    }
  }

  // ---- start steps -------------------------------------------------------------------------

  #openPersistence(): void {
    const { store, log, config, clock } = this.#deps;
    this.#persistence = new SqlitePersistence({
      db: store.db,
      log,
      clock,
      flushMs: this.#limits.flushMs,
      maxQueuedPerClient: config.maxClientQueue,
      maxQueuedBytes: (clientId) => this.#admission.queuedBytesOf(clientId),
      // Retained topics and bytes are bounded by RetainedBudget, which never refuses a device's status.
      maxRetained: Number.MAX_SAFE_INTEGER,
    });
    const owners = new SessionOwners(store.db);
    owners.load();
    this.#owners = owners;
  }

  #createAedes(): void {
    const hooks = createHooks({
      credentials: this.credentials,
      counters: this.#counters,
      warn: this.#warn,
      clientIdOwner: (clientId) => this.#sessions!.owner(clientId),
      isDeviceId: (clientId) => this.credentials.isDevice(clientId),
      pskIdentity: (client) => pskIdentityOf(client.conn),
      cleartext: (client) => isCleartext(client.conn, client.req),
      plainIntegrations: () => this.#deps.plainIntegrations?.() ?? this.#deps.config.plainIntegrations ?? false,
      accepted: (client, principal) => this.#sessions!.accepted(client, principal),
      routeBeforeAck: (client, packet, done) =>
        this.#publishPath ? this.#publishPath.routeBeforeAck(client, packet, done) : done(null),
    });
    this.#aedes = new Aedes({
      ...hooks,
      persistence: this.#persistence!,
      connectTimeout: 10_000,
      // Slow clients are bounded by listeners.ts instead of waiting on drain (see there).
      drainTimeout: 0,
    });
  }

  /** The router's match cache, its trampoline, the intake in front of it, and every PUBLISH through admission. */
  #takeOverRouter(): void {
    const aedes = this.#aedes!;
    const persistence = this.#persistence!;
    // mqemitter, aedes' router: its `length` is the queue of messages waiting for delivery,
    // its `_matcher` (qlobber) finds the subscribers of each message's topic.
    const router = (aedes as unknown as { mq: RouterQueue & RouterDo & { _matcher: TopicMatcher } }).mq;
    cacheMatches(router._matcher);
    flattenDelivery(router);
    const intake = new PublishIntake(router, { ...INTAKE, clock: this.#deps.clock });
    this.#intake = intake;
    this.#admission.attach(router, intake);
    this.#publishPath = new PublishPath(aedes, { admission: this.#admission, intake, persistence });
    const { log, clock } = this.#deps;
    this.#sessions = new Sessions({
      limits: this.#limits,
      counters: this.#counters,
      log,
      clock,
      owners: this.#owners!,
      persistence,
      admission: this.#admission,
      presence: this.#presence,
      intake,
      live: () => (aedes as unknown as { clients: Record<string, HearthClient | undefined> }).clients,
    });
  }

  #followClients(): void {
    const aedes = this.#aedes!;
    const persistence = this.#persistence!;
    aedes.on('client', (client) => persistence.clientOnline(client.id));
    aedes.on('clientDisconnect', (client) => {
      persistence.clientOffline(client.id);
      this.#sessions!.released(client as HearthClient);
    });
    aedes.on('subscribe', (subs) => persistence.grantedForNextRetained(subs));
    aedes.on('clientError', (client, err) => this.#clientError(client as HearthClient, err));
    aedes.on('connectionError', (client, err) => this.#clientError(client as HearthClient, err));
    // aedes emits 'error' for persistence failures; without a listener it would crash the hub.
    aedes.on('error' as 'closed', ((err: Error) => this.#deps.log.error({ err }, 'mqtt broker error')) as () => void);
  }

  #acceptConnections(): void {
    const { config, log } = this.#deps;
    this.#connections = new Connections(this.#aedes!, this.#counters, log, {
      ...config,
      devicePacketBytes: Math.min(this.#limits.devicePacketBytes, config.maxPacketBytes),
      sendBufferBytes: this.#limits.sendBufferBytes,
    });
  }

  /** The retained messages read back count against their publishers' byte budgets. */
  #countRetained(): void {
    const devices = new Map<string, boolean>();
    const isDevice = (id: string): boolean => {
      let known = devices.get(id);
      if (known === undefined) devices.set(id, (known = this.credentials.isDevice(id)));
      return known;
    };
    this.#admission.loadRetained(this.#persistence!.retainedMatching(['#', '$SYS/#']), isDevice);
  }

  #attachInternal(): void {
    const aedes = this.#aedes!;
    const persistence = this.#persistence!;
    this.#internal.attach({
      subscribe: (filter, deliver) => aedes.subscribe(filter, deliver as never, noop),
      unsubscribe: (filter, deliver) => aedes.unsubscribe(filter, deliver as never, noop),
      retained: (filter) => persistence.retainedMatching([filter]) as { topic: string; payload: Buffer }[],
    });
  }

  #followDeviceRemovals(): void {
    this.#deps.bus.on(BUS_OWNER, 'device.removed', (e) => this.credentials.revokeDevice(e.deviceId));
  }

  async #listenTcp(): Promise<void> {
    const { config, log } = this.#deps;
    try {
      this.#server = await listenTcp(config.host, config.port, (socket) =>
        this.#connections?.handle(socket, undefined, socket),
      );
    } catch (err) {
      throw new HubError(
        'internal_error',
        `MQTT cannot listen on ${config.host}:${config.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        undefined,
        { cause: err },
      );
    }
    this.#server.on('error', (err) => log.error({ err }, 'mqtt listener error'));
  }

  /** MQTT over TLS with the hub's certificate, when the hub has one (hub/src/tls/README.md). */
  async #listenTls(): Promise<void> {
    const { config, log, tls } = this.#deps;
    if (!tls) return;
    try {
      this.#tlsServer = await listenTls(
        config.host,
        config.tlsPort,
        tls,
        (socket) => this.#connections?.handle(socket, undefined, socket),
        (identity) => this.credentials.pskFor(identity),
      );
    } catch (err) {
      throw new HubError(
        'internal_error',
        `MQTT over TLS cannot listen on ${config.host}:${config.tlsPort}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        undefined,
        { cause: err },
      );
    }
    this.#tlsServer.on('error', (err) => log.error({ err }, 'mqtts listener error'));
  }

  // ---- running -----------------------------------------------------------------------------

  stop(): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      return Promise.resolve();
    }
    this.#stopping ??= (async () => {
      this.#state = 'stopping';
      await this.#shutdown();
      this.#state = 'stopped';
    })();
    return this.#stopping;
  }

  get port(): number {
    const address = this.#server?.address() as AddressInfo | null | undefined;
    return address?.port ?? 0;
  }

  /** The MQTT-over-TLS port, or 0 when that listener is off. */
  get tlsPort(): number {
    const address = this.#tlsServer?.address() as AddressInfo | null | undefined;
    return address?.port ?? 0;
  }

  /** What MQTT over TLS presents, for clients to pin: the PEM, its SHA-256 and the port. */
  certificate(): { pem: string; sha256: string; port: number } | undefined {
    const tls = this.#deps.tls;
    if (!tls || !this.#tlsServer) return undefined;
    return { pem: tls.certPem, sha256: new X509Certificate(tls.certPem).fingerprint256, port: this.tlsPort };
  }

  /**
   * Closes every integration connection that is readable on the network (1883, ws://): what
   * turning mqtt.plainIntegrations off no longer allows. They come back only over TLS.
   */
  closeCleartextIntegrations(): number {
    const clients = (this.#aedes as unknown as { clients?: Record<string, HearthClient | undefined> } | undefined)
      ?.clients;
    let closed = 0;
    for (const client of Object.values(clients ?? {})) {
      if (client?.hearth?.principal?.kind !== 'integration' || !isCleartext(client.conn, client.req)) continue;
      this.#deps.log.info({ clientId: client.id }, 'mqtt.plainIntegrations off: closing a cleartext integration');
      client.close();
      closed++;
    }
    return closed;
  }

  /** MQTT over WebSocket: the API mounts this at `/mqtt` on the HTTP port. */
  handleWebSocket(stream: Duplex, req: IncomingMessage): void {
    if (this.#state !== 'started' || !this.#connections) {
      stream.destroy();
      return;
    }
    this.#connections.handle(stream, req, req.socket);
  }

  /** Hub-internal publish (drivers): not subject to client ACLs. Resolves once routed. */
  publish(topic: string, payload: string | Buffer, opts: { qos?: 0 | 1 | 2; retain?: boolean } = {}): Promise<void> {
    const aedes = this.#aedes;
    if (this.#state !== 'started' || !aedes)
      return Promise.reject(new HubError('not_ready', 'mqtt broker is not running'));
    if (!isValidTopicName(topic))
      return Promise.reject(new HubError('validation_failed', 'invalid MQTT topic', { topic }));
    const packet = {
      cmd: 'publish' as const,
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos: opts.qos ?? 0,
      retain: opts.retain ?? false,
      dup: false,
    };
    return new Promise((resolve, reject) => aedes.publish(packet, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * Hub-internal subscription (drivers). The handler also receives the retained messages that
   * match, like a new MQTT subscription. Returns a function that removes it.
   */
  subscribe(owner: string, filter: string, handler: InternalHandler): () => void {
    if (!isValidTopicFilter(filter)) throw new HubError('validation_failed', 'invalid MQTT topic filter', { filter });
    return this.#internal.add(owner, filter, handler);
  }

  unsubscribeOwner(owner: string): void {
    this.#internal.removeOwner(owner);
  }

  /** Figures for /metrics. */
  stats(): { clients: number; messagesIn: number; messagesOut: number; [k: string]: number } {
    const c = this.#counters;
    const p = this.#persistence?.stats();
    const bytes = this.#connections?.bytes() ?? { in: 0, out: 0 };
    return {
      clients: this.#aedes?.connectedClients ?? 0,
      connections: this.#connections?.size ?? 0,
      messagesIn: c.messagesIn,
      messagesOut: c.messagesOut,
      bytesIn: bytes.in,
      bytesOut: bytes.out,
      refusedConnects: c.refusedConnects,
      refusedPublishes: c.refusedPublishes,
      refusedSubscribes: c.refusedSubscribes,
      subscriptionsGranted: c.subscriptionsGranted,
      slowClientDisconnects: c.slowClientDisconnects,
      publishersPaused: this.#intake?.pauses ?? 0,
      publishersHeld: this.#intake?.holds ?? 0,
      shedMessages: c.shedMessages,
      rateLimitDisconnects: c.rateLimitDisconnects,
      oversizedPackets: c.oversizedPackets,
      connectionErrors: c.connectionErrors,
      persistentSessions: this.#sessions?.size ?? 0,
      evictedSessions: c.evictedSessions,
      retainedMessages: p?.retained ?? 0,
      queuedMessages: p?.queued ?? 0,
      droppedQueuedMessages: p?.droppedQueued ?? 0,
      droppedRetainedMessages: (p?.droppedRetained ?? 0) + this.#admission.retainedRefused,
      retainedBytes: this.#admission.retainedBytes,
      persistenceQueue: p?.pendingWrites ?? 0,
      persistenceFlushErrors: p?.flushErrors ?? 0,
    };
  }

  healthy(): boolean {
    return this.#state === 'started' && this.#server?.listening === true && this.#persistence?.healthy() === true;
  }

  #clientError(client: HearthClient, err: Error): void {
    // Malformed or oversized packets, timeouts, slow clients: aedes closes only this connection.
    // aedes may report several errors for one connection (each pending write fails): count it once.
    if (this.#errored.has(client)) return;
    this.#errored.add(client);
    this.#counters.connectionErrors++;
    const reason = disconnectReason(err);
    const username = client?.hearth?.principal?.username;
    // A plug losing power resets its connection: routine, so at debug; everything else once per reason and credential per window.
    if (reason === 'connection_reset')
      this.#deps.log.debug({ clientId: client?.id, username, reason, err: err.message }, 'mqtt client disconnected');
    else
      this.#shedWarn.warn(
        `${reason}\u0000${username ?? ''}`,
        { clientId: client?.id, username, reason, err: err.message },
        'mqtt client disconnected',
      );
  }

  #publishOffline(deviceId: string): void {
    const aedes = this.#aedes;
    if (!aedes) return;
    const packet = {
      cmd: 'publish' as const,
      topic: statusTopic(deviceId),
      payload: OFFLINE,
      qos: 1 as const,
      retain: true,
      dup: false,
    };
    aedes.publish(packet, (err) => {
      if (err && this.#state === 'started') this.#deps.log.warn({ err, deviceId }, 'could not publish offline status');
    });
  }

  /**
   * After a restart no client is connected: wills stored by the previous run (it did not stop
   * cleanly, or they would have been published) go out now, and a device whose retained status
   * still says `online` is marked `offline` until it says otherwise.
   */
  #recoverAfterRestart(): void {
    const aedes = this.#aedes!;
    const persistence = this.#persistence!;
    for (const will of persistence.willsNotFrom(aedes.id)) {
      aedes.publish(
        {
          cmd: 'publish',
          topic: will.topic,
          payload: will.payload as Buffer,
          qos: (will.qos ?? 0) as 0,
          retain: will.retain ?? false,
          dup: false,
        },
        noop,
      );
      void persistence.delWill({ id: will.clientId as string });
    }
    for (const packet of persistence.retainedMatching(['hearth/+/status'])) {
      if (String(packet.payload).trim() !== 'online') continue;
      const deviceId = (packet.topic as string).split('/')[1]!;
      this.#publishOffline(deviceId);
    }
  }

  async #shutdown(): Promise<void> {
    const { bus, log } = this.#deps;
    bus.offOwner(BUS_OWNER);
    this.#sessions?.stop();
    const servers = [this.#server, this.#tlsServer].filter((s) => s !== undefined);
    const serverClosed = Promise.all(
      servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
    const aedes = this.#aedes;
    // Closing clients publishes their wills (and offline statuses) before the router closes.
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    this.#connections?.destroyAll();
    await serverClosed;
    this.#intake?.resumeAll();
    this.#internal.detach();
    // Let close events of the connections just destroyed run before the final flush.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.#persistence) {
      try {
        await this.#persistence.destroy();
      } catch (err) {
        log.error({ err }, 'mqtt persistence did not close cleanly');
      }
    }
    this.#server = undefined;
    this.#tlsServer = undefined;
  }
}

function noop(): void {}
