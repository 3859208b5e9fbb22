import { createHash, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import { newSecret } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import type { Store } from '../store/store.ts';
import type { MqttCredentialRow } from '../store/mqtt-credentials-repo.ts';
import { devicePolicy, integrationPolicy, type Policy } from './acl.ts';
import { parsePskIdentity, plugPskFromDigest } from './plug-psk.ts';
import { isValidTopicFilter } from './topics.ts';

/** Who an authenticated MQTT connection is, and what it may touch. */
export interface Principal {
  readonly username: string;
  readonly kind: 'device' | 'integration';
  /** Set for devices: their topics live under `hearth/<deviceId>/`. */
  readonly deviceId: string | undefined;
  readonly policy: Policy;
}

export interface IntegrationUserView {
  username: string;
  scope: 'read' | 'readwrite';
  topics: string[];
  createdAt: number;
}

/** `replaced`: a new secret was issued (sessions stay); `revoked`: the credential is gone. */
export type RevokeListener = (username: string, reason: 'revoked' | 'replaced') => void;

export interface MqttCredentialsDeps {
  store: Store;
  clock: Clock;
  log?: Logger;
}

/** Device ids become a topic level: no separators, wildcards or leading `$`. */
const DEVICE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const INTEGRATION_USERNAME = /^[A-Za-z0-9_.@-]{1,64}$/;
const MAX_INTEGRATION_TOPICS = 64;

/**
 * CONNECT bursts (hundreds of plugs after a power cut) are served from memory. Entries expire so
 * a credential deleted behind our back (a device row removed, its credential cascading away)
 * stops working within this time even if nobody called `revokeDevice`.
 */
const CACHE_TTL_MS = 60_000;
const CACHE_MAX_ENTRIES = 4096;

interface CacheEntry {
  principal: Principal;
  digest: Buffer;
  /** Devices only: the TLS PSK derived from `digest` (plug-psk.ts), made on first use. */
  psk?: Buffer;
  /** Devices: refused on cleartext since they connected with their PSK. */
  tlsOnly: boolean;
  /** The secret may have crossed the LAN in clear: it is changed once the device is on TLS. */
  exposed: boolean;
  /** A new secret sent to the device, accepted beside the old one until it connects with it. */
  nextDigest: Buffer | undefined;
  nextPsk?: Buffer;
  expiresAt: number;
}

/** What a CONNECT's password matched: the secret, or the new one of a change under way. */
export interface Verified {
  principal: Principal;
  next: boolean;
}

const sha256 = (data: Buffer | string): Buffer => createHash('sha256').update(data).digest();

/**
 * MQTT credentials for devices and integration users. Secrets are generated here (256 bits),
 * shown once, and stored only as their SHA-256 digest (see migration 1 for why not argon2).
 */
export class MqttCredentials {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #log: Logger | undefined;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #revokeListeners: RevokeListener[] = [];
  /** Compared against when the username is unknown, so both cases cost the same. */
  readonly #decoy = sha256(newSecret());

  constructor(deps: MqttCredentialsDeps) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#log = deps.log;
  }

  /** Called with the username whenever a credential is revoked or deleted, or its secret replaced. */
  onRevoke(listener: RevokeListener): void {
    this.#revokeListeners.push(listener);
  }

  createDeviceCredential(deviceId: string): { username: string; password: string } {
    if (!DEVICE_ID.test(deviceId))
      throw new HubError('validation_failed', 'device id is not usable as an MQTT topic level', { deviceId });
    const password = newSecret();
    const repo = this.#store.mqttCredentials;
    this.#store.transaction(() => {
      if (!this.#store.devices.byId(deviceId)) throw new HubError('device_not_found', `no device ${deviceId}`);
      const existing = repo.byUsername(deviceId);
      if (existing && existing.kind !== 'device')
        throw new HubError('username_taken', `MQTT username ${deviceId} belongs to an integration user`);
      repo.deleteForDevice(deviceId);
      repo.insert({
        username: deviceId,
        kind: 'device',
        deviceId,
        secretHash: sha256(password).toString('hex'),
        scope: 'device',
        topics: [`hearth/${deviceId}/#`],
        createdAt: this.#clock.now(),
      });
    });
    // A replaced secret must stop working on live connections too.
    this.#revoked(deviceId, 'replaced');
    return { username: deviceId, password };
  }

  revokeDevice(deviceId: string): void {
    this.#store.mqttCredentials.deleteForDevice(deviceId);
    // Also when no row was left (the device row's deletion cascaded): live connections still go.
    this.#revoked(deviceId, 'revoked');
  }

  createIntegrationUser(input: { username: string; scope: 'read' | 'readwrite'; topics: string[] }): {
    username: string;
    password: string;
  } {
    const { username, scope, topics } = input ?? ({} as typeof input);
    if (typeof username !== 'string' || !INTEGRATION_USERNAME.test(username)) {
      throw new HubError('validation_failed', 'username must be 1-64 characters of letters, digits, _ . @ -', {
        field: 'username',
      });
    }
    if (scope !== 'read' && scope !== 'readwrite')
      throw new HubError('validation_failed', 'scope must be read or readwrite', { field: 'scope' });
    if (!Array.isArray(topics) || topics.length === 0 || topics.length > MAX_INTEGRATION_TOPICS) {
      throw new HubError('validation_failed', `topics must hold 1-${MAX_INTEGRATION_TOPICS} topic filters`, {
        field: 'topics',
      });
    }
    for (const filter of topics) {
      if (typeof filter !== 'string' || !isValidTopicFilter(filter))
        throw new HubError('validation_failed', 'invalid MQTT topic filter', { field: 'topics', filter });
    }
    const password = newSecret();
    const repo = this.#store.mqttCredentials;
    this.#store.transaction(() => {
      if (repo.byUsername(username)) throw new HubError('username_taken', `MQTT username ${username} is taken`);
      repo.insert({
        username,
        kind: 'integration',
        deviceId: null,
        secretHash: sha256(password).toString('hex'),
        scope,
        topics: [...new Set(topics)],
        createdAt: this.#clock.now(),
      });
    });
    this.#cache.delete(username);
    return { username, password };
  }

  listIntegrationUsers(): IntegrationUserView[] {
    return this.#store.mqttCredentials.list('integration').map((row) => ({
      username: row.username,
      scope: row.scope as 'read' | 'readwrite',
      topics: row.topics,
      createdAt: row.createdAt,
    }));
  }

  deleteIntegrationUser(username: string): boolean {
    const row = this.#store.mqttCredentials.byUsername(username);
    if (row?.kind !== 'integration') return false;
    this.#store.mqttCredentials.delete(username);
    this.#revoked(username, 'revoked');
    return true;
  }

  /**
   * Checks a CONNECT's username and password. Undefined when either is wrong; the comparison is
   * constant-time and an unknown username costs the same as a wrong password.
   */
  verify(username: string, password: Buffer | string): Principal | undefined {
    return this.check(username, password)?.principal;
  }

  /**
   * `verify`, saying which secret matched: a device's password change under way accepts the new
   * one too (`next`), which the broker then makes the secret (`confirmNext`). Both comparisons
   * always run, so the timing tells nothing about a change under way.
   */
  check(username: string, password: Buffer | string): Verified | undefined {
    const entry = this.#lookup(username);
    const digest = sha256(password);
    const matches = timingSafeEqual(digest, entry ? entry.digest : this.#decoy);
    const matchesNext = timingSafeEqual(digest, entry?.nextDigest ?? this.#decoy);
    if (!entry) return undefined;
    if (matches) return { principal: entry.principal, next: false };
    if (matchesNext && entry.nextDigest) return { principal: entry.principal, next: true };
    return undefined;
  }

  /**
   * The TLS 1.3 PSK for `identity` when it names a device credential (the plug's id), for the
   * TLS listener's handshake; undefined otherwise (integrations use the hub's certificate).
   * Device ids are public (mDNS), so answering faster for unknown ones reveals nothing.
   */
  pskFor(identity: string): Buffer | undefined {
    const { username, next } = parsePskIdentity(identity);
    const entry = this.#lookup(username);
    if (entry?.principal.kind !== 'device') return undefined;
    // `<id>/next`: the new secret of a change under way, or, once that change is done (the plug
    // lost power before it stored it as its own), the secret it has become.
    if (next && entry.nextDigest) {
      entry.nextPsk ??= plugPskFromDigest(entry.nextDigest);
      return entry.nextPsk;
    }
    entry.psk ??= plugPskFromDigest(entry.digest);
    return entry.psk;
  }

  /** A device CONNECT accepted on cleartext: its secret has crossed the LAN readable. Written once. */
  seenInClear(username: string): void {
    const entry = this.#lookup(username);
    if (entry?.principal.kind !== 'device' || entry.exposed) return;
    this.#store.mqttCredentials.markExposed(username);
    entry.exposed = true;
  }

  /** A device on TLS whose secret may have crossed in clear: its password should be changed. */
  needsNewSecret(username: string): boolean {
    const entry = this.#lookup(username);
    return entry?.principal.kind === 'device' && entry.tlsOnly && entry.exposed;
  }

  /**
   * Starts (or restarts) a device's password change: a new random secret whose digest is stored
   * beside the old one before the secret is handed back to be sent, so a hub that dies after
   * sending still takes it. Both work until a connection with the new one (`confirmNext`).
   */
  beginNewSecret(username: string): string {
    const entry = this.#lookup(username);
    if (entry?.principal.kind !== 'device') throw new HubError('device_not_found', `no device credential ${username}`);
    const password = newSecret();
    const digest = sha256(password);
    this.#store.mqttCredentials.setNextSecret(username, digest.toString('hex'));
    entry.nextDigest = digest;
    entry.nextPsk = undefined;
    return password;
  }

  /**
   * A connection proved the new secret (its TLS PSK and CONNECT): it becomes the secret and the
   * old one stops working, on live connections too (they are closed). One transaction.
   */
  confirmNext(username: string): void {
    if (!this.#store.mqttCredentials.promoteNextSecret(username)) return;
    this.#log?.info({ username }, 'mqtt device password changed: the old one is refused from now on');
    this.#revoked(username, 'replaced');
  }

  /**
   * A device that connected with its TLS PSK has moved: its credential is refused on cleartext
   * from then on (a password that crossed the LAN in clear before the move must not keep
   * working there). Idempotent; written once per device.
   */
  movedToTls(username: string): void {
    const entry = this.#lookup(username);
    if (entry?.principal.kind !== 'device' || entry.tlsOnly) return;
    this.#store.mqttCredentials.markTlsOnly(username);
    entry.tlsOnly = true;
    this.#log?.info({ username }, 'mqtt device moved to TLS: cleartext refused for it from now on');
  }

  /** True if `username` is a device credential refused on cleartext (it has moved to TLS). */
  requiresTls(username: string): boolean {
    return this.#lookup(username)?.tlsOnly === true;
  }

  /** True if `username` is a device's credential (a device's MQTT username is its id). */
  isDevice(username: string): boolean {
    const cached = this.#cache.get(username);
    if (cached) return cached.principal.kind === 'device';
    return this.#store.mqttCredentials.byUsername(username)?.kind === 'device';
  }

  /** Drops every cached credential (tests, and after bulk changes to the table). */
  clearCache(): void {
    this.#cache.clear();
  }

  #lookup(username: string): CacheEntry | undefined {
    const now = this.#clock.now();
    const cached = this.#cache.get(username);
    if (cached && cached.expiresAt > now) return cached;
    if (cached) this.#cache.delete(username);
    const row = this.#store.mqttCredentials.byUsername(username);
    if (!row) return undefined; // unknown names are not cached: guessing cannot fill memory
    const entry: CacheEntry = {
      principal: toPrincipal(row),
      digest: Buffer.from(row.secretHash, 'hex'),
      tlsOnly: row.tlsOnly === true,
      exposed: row.exposed === true,
      nextDigest: row.nextSecretHash ? Buffer.from(row.nextSecretHash, 'hex') : undefined,
      expiresAt: now + CACHE_TTL_MS,
    };
    if (entry.digest.length !== 32) return undefined;
    if (entry.nextDigest?.length !== 32) entry.nextDigest = undefined;
    if (this.#cache.size >= CACHE_MAX_ENTRIES) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(username, entry);
    return entry;
  }

  #revoked(username: string, reason: 'revoked' | 'replaced'): void {
    this.#cache.delete(username);
    for (const listener of this.#revokeListeners) {
      try {
        listener(username, reason);
      } catch (err) {
        this.#log?.error({ err, username }, 'mqtt credential revoke listener failed');
      }
    }
  }
}

function toPrincipal(row: MqttCredentialRow): Principal {
  if (row.kind === 'device') {
    const deviceId = row.deviceId ?? row.username;
    return { username: row.username, kind: 'device', deviceId, policy: devicePolicy(deviceId) };
  }
  const scope = row.scope === 'readwrite' ? 'readwrite' : 'read';
  return {
    username: row.username,
    kind: 'integration',
    deviceId: undefined,
    policy: integrationPolicy(scope, row.topics),
  };
}
