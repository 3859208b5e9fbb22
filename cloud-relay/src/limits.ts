/** Per-node limits (flags of `npm run relay`, docs/relay-protocol.md "Limits"). */
export interface RelayLimits {
  /** Largest binary frame a peer may send; bigger: `frame_too_large`, connection closed. */
  maxFrameBytes: number;
  /** Frames per second a device connection may send (token bucket) before `rate_limited`. */
  deviceRatePerS: number;
  deviceBurst: number;
  /** Frames per second all of a hub's devices together may send it, counted where the hub is. */
  hubRatePerS: number;
  hubBurst: number;
  /**
   * Frames per second a hub may send its devices (all sessions together): a hub whose key was
   * stolen cannot make the node spend its time on one home. Over it: dropped, `rate_limited`.
   */
  hubOutRatePerS: number;
  hubOutBurst: number;
  /** New tunnels a hub may open per minute (the newest live one wins): `too_many_tunnels`. */
  tunnelsPerHubPerMin: number;
  /** Device sessions open at once towards one hub: `too_many_sessions`. */
  sessionsPerHub: number;
  /** Largest sealed state blob a hub may store. */
  maxStateBytes: number;
  /** Web Push requests a hub may have the relay post per minute: `rate_limited`. */
  pushesPerHubPerMin: number;
  /**
   * Off-site backups per home (docs/relay-protocol.md "Off-site backups"): how many and how many
   * bytes together (`backup_quota_exceeded`), and the largest one (`backup_too_large`).
   */
  backupsPerHub: number;
  backupBytesPerHub: number;
  maxBackupBytes: number;
  /** Tests only: push endpoints may be http:// on loopback. */
  pushAllowLoopback: boolean;
}

export const DEFAULT_LIMITS: RelayLimits = {
  maxFrameBytes: 128 * 1024,
  deviceRatePerS: 100,
  deviceBurst: 200,
  hubRatePerS: 400,
  hubBurst: 800,
  hubOutRatePerS: 2000,
  hubOutBurst: 4000,
  tunnelsPerHubPerMin: 12,
  sessionsPerHub: 64,
  maxStateBytes: 512 * 1024,
  pushesPerHubPerMin: 60,
  backupsPerHub: 3,
  backupBytesPerHub: 1024 * 1024 * 1024,
  maxBackupBytes: 512 * 1024 * 1024,
  pushAllowLoopback: false,
};
