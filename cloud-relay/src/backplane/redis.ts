import type { Clock, TimerHandle } from '../clock.ts';
import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { ProtocolError } from '@hearth/protocol/errors';
import {
  BACKUP_PENDING_TTL_S,
  type Backplane,
  type Presence,
  type SignedDeviceList,
  type StoredBackup,
  type StoredState,
} from './backplane.ts';

/** Presence expires unless its node refreshes it: a killed node's hubs show offline by then. */
const PRESENCE_TTL_S = 15;
const PRESENCE_REFRESH_MS = 5000;

/**
 * Several relay nodes sharing one Redis (docs/relay-protocol.md "Many nodes"):
 *   hearth:{<hub>}:presence  node id holding the hub's tunnel (TTL, refreshed by that node)
 *   hearth:{<hub>}:offline   ms when its last tunnel closed
 *   hearth:{<hub>}:devices   the hub's signed device list (JSON {doc, sig})
 *   hearth:{<hub>}:state     the sealed snapshot (JSON {blob, storedAt})
 *   hearth:{<hub>}:backups   hash: backup id → JSON {id, bytes, chunks, storedAt} (complete ones)
 *   hearth:{<hub>}:backup:<id>:<n>  one piece of a sealed backup file (TTL until complete)
 *   hearth:node:<node>       pub/sub channel of frames for that node
 * The braces are a Redis Cluster hash tag: one hub's keys share a slot, so every multi-key
 * command here (the release script, the MGET) names keys of one hub only, and nothing sends keys
 * of different hubs together (the presence renewal is one command per hub, not a pipeline).
 * PUBLISH answers how many subscribers got the message, so a frame for a dead node is noticed
 * at once instead of vanishing.
 *
 * Redis Cluster (`redis-cluster://` URLs) uses sharded pub/sub instead: SPUBLISH goes to the
 * primary owning the channel's slot and SSUBSCRIBE listens there. A plain PUBLISH in a Cluster is
 * sent to any node and broadcast over the cluster bus, and its answer counts only the subscribers
 * on the node it was sent to: it would say 0 (node gone) for frames that were delivered, and two
 * frames sent to different nodes could arrive out of order. SPUBLISH keeps both the count and the
 * order, and a node's traffic crosses one shard instead of all of them.
 */
export class RedisBackplane implements Backplane {
  readonly nodeId = `n-${randomBytes(6).toString('hex')}`;
  readonly #cmd: Redis | Cluster;
  /** The same Cluster as #cmd in Cluster mode (it keeps its own per-shard subscriber connections). */
  readonly #sub: Redis | Cluster;
  readonly #sharded: boolean;
  readonly #mine = new Set<string>();
  #refresh: TimerHandle | undefined;
  readonly #clock: Clock;

