import type { Clock } from '../clock.ts';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  BACKUP_PENDING_TTL_S,
  type Backplane,
  type Presence,
  type SignedDeviceList,
  type StoredBackup,
  type StoredState,
} from './backplane.ts';

/**
 * One relay node on its own: presence in memory (a hub is online exactly while its tunnel is
 * open here), device lists, blobs and "offline since" in one SQLite file so a restarted relay
 * still answers with the last-known state.
 */
export class LocalBackplane implements Backplane {
  readonly nodeId = 'local';
  readonly #db: Database.Database;
  readonly #online = new Set<string>();
  #deliver: ((message: Uint8Array) => void) | undefined;
  /** One node: nobody else can take a hub. */
  onPresenceLost: (hubId: string) => void = () => {};

  readonly #clock: Clock;

  constructor(dataDir: string, clock: Clock) {
    this.#clock = clock;
    mkdirSync(dataDir, { recursive: true });
    this.#db = new Database(join(dataDir, 'relay.db'));
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS hubs (
        hub_id TEXT PRIMARY KEY,
        devices TEXT,            -- JSON {doc, sig}: the hub's signed device list
        blob TEXT,               -- base64 sealed snapshot, opaque here
        stored_at INTEGER,
        offline_since INTEGER
      ) STRICT;
      CREATE TABLE IF NOT EXISTS backup_chunks (
        hub_id TEXT NOT NULL, backup_id TEXT NOT NULL, n INTEGER NOT NULL,
        data BLOB NOT NULL,
        expires_at INTEGER,      -- until the backup is complete; NULL after
        PRIMARY KEY (hub_id, backup_id, n)
      ) STRICT;
      CREATE TABLE IF NOT EXISTS backups (
        hub_id TEXT NOT NULL, backup_id TEXT NOT NULL, info TEXT NOT NULL,
        PRIMARY KEY (hub_id, backup_id)
      ) STRICT;
    `);
  }

  async start(deliver: (message: Uint8Array) => void): Promise<void> {
    this.#deliver = deliver;
  }

  async send(node: string, message: Uint8Array): Promise<boolean> {
    if (node !== this.nodeId || !this.#deliver) return false;
    this.#deliver(message);
    return true;
  }

  async claimHub(hubId: string): Promise<void> {
    this.#online.add(hubId);
  }

  async releaseHub(hubId: string, at: number): Promise<void> {
    this.#online.delete(hubId);
    this.#upsert(hubId, 'offline_since', at);
  }

  async locateHub(hubId: string): Promise<Presence> {
    if (this.#online.has(hubId)) return { node: this.nodeId, offlineSince: null };
    const row = this.#db.prepare('SELECT offline_since FROM hubs WHERE hub_id = ?').get(hubId) as
      | { offline_since: number | null }
      | undefined;
    return { node: null, offlineSince: row?.offline_since ?? null };
  }

  async getDevices(hubId: string): Promise<SignedDeviceList | null> {
    const row = this.#db.prepare('SELECT devices FROM hubs WHERE hub_id = ?').get(hubId) as
      | { devices: string | null }
      | undefined;
    return row?.devices ? (JSON.parse(row.devices) as SignedDeviceList) : null;
  }

  async setDevices(hubId: string, list: SignedDeviceList): Promise<void> {
    this.#upsert(hubId, 'devices', JSON.stringify(list));
  }

  async getState(hubId: string): Promise<StoredState | null> {
    const row = this.#db.prepare('SELECT blob, stored_at FROM hubs WHERE hub_id = ?').get(hubId) as
      | { blob: string | null; stored_at: number | null }
      | undefined;
    return row?.blob && row.stored_at !== null ? { blob: row.blob, storedAt: row.stored_at } : null;
  }

  async setState(hubId: string, state: StoredState): Promise<void> {
    this.#db
      .prepare(
        'INSERT INTO hubs (hub_id, blob, stored_at) VALUES (?, ?, ?) ON CONFLICT (hub_id) DO UPDATE SET blob = excluded.blob, stored_at = excluded.stored_at',
      )
      .run(hubId, state.blob, state.storedAt);
  }

  async listBackups(hubId: string): Promise<StoredBackup[]> {
    const rows = this.#db.prepare('SELECT info FROM backups WHERE hub_id = ?').pluck().all(hubId) as string[];
    return rows
      .map((r) => JSON.parse(r) as StoredBackup)
      .sort((a, b) => a.storedAt - b.storedAt || a.id.localeCompare(b.id));
  }

  async putBackupChunk(hubId: string, id: string, n: number, data: Uint8Array): Promise<void> {
    const now = this.#clock.now();
    this.#db.prepare('DELETE FROM backup_chunks WHERE expires_at IS NOT NULL AND expires_at < ?').run(now);
    this.#db
      .prepare('INSERT OR REPLACE INTO backup_chunks (hub_id, backup_id, n, data, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(hubId, id, n, data, now + BACKUP_PENDING_TTL_S * 1000);
  }

  async commitBackup(hubId: string, backup: StoredBackup): Promise<void> {
    this.#db.transaction(() => {
      this.#db
        .prepare('UPDATE backup_chunks SET expires_at = NULL WHERE hub_id = ? AND backup_id = ?')
        .run(hubId, backup.id);
      this.#db
        .prepare('INSERT OR REPLACE INTO backups (hub_id, backup_id, info) VALUES (?, ?, ?)')
        .run(hubId, backup.id, JSON.stringify(backup));
    })();
  }

  async getBackupChunk(hubId: string, id: string, n: number): Promise<Uint8Array | null> {
    const data = this.#db
      .prepare('SELECT data FROM backup_chunks WHERE hub_id = ? AND backup_id = ? AND n = ?')
      .pluck()
      .get(hubId, id, n) as Buffer | undefined;
    return data ? new Uint8Array(data.buffer, data.byteOffset, data.length) : null;
  }

  async deleteBackup(hubId: string, id: string): Promise<void> {
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM backups WHERE hub_id = ? AND backup_id = ?').run(hubId, id);
      this.#db.prepare('DELETE FROM backup_chunks WHERE hub_id = ? AND backup_id = ?').run(hubId, id);
    })();
  }

  async stop(): Promise<void> {
    this.#db.close();
  }

  #upsert(hubId: string, column: 'devices' | 'offline_since', value: string | number): void {
    this.#db
      .prepare(
        `INSERT INTO hubs (hub_id, ${column}) VALUES (?, ?) ON CONFLICT (hub_id) DO UPDATE SET ${column} = excluded.${column}`,
      )
      .run(hubId, value);
  }
}
