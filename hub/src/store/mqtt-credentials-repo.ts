import type { Db } from './db.ts';

export type MqttScope = 'device' | 'read' | 'readwrite';

export interface MqttCredentialRow {
  username: string;
  kind: 'device' | 'integration';
  deviceId: string | null;
  secretHash: string;
  scope: MqttScope;
  topics: string[];
  createdAt: number;
  /** Devices: seen on TLS with its PSK, so refused on cleartext (migration 14). New rows: false. */
  tlsOnly?: boolean;
}

interface RawCredential {
  username: string;
  kind: 'device' | 'integration';
  device_id: string | null;
  secret_hash: string;
  scope: MqttScope;
  topics: string;
  created_at: number;
  tls_only: number;
}

const toCredential = (r: RawCredential): MqttCredentialRow => ({
  username: r.username,
  kind: r.kind,
  deviceId: r.device_id,
  secretHash: r.secret_hash,
  scope: r.scope,
  topics: JSON.parse(r.topics),
  createdAt: r.created_at,
  tlsOnly: r.tls_only === 1,
});

export class MqttCredentialsRepo {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  byUsername(username: string): MqttCredentialRow | undefined {
    const row = this.#db.prepare('SELECT * FROM mqtt_credentials WHERE username = ?').get(username) as
      | RawCredential
      | undefined;
    return row && toCredential(row);
  }

  list(kind?: 'device' | 'integration'): MqttCredentialRow[] {
    const rows = kind
      ? (this.#db
          .prepare('SELECT * FROM mqtt_credentials WHERE kind = ? ORDER BY created_at')
          .all(kind) as RawCredential[])
      : (this.#db.prepare('SELECT * FROM mqtt_credentials ORDER BY created_at').all() as RawCredential[]);
    return rows.map(toCredential);
  }

  insert(c: MqttCredentialRow): void {
    this.#db
      .prepare(
        'INSERT INTO mqtt_credentials (username, kind, device_id, secret_hash, scope, topics, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(c.username, c.kind, c.deviceId, c.secretHash, c.scope, JSON.stringify(c.topics), c.createdAt);
  }

  markTlsOnly(username: string): void {
    this.#db.prepare('UPDATE mqtt_credentials SET tls_only = 1 WHERE username = ?').run(username);
  }

  delete(username: string): boolean {
    return this.#db.prepare('DELETE FROM mqtt_credentials WHERE username = ?').run(username).changes > 0;
  }

  deleteForDevice(deviceId: string): number {
    return this.#db.prepare('DELETE FROM mqtt_credentials WHERE device_id = ?').run(deviceId).changes;
  }
}
