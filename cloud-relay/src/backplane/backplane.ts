/**
 * Everything a relay node shares with the others: presence (hub id → node), cross-node
 * delivery, the hubs' signed device lists and their sealed state blobs. `LocalBackplane` is the
 * one-node embedded default (memory and SQLite); `RedisBackplane` lets any number of nodes share
 * it. Nothing in here can be read by the relay: device lists are public keys, blobs are sealed.
 */
export interface Presence {
  node: string | null;
  /** When the hub's last tunnel closed (ms), null if never seen or online. */
  offlineSince: number | null;
}

export interface SignedDeviceList {
  doc: string;
  sig: string;
}

export interface StoredState {
  blob: string;
  storedAt: number;
}

/** A home's off-site backup as the relay keeps it: sealed by the owner's passphrase, opaque here. */
export interface StoredBackup {
  id: string;
  bytes: number;
  /** Pieces it was stored in (each at most `BACKUP_CHUNK_BYTES`). */
  chunks: number;
  storedAt: number;
}

export interface Backplane {
  readonly nodeId: string;
  /** Starts receiving messages other nodes (or this one) send to this node. */
  start(deliver: (message: Uint8Array) => void): Promise<void>;
  /** false when no node is listening under that id (it died): the caller treats the hub as gone. */
  send(node: string, message: Uint8Array): Promise<boolean>;
  claimHub(hubId: string): Promise<void>;
  releaseHub(hubId: string, at: number): Promise<void>;
  locateHub(hubId: string): Promise<Presence>;
  /** Called when another node took a hub whose tunnel this node holds (the newest tunnel wins). */
  onPresenceLost: (hubId: string) => void;
  getDevices(hubId: string): Promise<SignedDeviceList | null>;
  setDevices(hubId: string, list: SignedDeviceList): Promise<void>;
  getState(hubId: string): Promise<StoredState | null>;
  setState(hubId: string, state: StoredState): Promise<void>;
  /** The home's complete off-site backups (pieces of one still being stored are not listed). */
  listBackups(hubId: string): Promise<StoredBackup[]>;
  /**
   * One piece of a backup being stored. Pieces of an upload that never completes expire
   * (`BACKUP_PENDING_TTL_S`); `commitBackup` makes them permanent and lists the backup.
   */
  putBackupChunk(hubId: string, id: string, n: number, data: Uint8Array): Promise<void>;
  commitBackup(hubId: string, backup: StoredBackup): Promise<void>;
  getBackupChunk(hubId: string, id: string, n: number): Promise<Uint8Array | null>;
  /** Removes a backup and its pieces (`chunks`: how many to remove, complete or not). */
  deleteBackup(hubId: string, id: string, chunks: number): Promise<void>;
  stop(): Promise<void>;
}

/** Largest piece of a backup in one message (before base64); the relay holds one at a time. */
export const BACKUP_CHUNK_BYTES = 64 * 1024;
/** Pieces of an upload that stopped before its last piece are dropped after this. */
export const BACKUP_PENDING_TTL_S = 3600;
