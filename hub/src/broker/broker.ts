import type { Server, AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import type { EventBus } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { HubConfig } from '../core/config.ts';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Store } from '../store/store.ts';
import { isValidTopicFilter, isValidTopicName } from './acl.ts';
import type { HearthClient } from './client-state.ts';
import { BrokerCounters } from './counters.ts';
import { MqttCredentials, type Principal } from './credentials.ts';
import { createHooks, DENIED, ROUTED } from './hooks.ts';
import { InternalSubscriptions, type InternalHandler } from './internal-subscriptions.ts';
import { PublishIntake, type PausableClient, type RouterQueue } from './transport/intake.ts';
import { Connections, listenTcp } from './transport/listeners.ts';
import { LogThrottle } from './log-throttle.ts';
import { KeyedLogThrottle } from './keyed-log-throttle.ts';
import { disconnectReason } from './disconnect-reasons.ts';
import { cacheMatches, type TopicMatcher } from './transport/router-cache.ts';
import { flattenDelivery, type RouterDo } from './transport/router-trampoline.ts';
import { EXHAUSTED, OVER, PublishBudget, type PublishRateLimits } from './publish-budget.ts';
import { RetainedBudget } from './retained-budget.ts';
import { DevicePresence, statusTopic } from './presence.ts';
import { SessionOwners } from './session-owners.ts';
import { SqlitePersistence } from './persistence/sqlite-persistence.ts';

export interface BrokerLimits {
  /**
   * Persistent sessions one device credential may hold (see session-owners.ts). A device uses
   * only its own id, so 1: sessions it left under other ids before that rule go on its next CONNECT.
   */
  sessionsPerDevice: number;
  /** Persistent sessions one integration user may hold. */
  sessionsPerIntegration: number;
  /** A persistent session not seen for this long is dropped. */
  sessionExpiryMs: number;
  /** Distinct retained topics kept. */
  maxRetained: number;
  /** Durability window of the persistence (see sqlite-persistence.ts). */
  flushMs: number;
  /** Publish rate limits per credential and in all (publish-budget.ts). */
  publishRates: PublishRateLimits;
  /** Largest packet a device may send (integrations: `mqtt.maxPacketBytes`; the smaller applies). */
  devicePacketBytes: number;
  /** Bytes of retained messages per device credential, per integration user and in all (retained-budget.ts); topics: `maxRetained`. */
  retainedBytes: { device: number; integration: number; total: number };
  /** Bytes of messages one session may have queued (offline, or sent and not yet acknowledged); beyond it the oldest are dropped. */
  queuedBytes: { device: number; integration: number };
  /** Bytes one connection may have waiting in its send buffer before it is disconnected as too slow. */
  sendBufferBytes: number;
}

export interface BrokerDeps {
  store: Store;
  bus: EventBus;
  log: Logger;
  clock: Clock;
  config: HubConfig['mqtt'];
  /** Optional overrides of DEFAULT_LIMITS (tests). */
  limits?: Partial<BrokerLimits>;
}

export const DEFAULT_LIMITS: BrokerLimits = {
  sessionsPerDevice: 1,
  sessionsPerIntegration: 16,
  sessionExpiryMs: 30 * 24 * 3600_000,
  maxRetained: 100_000,
  flushMs: 5,
  // A plug publishes a few messages a second; a burst covers a reconnect's catch-up. Integrations
  // (Home Assistant, Node-RED) publish commands and their own topics. The total is far below what
  // the broker delivers on a Raspberry Pi 4 (tens of thousands a second), so the hub keeps time
  // for HTTP, rules and recording whatever the clients send.
  publishRates: {
    device: { perSecond: 100, burst: 500 },
    integration: { perSecond: 2000, burst: 10_000 },
    total: { perSecond: 20_000, burst: 40_000 },
  },
  // A plug's messages are a few hundred bytes; a DIY device's JSON a few KiB at most.
  devicePacketBytes: 64 * 1024,
  retainedBytes: { device: 64 * 1024, integration: 4 * 1024 * 1024, total: 64 * 1024 * 1024 },
  // Commands and OTA chunks (4 KiB each, a few in flight) for a device; integrations subscribe widely.
  queuedBytes: { device: 1024 * 1024, integration: 16 * 1024 * 1024 },
  sendBufferBytes: 16 * 1024 * 1024,
};

