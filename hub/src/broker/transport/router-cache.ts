/** The part of qlobber that mqemitter (aedes' message router) uses as its `_matcher`. */
export interface TopicMatcher {
  add(topic: string, value: unknown): unknown;
  remove(topic: string, value?: unknown): unknown;
  match(topic: string): unknown[];
}

/** Distinct topics whose matches are kept; beyond it the cache starts over. */
const MAX_TOPICS = 4096;

/**
 * aedes routes every message through mqemitter, which asks qlobber for the subscribers of the
 * message's topic each time: split the topic into words, walk the trie, build a new array
 * (4 % of the broker's busy time in bench/broker at QoS 1). Devices publish to a few fixed
 * topics each, so the same answer is computed over and over. This keeps the answer per topic
 * until a subscription is added or removed (which clears it: they are rare next to messages).
 *
 * Safe because mqemitter and fastparallel only read the array they get, and a cached array is
 * exactly what qlobber would return while no subscription changed.
 */
export function cacheMatches(matcher: TopicMatcher): void {
  const cache = new Map<string, unknown[]>();
  const match = matcher.match.bind(matcher);
  const add = matcher.add.bind(matcher);
  const remove = matcher.remove.bind(matcher);
  matcher.match = (topic) => {
    let found = cache.get(topic);
    if (found === undefined) {
      found = match(topic);
      if (cache.size >= MAX_TOPICS) cache.clear();
      cache.set(topic, found);
    }
    return found;
  };
  matcher.add = (topic, value) => {
    cache.clear();
    return add(topic, value);
  };
  matcher.remove = (...args: [string, unknown?]) => {
    cache.clear();
    return remove(...args);
  };
}
