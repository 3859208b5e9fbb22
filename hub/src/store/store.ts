import { join } from 'node:path';
import { openDatabase, type Db } from './db.ts';
import { UsersRepo } from './users-repo.ts';
import { TokensRepo } from './tokens-repo.ts';
import { ApiTokensRepo } from './api-tokens-repo.ts';
import { RoomsRepo } from './rooms-repo.ts';
import { DevicesRepo } from './devices-repo.ts';
import { MqttCredentialsRepo } from './mqtt-credentials-repo.ts';
import { AuditRepo } from './audit-repo.ts';
import { SettingsRepo } from './settings-repo.ts';
import { HandoverRepo } from './handover-repo.ts';
import { SharesRepo } from './shares-repo.ts';
import { PresenceRepo } from './presence-repo.ts';

export const DATABASE_FILE = 'hearth.db';

/** The opened database and one repository per table group. */
export class Store {
  readonly db: Db;
  readonly path: string;
  readonly users: UsersRepo;
  readonly tokens: TokensRepo;
  /** Keys for scripts (auth/api-tokens.ts). */
  readonly apiTokens: ApiTokensRepo;
  readonly rooms: RoomsRepo;
  readonly devices: DevicesRepo;
  readonly mqttCredentials: MqttCredentialsRepo;
  readonly audit: AuditRepo;
  readonly settings: SettingsRepo;
  readonly handover: HandoverRepo;
  /** Devices, rooms, scenes and cameras shared with members and guests (devices/sharing.ts). */
  readonly shares: SharesRepo;
  /** Who is home (devices/presence.ts). */
  readonly presence: PresenceRepo;

  constructor(db: Db, path: string) {
    this.db = db;
    this.path = path;
    this.users = new UsersRepo(db);
    this.tokens = new TokensRepo(db);
    this.apiTokens = new ApiTokensRepo(db);
    this.rooms = new RoomsRepo(db);
    this.devices = new DevicesRepo(db);
    this.mqttCredentials = new MqttCredentialsRepo(db);
    this.audit = new AuditRepo(db);
    this.settings = new SettingsRepo(db);
    this.handover = new HandoverRepo(db);
    this.shares = new SharesRepo(db);
    this.presence = new PresenceRepo(db);
  }

  static open(dataDir: string): Store {
    const path = join(dataDir, DATABASE_FILE);
    return new Store(openDatabase(path), path);
  }

  /** Runs `fn` in one transaction (all or nothing). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    if (this.db.open) {
      try {
        this.audit.flush(); // group-committed audit rows still held
      } catch {
        // a failing disk: nothing more can be kept
      }
      // Fold the WAL back into the main file so a clean stop leaves one self-contained file.
      try {
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        this.db.close();
      }
    }
  }
}
