import type { Db } from '../store/db.ts';

interface Owner {
  username: string;
  lastSeen: number;
}

/**
 * Which credential owns each persistent session (clean session = 0). Two uses:
 * - a credential may hold only so many persistent sessions; connecting with yet another client
 *   id evicts its least recently seen offline session, so clients churning through new ids
 *   cannot grow the broker's state without bound (clean sessions leave nothing behind anyway);
 * - a client id owned by one credential cannot be used by another (no session takeover).
 * Writes go straight to SQLite: they happen per persistent CONNECT/disconnect, not per message.
 */
export class SessionOwners {
  readonly #byClient = new Map<string, Owner>();
  readonly #byUser = new Map<string, Set<string>>();
  readonly #sql;

  constructor(db: Db) {
    this.#sql = {
      all: db.prepare('SELECT client_id, username, last_seen FROM mqtt_sessions'),
      put: db.prepare('INSERT OR REPLACE INTO mqtt_sessions (client_id, username, last_seen) VALUES (?, ?, ?)'),
      del: db.prepare('DELETE FROM mqtt_sessions WHERE client_id = ?'),
    };
  }

  load(): void {
    for (const row of this.#sql.all.all() as { client_id: string; username: string; last_seen: number }[]) {
      this.#set(row.client_id, { username: row.username, lastSeen: row.last_seen });
    }
  }

  get size(): number {
    return this.#byClient.size;
  }

  owner(clientId: string): string | undefined {
    return this.#byClient.get(clientId)?.username;
  }

  has(clientId: string): boolean {
    return this.#byClient.has(clientId);
  }

  ownedBy(username: string): string[] {
    return [...(this.#byUser.get(username) ?? [])];
  }

  /**
   * Records that `username` holds the persistent session `clientId`, seen at `now`. Returns the
   * sessions to evict to stay within `limit`: the least recently seen ones not `isLive`.
   */
  claim(
    clientId: string,
    username: string,
    now: number,
    limit: number,
    isLive: (clientId: string) => boolean,
  ): string[] {
    this.#set(clientId, { username, lastSeen: now });
    this.#sql.put.run(clientId, username, now);
    const owned = this.#byUser.get(username)!;
    if (owned.size <= limit) return [];
    const candidates = [...owned]
      .filter((id) => id !== clientId && !isLive(id))
      .sort((a, b) => this.#byClient.get(a)!.lastSeen - this.#byClient.get(b)!.lastSeen);
    return candidates.slice(0, owned.size - limit);
  }

  touch(clientId: string, now: number): void {
    const owner = this.#byClient.get(clientId);
    if (!owner) return;
    owner.lastSeen = now;
    this.#sql.put.run(clientId, owner.username, now);
  }

  release(clientId: string): void {
    const owner = this.#byClient.get(clientId);
    if (!owner) return;
    this.#byClient.delete(clientId);
    const owned = this.#byUser.get(owner.username);
    owned?.delete(clientId);
    if (owned?.size === 0) this.#byUser.delete(owner.username);
    this.#sql.del.run(clientId);
  }

  /** Sessions not seen since `before`. */
  seenBefore(before: number): string[] {
    const ids: string[] = [];
    for (const [clientId, owner] of this.#byClient) if (owner.lastSeen < before) ids.push(clientId);
    return ids;
  }

  #set(clientId: string, owner: Owner): void {
    const previous = this.#byClient.get(clientId);
    if (previous && previous.username !== owner.username) this.#byUser.get(previous.username)?.delete(clientId);
    this.#byClient.set(clientId, owner);
    let owned = this.#byUser.get(owner.username);
    if (!owned) this.#byUser.set(owner.username, (owned = new Set()));
    owned.add(clientId);
  }
}