const OFFLINE = Buffer.from('offline');
/** Router back-pressure (intake.ts): messages waiting for delivery before publishers are paused, and resumed. */
const INTAKE = { high: 1000, low: 250 };
/**
 * Beyond this many messages waiting in the router, clients' QoS 0 PUBLISHes are shed. The intake
 * pauses publishers at INTAKE.high, but each still hands over the packets of the chunk already
 * read (up to ~64 KiB each), so 100 flooding connections could queue tens of thousands.
 */
const ROUTER_SHED = 5000;
const BUS_OWNER = 'broker';
const EXPIRY_CHECK_MS = 6 * 3600_000;

type State = 'new' | 'starting' | 'started' | 'stopping' | 'stopped';

/**
 * The hub's MQTT broker: aedes 1.x with per-credential authentication and topic ACLs
 * (hooks.ts), persistence on the hub's SQLite file (sqlite-persistence.ts), TCP and WebSocket
 * listeners with per-connection limits (listeners.ts), and a hub-internal publish/subscribe
 * for drivers. What it supports is in README.md next to this file.
 */
export class Broker {
  readonly credentials: MqttCredentials;
  readonly #deps: BrokerDeps;
  readonly #limits: BrokerLimits;
  readonly #counters = new BrokerCounters();
  readonly #warn: LogThrottle;
  /** Shedding logs once per reason and credential per window, so a flood silences neither other warnings nor other flooders. */
  readonly #shedWarn: KeyedLogThrottle;
  readonly #budget: PublishBudget;
  readonly #retained: RetainedBudget;
  /** Queue byte budget per client id, by its credential's kind (see #queuedBytesOf). */
  readonly #queueBudgets = new Map<string, number>();
  readonly #internal: InternalSubscriptions;
  readonly #presence: DevicePresence;
  /** Live (authenticated) connections per username, for revocation. */
  readonly #byUsername = new Map<string, Set<HearthClient>>();
  readonly #errored = new WeakSet<object>();
  #state: State = 'new';
  #stopping: Promise<void> | undefined;
  #aedes: Aedes | undefined;
  #persistence: SqlitePersistence | undefined;
  #owners: SessionOwners | undefined;
  #connections: Connections | undefined;
  #intake: PublishIntake | undefined;
  /** aedes' router, for its queue length (see ROUTER_SHED). */
  #router: RouterQueue | undefined;
  #server: Server | undefined;
  #expiryTimer: TimerHandle | undefined;

