import type { PublishRateLimits } from './publish-budget.ts';

export interface BrokerLimits {
  /**
   * Persistent sessions one device credential may hold (see session-owners.ts). A device uses
   * only its own id, so 1: sessions it left under other ids before that rule go on its next CONNECT.
   */
  sessionsPerDevice: number;
  /** Persistent sessions one integration user may hold. */
  sessionsPerIntegration: number;
  /** A persistent session not seen for this long is dropped. */
  sessionExpiryMs: number;
  /** Distinct retained topics kept. */
  maxRetained: number;
  /** Durability window of the persistence (see persistence/sqlite-persistence.ts). */
  flushMs: number;
  /** Publish rate limits per credential and in all (publish-budget.ts); config `mqtt.publishRates`, whose schema holds the defaults. */
  publishRates: PublishRateLimits;
  /** Largest packet a device may send (integrations: `mqtt.maxPacketBytes`; the smaller applies). */
  devicePacketBytes: number;
  /** Bytes of retained messages per device credential, per integration user and in all (retained-budget.ts); topics: `maxRetained`. */
  retainedBytes: { device: number; integration: number; total: number };
  /** Bytes of messages one session may have queued (offline, or sent and not yet acknowledged); beyond it the oldest are dropped. */
  queuedBytes: { device: number; integration: number };
  /** Bytes one connection may have waiting in its send buffer before it is disconnected as too slow. */
  sendBufferBytes: number;
}

/** The defaults of every limit but the publish rates, which come from the config (`mqtt.publishRates`). */
export const DEFAULT_LIMITS: Omit<BrokerLimits, 'publishRates'> = {
  sessionsPerDevice: 1,
  sessionsPerIntegration: 16,
  sessionExpiryMs: 30 * 24 * 3600_000,
  maxRetained: 100_000,
  flushMs: 5,
  // A plug's messages are a few hundred bytes; a DIY device's JSON a few KiB at most.
  devicePacketBytes: 64 * 1024,
  retainedBytes: { device: 64 * 1024, integration: 4 * 1024 * 1024, total: 64 * 1024 * 1024 },
  // Commands and OTA chunks (4 KiB each, a few in flight) for a device; integrations subscribe widely.
  queuedBytes: { device: 1024 * 1024, integration: 16 * 1024 * 1024 },
  sendBufferBytes: 16 * 1024 * 1024,
};
