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
  /** The secret may have crossed the LAN in clear (migration 17). New rows: false. */
  exposed?: boolean;
  /** SHA-256 (hex) of a new secret sent to the device and not yet confirmed by a connection. */
  nextSecretHash?: string | null;
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
  exposed: number;
  next_secret_hash: string | null;
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
  exposed: r.exposed === 1,
  nextSecretHash: r.next_secret_hash,
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
        'INSERT INTO mqtt_credentials (username, kind, device_id, secret_hash, scope, topics, created_at, exposed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        c.username,
        c.kind,
        c.deviceId,
        c.secretHash,
        c.scope,
        JSON.stringify(c.topics),
        c.createdAt,
        c.exposed ? 1 : 0,
      );
  }

  markExposed(username: string): void {
    this.#db.prepare('UPDATE mqtt_credentials SET exposed = 1 WHERE username = ?').run(username);
  }

  /** Records the digest of a new secret on its way to the device (replacing any earlier one). */
  setNextSecret(username: string, hash: string | null): void {
    this.#db.prepare('UPDATE mqtt_credentials SET next_secret_hash = ? WHERE username = ?').run(hash, username);
  }

  /**
   * The new secret connected: it becomes the secret, the old one is gone, and it never crossed
   * in clear. False if no new secret was pending (nothing changed).
   */
  promoteNextSecret(username: string): boolean {
    return (
      this.#db
        .prepare(
          'UPDATE mqtt_credentials SET secret_hash = next_secret_hash, next_secret_hash = NULL, exposed = 0, tls_only = 1 ' +
            'WHERE username = ? AND next_secret_hash IS NOT NULL',
        )
        .run(username).changes > 0
    );
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
