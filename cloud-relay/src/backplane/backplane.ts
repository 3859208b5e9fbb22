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
  stop(): Promise<void>;
}
