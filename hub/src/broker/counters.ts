/** Plain counters, bumped on hot paths without allocation, read by `Broker.stats()` for /metrics. */
export class BrokerCounters {
  messagesIn = 0;
  messagesOut = 0;
  refusedConnects = 0;
  refusedPublishes = 0;
  refusedSubscribes = 0;
  /** Subscriptions granted (including those restored with a persistent session). */
  subscriptionsGranted = 0;
  slowClientDisconnects = 0;
  /** Client PUBLISHes dropped to shed load (QoS 0 over a rate budget, or the router full). */
  shedMessages = 0;
  /** Clients disconnected for sending a whole burst beyond their publish budget. */
  rateLimitDisconnects = 0;
  oversizedPackets = 0;
  /** Connections closed on an error (malformed or oversized packet, timeout, too slow). */
  connectionErrors = 0;
  evictedSessions = 0;
  /** Bytes of connections that already closed (live ones are read from their sockets). */
  closedBytesIn = 0;
  closedBytesOut = 0;
}
