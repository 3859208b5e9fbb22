import { filterCovers, topicMatches } from './topics.ts';

/**
 * Topic rules of the hub: the per-credential policies that `authorizePublish` /
 * `authorizeSubscribe` ask (MQTT's own topic syntax and matching are in topics.ts). Pure
 * functions, no broker state.
 *
 * Policies are built once per credential and shared by all of its connections, so a decision
 * cache on the policy serves every connection of that credential (the hot path is
 * `canPublish` on every incoming PUBLISH).
 */

export interface Policy {
  canPublish(topic: string): boolean;
  canSubscribe(filter: string): boolean;
}

const SYS_PREFIX = '$SYS/';

/**
 * A device touches only `hearth/<deviceId>/...`: it publishes its state, telemetry and status
 * there and subscribes to its own cmd/ota topics. Checking a fixed prefix needs no cache.
 */
export function devicePolicy(deviceId: string): Policy {
  const root = `hearth/${deviceId}`;
  const prefix = `${root}/`;
  return {
    canPublish: (topic) => topic.startsWith(prefix) || topic === root,
    // Levels after the prefix may hold wildcards; the device id level itself must be literal.
    canSubscribe: (filter) => filter.startsWith(prefix) || filter === root,
  };
}

/** Above this many distinct topics a policy's decision cache starts over (bounded memory). */
const DECISION_CACHE_SIZE = 1024;

/**
 * An integration user (Home Assistant, Node-RED, scripts): `read` subscribes within its filters
 * and never publishes; `readwrite` also publishes to topics its filters match. `$` topics are
 * reachable only through filters that name them literally; `$SYS` is the broker's own and
 * nobody publishes there.
 */
export function integrationPolicy(scope: 'read' | 'readwrite', filters: readonly string[]): Policy {
  const publishDecisions = new Map<string, boolean>();
  return {
    canPublish(topic) {
      if (scope !== 'readwrite') return false;
      const cached = publishDecisions.get(topic);
      if (cached !== undefined) return cached;
      const allowed = !topic.startsWith(SYS_PREFIX) && filters.some((f) => topicMatches(f, topic));
      if (publishDecisions.size >= DECISION_CACHE_SIZE) publishDecisions.clear();
      publishDecisions.set(topic, allowed);
      return allowed;
    },
    // SUBSCRIBE is rare (per connection, not per message): no cache needed.
    canSubscribe: (filter) => filters.some((f) => filterCovers(f, filter)),
  };
}
