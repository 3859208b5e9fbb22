/**
 * MQTT 3.1.1's topic rules: which topic names and filters are valid, and which filter matches
 * which topic. Pure functions of the spec, no hub policy: the ACLs (acl.ts), the hooks and the
 * persistence (persistence/) all use them.
 */

/** A topic name a client may PUBLISH to: non-empty, no wildcards, no NUL [MQTT-3.3.2-2], [MQTT-4.7.3-1]. */
export function isValidTopicName(topic: string): boolean {
  if (topic.length === 0 || topic.length > 65535) return false;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x23 /* # */ || c === 0x2b /* + */ || c === 0) return false;
  }
  return true;
}

/** A topic filter: `#` only as a whole last level, `+` only as a whole level [MQTT-4.7.1-2], [MQTT-4.7.1-3]. */
export function isValidTopicFilter(filter: string): boolean {
  if (filter.length === 0 || filter.length > 65535 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return false;
    if (level.includes('+') && level !== '+') return false;
  }
  return true;
}

/**
 * Whether `filter` matches `topic` (a topic name). A filter starting with a wildcard does not
 * match topics starting with `$` [MQTT-4.7.2-1]; `a/#` matches `a` itself [MQTT-4.7.1-2].
 */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.charCodeAt(0) === 0x24 /* $ */ && (f[0] === '#' || f[0] === '+')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * Whether every topic matched by `inner` is also matched by `outer` (both filters): used to
 * decide if a requested subscription stays within a credential's allowed filters.
 */
export function filterCovers(outer: string, inner: string): boolean {
  const o = outer.split('/');
  const n = inner.split('/');
  // A wildcard first level never reaches `$` topics, so it cannot cover a `$` filter.
  if (inner.charCodeAt(0) === 0x24 && (o[0] === '#' || o[0] === '+')) return false;
  for (let i = 0; i < o.length; i++) {
    const level = o[i]!;
    if (level === '#') return true;
    if (i >= n.length) return false;
    const want = n[i]!;
    if (want === '#') return false;
    if (level === '+') continue;
    if (want === '+' || want !== level) return false;
  }
  return o.length === n.length;
}