  constructor(deps: BrokerDeps) {
    this.#deps = deps;
    this.#limits = { ...DEFAULT_LIMITS, ...deps.limits };
    this.#warn = new LogThrottle(deps.log, deps.clock);
    this.#shedWarn = new KeyedLogThrottle(deps.log, deps.clock);
    this.#budget = new PublishBudget(this.#limits.publishRates, Date.now());
    const rb = this.#limits.retainedBytes;
    this.#retained = new RetainedBudget({ deviceBytes: rb.device, integrationBytes: rb.integration, totalBytes: rb.total, topics: this.#limits.maxRetained });
    this.#internal = new InternalSubscriptions(this.#warn);
    this.#presence = new DevicePresence((deviceId) => this.#publishOffline(deviceId));
    this.credentials = new MqttCredentials({ store: deps.store, clock: deps.clock, log: deps.log });
    this.credentials.onRevoke((username, reason) => this.#credentialGone(username, reason));
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new HubError('conflict', `broker cannot start when ${this.#state}`);
    this.#state = 'starting';
    const { store, log, config, bus, clock } = this.#deps;
    try {
      const persistence = new SqlitePersistence({
        db: store.db,
        log,
        clock,
        flushMs: this.#limits.flushMs,
        maxQueuedPerClient: config.maxClientQueue,
        maxQueuedBytes: (clientId) => this.#queuedBytesOf(clientId),
        // Retained topics and bytes are bounded by RetainedBudget, which never refuses a device's status.
        maxRetained: Number.MAX_SAFE_INTEGER,
      });
      this.#persistence = persistence;
      const owners = new SessionOwners(store.db);
      owners.load();
      this.#owners = owners;

      const hooks = createHooks({
        credentials: this.credentials,
        counters: this.#counters,
        warn: this.#warn,
        clientIdOwner: (clientId) => this.#clientIdOwner(clientId),
        isDeviceId: (clientId) => this.credentials.isDevice(clientId),
        accepted: (client, principal) => this.#accepted(client, principal),
        routeBeforeAck: (client, packet, done) => this.#routeBeforeAck(client, packet, done),
      });
      const aedes = new Aedes({
        ...hooks,
        persistence,
        connectTimeout: 10_000,
        // Slow clients are bounded by listeners.ts instead of waiting on drain (see there).
        drainTimeout: 0,
      });
      this.#aedes = aedes;
      // mqemitter, aedes' router: its `length` is the queue of messages waiting for delivery,
      // its `_matcher` (qlobber) finds the subscribers of each message's topic.
      const router = (aedes as unknown as { mq: RouterQueue & RouterDo & { _matcher: TopicMatcher } }).mq;
      cacheMatches(router._matcher);
      flattenDelivery(router);
      this.#intake = new PublishIntake(router, INTAKE);
      this.#router = router;
      this.#wrapPublish(aedes, this.#intake);
      aedes.on('client', (client) => persistence.clientOnline(client.id));
      aedes.on('clientDisconnect', (client) => {
        persistence.clientOffline(client.id);
        this.#released(client as HearthClient);
      });
      aedes.on('subscribe', (subs) => persistence.grantedForNextRetained(subs));
      aedes.on('clientError', (client, err) => this.#clientError(client as HearthClient, err));
      aedes.on('connectionError', (client, err) => this.#clientError(client as HearthClient, err));
      // aedes emits 'error' for persistence failures; without a listener it would crash the hub.
      aedes.on('error' as 'closed', ((err: Error) => log.error({ err }, 'mqtt broker error')) as () => void);
      await aedes.listen();

      this.#connections = new Connections(aedes, this.#counters, log, {
        ...config,
        devicePacketBytes: Math.min(this.#limits.devicePacketBytes, config.maxPacketBytes),
        sendBufferBytes: this.#limits.sendBufferBytes,
      });
      const devices = new Map<string, boolean>();
      const isDevice = (id: string): boolean => {
        let known = devices.get(id);
        if (known === undefined) devices.set(id, (known = this.credentials.isDevice(id)));
        return known;
      };
      this.#retained.load(persistence.retainedMatching(['#', '$SYS/#']), isDevice);
      this.#internal.attach({
        subscribe: (filter, deliver) => aedes.subscribe(filter, deliver as never, noop),
        unsubscribe: (filter, deliver) => aedes.unsubscribe(filter, deliver as never, noop),
        retained: (filter) => persistence.retainedMatching([filter]) as { topic: string; payload: Buffer }[],
      });
      this.#recoverAfterRestart(aedes, persistence);
      this.#expireSessions();
      this.#expiryTimer = clock.setInterval(() => this.#expireSessions(), EXPIRY_CHECK_MS);
      bus.on(BUS_OWNER, 'device.removed', (e) => this.credentials.revokeDevice(e.deviceId));

      try {
        this.#server = await listenTcp(config.host, config.port, (socket) => this.#connections?.handle(socket, undefined, socket));
      } catch (err) {
        throw new HubError('internal_error', `MQTT cannot listen on ${config.host}:${config.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, undefined, { cause: err });
      }
      this.#server.on('error', (err) => log.error({ err }, 'mqtt listener error'));
      this.#state = 'started';
      log.info({ port: this.port, host: config.host, at: clock.now() }, 'mqtt broker listening');
    } catch (err) {
      await this.#shutdown();
      this.#state = 'stopped';
      throw err;
    }
  }

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
    if (this.#state !== 'started' || !aedes) return Promise.reject(new HubError('not_ready', 'mqtt broker is not running'));
    if (!isValidTopicName(topic)) return Promise.reject(new HubError('validation_failed', 'invalid MQTT topic', { topic }));
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
      persistentSessions: this.#owners?.size ?? 0,
      evictedSessions: c.evictedSessions,
      retainedMessages: p?.retained ?? 0,
      queuedMessages: p?.queued ?? 0,
      droppedQueuedMessages: p?.droppedQueued ?? 0,
      droppedRetainedMessages: (p?.droppedRetained ?? 0) + this.#retained.refused,
      retainedBytes: this.#retained.bytes,
      persistenceQueue: p?.pendingWrites ?? 0,
      persistenceFlushErrors: p?.flushErrors ?? 0,
    };
  }

  healthy(): boolean {
    return this.#state === 'started' && this.#server?.listening === true && this.#persistence?.healthy() === true;
  }

  // ---- connections -------------------------------------------------------------------------

  #clientIdOwner(clientId: string): string | undefined {
    const live = (this.#aedes as unknown as { clients: Record<string, HearthClient> } | undefined)?.clients[clientId];
    return live?.hearth?.principal?.username ?? this.#owners?.owner(clientId);
  }

  #isLive(clientId: string): boolean {
    return (this.#aedes as unknown as { clients: Record<string, unknown> }).clients[clientId] !== undefined;
  }

  #accepted(client: HearthClient, principal: Principal): void {
    let set = this.#byUsername.get(principal.username);
    if (!set) this.#byUsername.set(principal.username, (set = new Set()));
    set.add(client);
    if (principal.deviceId !== undefined) this.#presence.attach(principal.deviceId, client);
    this.#queueBudgets.set(client.id, principal.kind === 'device' ? this.#limits.queuedBytes.device : this.#limits.queuedBytes.integration);
    // A connection that fails before aedes registers it never emits 'clientDisconnect'.
    client.conn.once('close', () => this.#released(client));

    const owners = this.#owners!;
    // A device's id is its own: a session another credential left under it (an integration that
    // took the id before the device was added) is dropped before aedes restores it, and aedes'
    // takeover [MQTT-3.1.4-2] closes such a connection if it is live.
    const owner = owners.owner(client.id);
    if (owner !== undefined && owner !== principal.username) this.#dropSession(client.id, 'taken back by its device');
    if (client.clean) {
      // A clean session discards any earlier session under this id [MQTT-3.1.2-6].
      if (owners.has(client.id)) {
        owners.release(client.id);
        this.#persistence!.dropSession(client.id);
      }
      return;
    }
    const limit = principal.kind === 'device' ? this.#limits.sessionsPerDevice : this.#limits.sessionsPerIntegration;
    for (const evicted of owners.claim(client.id, principal.username, this.#deps.clock.now(), limit, (id) => this.#isLive(id))) {
      this.#dropSession(evicted, 'session limit of its credential reached');
    }
  }

  #released(client: HearthClient): void {
    const state = client.hearth;
    const principal = state?.principal;
    if (!state || !principal || state.released) return;
    state.released = true;
    this.#intake?.forget(client);
    if (client.clean) this.#queueBudgets.delete(client.id);
    const set = this.#byUsername.get(principal.username);
    set?.delete(client);
    if (set?.size === 0) this.#byUsername.delete(principal.username);
    if (!client.clean) this.#owners?.touch(client.id, this.#deps.clock.now());
    if (principal.deviceId !== undefined) {
      const willPublished = !client._disconnected && state.willTopic === statusTopic(principal.deviceId);
      this.#presence.detach(principal.deviceId, client, willPublished);
    }
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
    if (reason === 'connection_reset') this.#deps.log.debug({ clientId: client?.id, username, reason, err: err.message }, 'mqtt client disconnected');
    else this.#shedWarn.warn(`${reason}\u0000${username ?? ''}`, { clientId: client?.id, username, reason, err: err.message }, 'mqtt client disconnected');
  }

  #credentialGone(username: string, reason: 'revoked' | 'replaced'): void {
    for (const client of [...(this.#byUsername.get(username) ?? [])]) {
      this.#deps.log.info({ username, clientId: client.id, reason }, 'mqtt credential revoked: disconnecting');
      client.close();
    }
    if (reason === 'revoked' && this.#owners) {
      for (const clientId of this.#owners.ownedBy(username)) this.#dropSession(clientId, 'credential revoked');
    }
  }

  #dropSession(clientId: string, reason: string): void {
    this.#owners?.release(clientId);
    this.#persistence?.dropSession(clientId);
    this.#queueBudgets.delete(clientId);
    this.#counters.evictedSessions++;
    this.#deps.log.info({ clientId, reason }, 'mqtt persistent session dropped');
  }

  #expireSessions(): void {
    const owners = this.#owners;
    const persistence = this.#persistence;
    if (!owners || !persistence) return;
    for (const clientId of owners.seenBefore(this.#deps.clock.now() - this.#limits.sessionExpiryMs)) {
      if (!this.#isLive(clientId)) this.#dropSession(clientId, 'expired');
    }
    // State of a session nobody owns (e.g. its credential is gone) is never reachable again.
    for (const clientId of persistence.sessionIds()) {
      if (!owners.has(clientId) && !this.#isLive(clientId)) persistence.dropSession(clientId);
    }
  }

  // ---- publishing --------------------------------------------------------------------------

  /**
   * Every PUBLISH passes here before aedes routes it. Drops PUBLISHes the ACL refused (hooks.ts
   * explains why they are acknowledged first) and those already routed before their PUBACK
   * (`#routeBeforeAck`). A client's QoS 2 PUBLISH is routed here, after aedes stored its
   * incoming state; aedes sends the PUBREC when `done` is called, which waits for the commit of
   * what the message left to write (group commit). Clients' QoS 0 and 2 PUBLISHes pass the
   * publish budget here (`#admit`), QoS 1 ones in `#routeBeforeAck`.
   */
  #wrapPublish(aedes: Aedes, intake: PublishIntake): void {
    const publish = aedes.publish.bind(aedes) as (packet: object, client: unknown, done?: (err?: Error) => void) => void;
    this.#route = publish;
    const persistence = this.#persistence!;
    (aedes as unknown as { publish: typeof publish }).publish = (packet, client, done) => {
      const marks = packet as Record<symbol, unknown>;
      if (marks[DENIED] === true || marks[ROUTED] === true) {
        const callback = typeof client === 'function' ? (client as () => void) : done;
        callback?.();
        return;
      }
      // A client's PUBLISH (not the hub's own, nor a will): within its budget, and slowed if the router is behind.
      if (client === null || typeof client !== 'object') {
        // The hub's own (and wills restored after a restart): never refused, but counted.
        const own = packet as { topic: string; payload?: Buffer | string; retain?: boolean };
        if (own.retain) this.#retained.admit(own.topic, own.payload, undefined);
      } else {
        if (!this.#admit(client as HearthClient, packet as { qos: number })) {
          done?.();
          return;
        }
        intake.published(client as PausableClient);
        if ((packet as { qos?: number }).qos === 2 && done) {
          publish(packet, client, (err) => (err ? done(err) : persistence.afterCommit(() => done())));
          return;
        }
      }
      publish(packet, client, done);
    };
  }

  /**
   * Sheds load: a client over its publish rate budget (publish-budget.ts) is not read until the
   * budget has room again, and its QoS 0 messages over budget are dropped (at most once allows
   * it), as are every client's QoS 0 messages while the router has more than ROUTER_SHED
   * waiting. QoS 1/2 messages are never dropped for that (holding the client back bounds them).
   * A client that goes on sending a whole burst beyond its budget is disconnected, in this turn:
   * the PUBACKs gathered for it are never sent (write-batcher.ts), so its QoS 1/2 messages are
   * sent again after a reconnect rather than lost. Sheds are counted (`shedMessages`,
   * `rateLimitDisconnects`) and logged once per reason and credential per window.
   * False: drop this message (the caller completes it without routing).
   */
  #admit(client: HearthClient, packet: { qos: number; topic?: string; payload?: Buffer | string; retain?: boolean }): boolean {
    const principal = client.hearth?.principal;
    if (principal === undefined) return true;
    if (packet.retain) this.#admitRetained(client, principal, packet as { topic: string; payload?: Buffer | string; retain: boolean });
    if (packet === client.will) return true;
    const counters = this.#counters;
    const budget = this.#budget;
    const now = Date.now();
    const verdict = budget.take(principal, now);
    if (client.conn.destroyed) {
      // The rest of a chunk read before it was disconnected (below): nothing more to decide.
      counters.shedMessages++;
      return false;
    }
    if (verdict === EXHAUSTED) {
      counters.shedMessages++;
      counters.rateLimitDisconnects++;
      this.#shedWarn.warn(`d\u0000${principal.username}`, { clientId: client.id, username: principal.username, reason: 'rate_limit_exceeded' }, 'mqtt client disconnected');
      client.conn.destroy();
      return false;
    }
    if (verdict === OVER) this.#intake?.holdFor(client, budget.waitMs, now);
    if (packet.qos === 0 && (verdict === OVER || (this.#router?.length ?? 0) > ROUTER_SHED)) {
      counters.shedMessages++;
      const reason = verdict === OVER ? 'rate_limited' : 'router_full';
      this.#shedWarn.warn(`${reason}\u0000${principal.username}`, { clientId: client.id, username: principal.username, reason }, 'mqtt publishes shed');
      return false;
    }
    return true;
  }

  /**
   * A client's retained PUBLISH (or will) over its retained byte budget (retained-budget.ts) is
   * delivered as usual but not retained: its retain flag is cleared before aedes stores it, so
   * the message already retained on that topic stays. Counted (`droppedRetainedMessages`) and logged.
   */
  #admitRetained(client: HearthClient, principal: Principal, packet: { topic: string; payload?: Buffer | string; retain: boolean }): void {
    if (this.#retained.admit(packet.topic, packet.payload, principal)) return;
    packet.retain = false;
    this.#shedWarn.warn(`retained\u0000${principal.username}`, { clientId: client.id, username: principal.username, topic: packet.topic, reason: 'retained_budget' }, 'mqtt retained message not kept');
  }

  /** The byte budget of a client's queue (offline or in flight), by its credential's kind. */
  #queuedBytesOf(clientId: string): number {
    let budget = this.#queueBudgets.get(clientId);
    if (budget === undefined) {
      // A session restored after a restart whose client has not connected yet.
      budget = this.credentials.isDevice(clientId) ? this.#limits.queuedBytes.device : this.#limits.queuedBytes.integration;
      this.#queueBudgets.set(clientId, budget);
    }
    return budget;
  }

  /** aedes' own publish (unwrapped), set by `#wrapPublish`. */
  #route: ((packet: object, client: unknown, done?: (err?: Error) => void) => void) | undefined;

  /** See HookContext.routeBeforeAck: a QoS 1 PUBLISH is routed, committed, then acknowledged. */
  #routeBeforeAck(client: HearthClient, packet: { qos: number }, done: (err?: Error | null) => void): void {
    const route = this.#route;
    const persistence = this.#persistence;
    if (!route || !persistence) return done(null);
    const intake = this.#intake;
    (packet as unknown as Record<symbol, boolean>)[ROUTED] = true;
    // Disconnected for its rate (see #admit): neither routed nor acknowledged.
    if (!this.#admit(client, packet)) return done(null);
    intake?.published(client as unknown as PausableClient);
    route(packet, client, (err) => {
      if (err) return done(err);
      // Checked again once routed: the messages parsed from one read are all routed before any
      // of them reaches the router's queue, so the check before routing saw it empty.
      intake?.published(client as unknown as PausableClient);
      persistence.afterCommit(() => done(null));
    });
  }

  #publishOffline(deviceId: string): void {
    const aedes = this.#aedes;
    if (!aedes) return;
    const packet = { cmd: 'publish' as const, topic: statusTopic(deviceId), payload: OFFLINE, qos: 1 as const, retain: true, dup: false };
    aedes.publish(packet, (err) => {
      if (err && this.#state === 'started') this.#deps.log.warn({ err, deviceId }, 'could not publish offline status');
    });
  }

  /**
   * After a restart no client is connected: wills stored by the previous run (it did not stop
   * cleanly, or they would have been published) go out now, and a device whose retained status
   * still says `online` is marked `offline` until it says otherwise.
   */
  #recoverAfterRestart(aedes: Aedes, persistence: SqlitePersistence): void {
    for (const will of persistence.willsNotFrom(aedes.id)) {
      aedes.publish({ cmd: 'publish', topic: will.topic, payload: will.payload as Buffer, qos: (will.qos ?? 0) as 0, retain: will.retain ?? false, dup: false }, noop);
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
    this.#expiryTimer?.cancel();
    const server = this.#server;
    const serverClosed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
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
  }
}

function noop(): void {}