  constructor(url: string, clock: Clock) {
    this.#clock = clock;
    // Fail commands fast while Redis is away rather than queueing without bound.
    const options = { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: true };
    const sentinel = parseSentinelUrl(url);
    const cluster = parseClusterUrl(url);
    this.#sharded = cluster !== null;
    if (cluster) {
      // No offline queue: while the Cluster is unreachable commands fail at once (the peer gets
      // relay_unavailable) instead of waiting for it to come back. Moves and failovers of single
      // shards are retried by ioredis (MOVED/ASK, CLUSTERDOWN, TRYAGAIN) while it stays ready.
      this.#cmd = new Cluster(cluster.nodes, {
        lazyConnect: true,
        enableOfflineQueue: false,
        shardedSubscribers: true,
        redisOptions: {
          maxRetriesPerRequest: 2,
          ...(cluster.password !== undefined ? { password: cluster.password } : {}),
        },
      });
      this.#sub = this.#cmd;
    } else {
      this.#cmd = sentinel ? new Redis({ ...options, ...sentinel }) : new Redis(url, options);
      this.#sub = sentinel ? new Redis({ ...options, ...sentinel }) : new Redis(url, options);
    }
    // ioredis reconnects by itself; without a listener it would print every failed attempt.
    let lastLogged = 0;
    const onError = (err: Error) => {
      if (this.#clock.now() - lastLogged < 10_000) return;
      lastLogged = this.#clock.now();
      this.onError(err);
    };
    this.#cmd.on('error', onError);
    if (this.#sub !== this.#cmd) this.#sub.on('error', onError);
    // A Cluster reports a failing shard as 'node error' (the client itself stays up).
    if (this.#cmd instanceof Cluster) this.#cmd.on('node error', onError);
  }

  onPresenceLost: (hubId: string) => void = () => {};

  /** Where connection errors go (at most one per 10 s); the node logs them. */
  onError: (err: Error) => void = () => {};

  async start(deliver: (message: Uint8Array) => void): Promise<void> {
    await Promise.all([...new Set([this.#cmd, this.#sub])].map((client) => client.connect()));
    if (this.#sharded) {
      this.#sub.on('smessageBuffer', (_channel: Buffer, message: Buffer) => deliver(message));
      await this.#sub.ssubscribe(channelOf(this.nodeId));
    } else {
      this.#sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => deliver(message));
      await this.#sub.subscribe(channelOf(this.nodeId));
    }
    this.#refresh = this.#clock.setInterval(() => void this.#refreshPresence(), PRESENCE_REFRESH_MS);
  }

  async send(node: string, message: Uint8Array): Promise<boolean> {
    const channel = channelOf(node);
    const payload = Buffer.from(message.buffer, message.byteOffset, message.length);
    // SPUBLISH answers a count too (ioredis types it unknown).
    const receivers = await available(
      this.#sharded ? (this.#cmd.spublish(channel, payload) as Promise<number>) : this.#cmd.publish(channel, payload),
    );
    return receivers > 0;
  }

  async claimHub(hubId: string): Promise<void> {
    this.#mine.add(hubId);
    await available(this.#cmd.set(`hearth:{${hubId}}:presence`, this.nodeId, 'EX', PRESENCE_TTL_S));
  }

  async releaseHub(hubId: string, at: number): Promise<void> {
    this.#mine.delete(hubId);
    // Only if the presence is still ours: the hub may already be back through another node.
    await this.#cmd.eval(
      "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]); redis.call('SET', KEYS[2], ARGV[2]) end return 0",
      2,
      `hearth:{${hubId}}:presence`,
      `hearth:{${hubId}}:offline`,
      this.nodeId,
      String(at),
    );
  }

  async locateHub(hubId: string): Promise<Presence> {
    const [node, offline] = await available(this.#cmd.mget(`hearth:{${hubId}}:presence`, `hearth:{${hubId}}:offline`));
    return { node: node ?? null, offlineSince: node ? null : offline ? Number(offline) : null };
  }

  async getDevices(hubId: string): Promise<SignedDeviceList | null> {
    const value = await available(this.#cmd.get(`hearth:{${hubId}}:devices`));
    return value ? (JSON.parse(value) as SignedDeviceList) : null;
  }

  async setDevices(hubId: string, list: SignedDeviceList): Promise<void> {
    await available(this.#cmd.set(`hearth:{${hubId}}:devices`, JSON.stringify(list)));
  }

  async getState(hubId: string): Promise<StoredState | null> {
    const value = await available(this.#cmd.get(`hearth:{${hubId}}:state`));
    return value ? (JSON.parse(value) as StoredState) : null;
  }

  async setState(hubId: string, state: StoredState): Promise<void> {
    await available(this.#cmd.set(`hearth:{${hubId}}:state`, JSON.stringify(state)));
  }

  async listBackups(hubId: string): Promise<StoredBackup[]> {
    const all = await available(this.#cmd.hvals(`hearth:{${hubId}}:backups`));
    return all
      .map((v) => JSON.parse(v) as StoredBackup)
      .sort((a, b) => a.storedAt - b.storedAt || a.id.localeCompare(b.id));
  }

  async putBackupChunk(hubId: string, id: string, n: number, data: Uint8Array): Promise<void> {
    await available(
      this.#cmd.set(
        `hearth:{${hubId}}:backup:${id}:${n}`,
        Buffer.from(data.buffer, data.byteOffset, data.length),
        'EX',
        BACKUP_PENDING_TTL_S,
      ),
    );
  }

  async commitBackup(hubId: string, backup: StoredBackup): Promise<void> {
    // One hub's keys share a slot (hash tag), so one MULTI holds them all.
    const tx = this.#cmd.multi();
    for (let n = 0; n < backup.chunks; n++) tx.persist(`hearth:{${hubId}}:backup:${backup.id}:${n}`);
    tx.hset(`hearth:{${hubId}}:backups`, backup.id, JSON.stringify(backup));
    await available(tx.exec());
  }

  async getBackupChunk(hubId: string, id: string, n: number): Promise<Uint8Array | null> {
    const value = await available(this.#cmd.getBuffer(`hearth:{${hubId}}:backup:${id}:${n}`));
    return value ? new Uint8Array(value.buffer, value.byteOffset, value.length) : null;
  }

  async deleteBackup(hubId: string, id: string, chunks: number): Promise<void> {
    const tx = this.#cmd.multi();
    tx.hdel(`hearth:{${hubId}}:backups`, id);
    for (let n = 0; n < chunks; n += 500)
      tx.del(...Array.from({ length: Math.min(500, chunks - n) }, (_, i) => `hearth:{${hubId}}:backup:${id}:${n + i}`));
    await available(tx.exec());
  }

  async stop(): Promise<void> {
    this.#refresh?.cancel();
    if (this.#sub !== this.#cmd) this.#sub.disconnect();
    await this.#cmd.quit().catch(() => undefined);
    // A Cluster's QUIT leaves its sharded subscriber connections open.
    if (this.#cmd instanceof Cluster) this.#cmd.disconnect();
  }

  /**
   * Renews this node's presence keys, but never over another node's: if the hub opened a newer
   * tunnel elsewhere (its old connection here may be half-dead), that node keeps the hub and this
   * one lets its tunnel go, instead of the two overwriting each other every few seconds.
   */
  async #refreshPresence(): Promise<void> {
    if (this.#mine.size === 0) return;
    const hubs = [...this.#mine];
    // One command per hub, not one pipeline: a Cluster refuses a pipeline whose keys live on
    // different shards. ioredis writes them back to back all the same.
    const results = await Promise.allSettled(
      hubs.map((hubId) => this.#cmd.eval(RENEW, 1, `hearth:{${hubId}}:presence`, this.nodeId, String(PRESENCE_TTL_S))),
    );
    results.forEach((result, i) => {
      const hubId = hubs[i]!;
      if (result.status === 'rejected' || result.value !== 0 || !this.#mine.has(hubId)) return;
      this.#mine.delete(hubId);
      this.onPresenceLost(hubId);
    });
  }
}

/**
 * `redis-sentinel://[:password@]host:port[,host:port...]/primary-name`: ask those Sentinels
 * where the primary is (and again after a failover) instead of naming one server.
 */
export function parseSentinelUrl(
  url: string,
): { sentinels: { host: string; port: number }[]; name: string; password?: string } | null {
  const m = /^redis-sentinel:\/\/(?::([^@]*)@)?([^/]+)\/([^/?#]+)$/.exec(url);
  if (!m) return null;
  const sentinels = parseHostPorts(m[2]!);
  if (!sentinels) return null;
  return { sentinels, name: decodeURIComponent(m[3]!), ...(m[1] ? { password: decodeURIComponent(m[1]) } : {}) };
}

/**
 * `redis-cluster://[:password@]host:port[,host:port...]`: seed nodes of a Redis Cluster (any few
 * of its nodes; ioredis learns the rest and follows slot moves and failovers).
 */
export function parseClusterUrl(url: string): { nodes: { host: string; port: number }[]; password?: string } | null {
  const m = /^redis-cluster:\/\/(?::([^@]*)@)?([^/?#]+)\/?$/.exec(url);
  if (!m) return null;
  const nodes = parseHostPorts(m[2]!);
  if (!nodes) return null;
  return { nodes, ...(m[1] ? { password: decodeURIComponent(m[1]) } : {}) };
}

/** `host:port[,host:port...]`, IPv6 hosts in brackets; null if any entry is malformed. */
function parseHostPorts(list: string): { host: string; port: number }[] | null {
  const entries = list.split(',').map((hostPort) => {
    const at = hostPort.lastIndexOf(':');
    return {
      host: at < 0 ? '' : hostPort.slice(0, at).replace(/^\[|\]$/g, ''),
      port: at < 0 ? NaN : Number(hostPort.slice(at + 1)),
    };
  });
  return entries.some((e) => !e.host || !Number.isInteger(e.port) || e.port < 1 || e.port > 65535) ? null : entries;
}

/** A Redis failure is the relay's, not the peer's: peers get `relay_unavailable`. */
async function available<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch {
    throw new ProtocolError('relay_unavailable', 'the relay cannot reach its store');
  }
}

/** SET EX only if the key is ours or gone; 1 if renewed, 0 if another node holds it. */
const RENEW =
  "local v = redis.call('GET', KEYS[1]) if v == ARGV[1] or not v then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1 end return 0";

function channelOf(node: string): string {
  return `hearth:node:${node}`;
}
