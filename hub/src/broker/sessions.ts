import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { PublishAdmission } from './admission.ts';
import type { HearthClient } from './client-state.ts';
import type { BrokerCounters } from './counters.ts';
import type { Principal } from './credentials.ts';
import type { BrokerLimits } from './limits.ts';
import type { SqlitePersistence } from './persistence/sqlite-persistence.ts';
import { statusTopic, type DevicePresence } from './presence.ts';
import type { SessionOwners } from './session-owners.ts';
import type { PublishIntake } from './transport/intake.ts';

/** How often persistent sessions are checked for expiry, on the broker's clock. */
const EXPIRY_CHECK_MS = 6 * 3600_000;

export interface SessionsDeps {
  limits: BrokerLimits;
  counters: BrokerCounters;
  log: Logger;
  clock: Clock;
  owners: SessionOwners;
  persistence: SqlitePersistence;
  admission: PublishAdmission;
  presence: DevicePresence;
  intake: PublishIntake;
  /** aedes' live clients by client id (its `clients` map). */
  live(): Record<string, HearthClient | undefined>;
}

/**
 * Who is connected and whose persistent sessions are kept: a CONNECT that passed the hooks
 * (`accepted`) claims its session within its credential's bound, a connection's end
 * (`released`) records when its session was last seen, a revoked credential's connections close
 * and its sessions go, and sessions unseen for `sessionExpiryMs` are dropped (checked every
 * EXPIRY_CHECK_MS of the broker's clock).
 */
export class Sessions {
  readonly #deps: SessionsDeps;
  /** Live (authenticated) connections per username, for revocation. */
  readonly #byUsername = new Map<string, Set<HearthClient>>();
  #expiryTimer: TimerHandle | undefined;

  constructor(deps: SessionsDeps) {
    this.#deps = deps;
  }

  /** Persistent sessions kept. */
  get size(): number {
    return this.#deps.owners.size;
  }

  /** The credential that owns `clientId` (a live connection or a persistent session), if any. */
  owner(clientId: string): string | undefined {
    const live = this.#deps.live()[clientId];
    return live?.hearth?.principal?.username ?? this.#deps.owners.owner(clientId);
  }

  /** Expires what is due now, then every EXPIRY_CHECK_MS until `stop`. */
  startExpiry(): void {
    this.#expire();
    this.#expiryTimer = this.#deps.clock.setInterval(() => this.#expire(), EXPIRY_CHECK_MS);
  }

  stop(): void {
    this.#expiryTimer?.cancel();
    this.#expiryTimer = undefined;
  }

  accepted(client: HearthClient, principal: Principal): void {
    const { owners, persistence, presence, admission, limits } = this.#deps;
    let set = this.#byUsername.get(principal.username);
    if (!set) this.#byUsername.set(principal.username, (set = new Set()));
    set.add(client);
    if (principal.deviceId !== undefined) presence.attach(principal.deviceId, client);
    admission.setQueueBudget(client.id, principal.kind);
    // A connection that fails before aedes registers it never emits 'clientDisconnect'.
    client.conn.once('close', () => this.released(client));

    // A device's id is its own: a session another credential left under it (an integration that
    // took the id before the device was added) is dropped before aedes restores it, and aedes'
    // takeover [MQTT-3.1.4-2] closes such a connection if it is live.
    const owner = owners.owner(client.id);
    if (owner !== undefined && owner !== principal.username) this.drop(client.id, 'taken back by its device');
    if (client.clean) {
      // A clean session discards any earlier session under this id [MQTT-3.1.2-6].
      if (owners.has(client.id)) {
        owners.release(client.id);
        persistence.dropSession(client.id);
      }
      return;
    }
    const limit = principal.kind === 'device' ? limits.sessionsPerDevice : limits.sessionsPerIntegration;
    for (const evicted of owners.claim(client.id, principal.username, this.#deps.clock.now(), limit, (id) =>
      this.#isLive(id),
    )) {
      this.drop(evicted, 'session limit of its credential reached');
    }
  }

  released(client: HearthClient): void {
    const state = client.hearth;
    const principal = state?.principal;
    if (!state || !principal || state.released) return;
    state.released = true;
    this.#deps.intake.forget(client);
    if (client.clean) this.#deps.admission.forgetQueueBudget(client.id);
    const set = this.#byUsername.get(principal.username);
    set?.delete(client);
    if (set?.size === 0) this.#byUsername.delete(principal.username);
    if (!client.clean) this.#deps.owners.touch(client.id, this.#deps.clock.now());
    if (principal.deviceId !== undefined) {
      const willPublished = !client._disconnected && state.willTopic === statusTopic(principal.deviceId);
      this.#deps.presence.detach(principal.deviceId, client, willPublished);
    }
  }

  /** A credential was revoked or replaced: its live connections close; revoked, its sessions go too. */
  credentialGone(username: string, reason: 'revoked' | 'replaced'): void {
    for (const client of [...(this.#byUsername.get(username) ?? [])]) {
      this.#deps.log.info({ username, clientId: client.id, reason }, 'mqtt credential revoked: disconnecting');
      client.close();
    }
    if (reason === 'revoked') {
      for (const clientId of this.#deps.owners.ownedBy(username)) this.drop(clientId, 'credential revoked');
    }
  }

  drop(clientId: string, reason: string): void {
    this.#deps.owners.release(clientId);
    this.#deps.persistence.dropSession(clientId);
    this.#deps.admission.forgetQueueBudget(clientId);
    this.#deps.counters.evictedSessions++;
    this.#deps.log.info({ clientId, reason }, 'mqtt persistent session dropped');
  }

  #isLive(clientId: string): boolean {
    return this.#deps.live()[clientId] !== undefined;
  }

  #expire(): void {
    const { owners, persistence, limits, clock } = this.#deps;
    for (const clientId of owners.seenBefore(clock.now() - limits.sessionExpiryMs)) {
      if (!this.#isLive(clientId)) this.drop(clientId, 'expired');
    }
    // State of a session nobody owns (e.g. its credential is gone) is never reachable again.
    for (const clientId of persistence.sessionIds()) {
      if (!owners.has(clientId) && !this.#isLive(clientId)) persistence.dropSession(clientId);
    }
  }
}
