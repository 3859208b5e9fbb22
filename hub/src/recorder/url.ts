import { HubError } from '../core/errors.ts';

/**
 * C0 and C1 controls, DEL and the Unicode line separators. A line break in a camera URL would
 * end its line in ffmpeg's input list and start another entry there (a local file, `tcp:`), and
 * would split log lines; nothing legitimate in a URL needs one.
 */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function hasControlCharacters(text: string): boolean {
  return CONTROL_CHARACTERS.test(text);
}

/**
 * Parses and checks a camera URL: rtsp:// or rtsps:// with a host and no control characters
 * (`field`: url or subUrl). The URL is checked as given, not as the WHATWG parser would clean it:
 * that parser drops tabs and line breaks, but the stored string is what reaches ffmpeg.
 */
export function parseCameraUrl(raw: string, field = 'url'): URL {
  if (hasControlCharacters(raw)) {
    throw new HubError('validation_failed', `body: '${field}' must not contain control characters or line breaks`, {
      location: 'body',
      field,
      rule: 'control_characters',
    });
  }
  const invalid = () =>
    new HubError('validation_failed', `body: '${field}' must be an rtsp:// URL`, {
      location: 'body',
      field,
      rule: 'format',
    });
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid();
  }
  if ((url.protocol !== 'rtsp:' && url.protocol !== 'rtsps:') || !url.hostname) throw invalid();
  return url;
}

/**
 * Parameter names that carry a secret, compared case-insensitively after percent-decoding:
 * `?user=admin&password=…`, `?pwd=`, `?pass=`, the XMEye path form
 * `/user=admin_password=…_channel=1`, tokens and keys some cameras take instead.
 */
const SECRET_KEY =
  /^(password|passwd|pass|pwd|psw|pw|passphrase|secret|token|access_?token|auth|authkey|api_?key|key|sig|signature)$/i;

/** Where a parameter name may start: after one of these (or at the start of the part). */
const PATH_KEY = /(?:^|[/;&_])([^/?;&_=#]+)=/g;
const QUERY_KEY = /(?:^|[&;_])([^&;_=#]+)=/g;
/** Where a secret value ends: in a path also at the next XMEye-style `_name=` or `/`. */
const PATH_VALUE_END = /[/?;&#]|_[A-Za-z][A-Za-z0-9]*=/g;
const QUERY_VALUE_END = /[&;#]/g;

interface Span {
  start: number;
  end: number;
}

/**
 * Where the secrets are in a camera URL as written: the userinfo password (`user:pass@`, up to
 * the last `@` of the authority, as ffmpeg splits it) and the values of secret parameters in
 * the path and the query. Works on the raw string, so any text shaped like a URL is covered.
 */
function secretSpans(raw: string): Span[] {
  const spans: Span[] = [];
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(raw);
  let rest = 0;
  if (scheme) {
    const start = scheme[0].length;
    const authorityEnd = indexOfAny(raw, '/?#', start);
    const at = raw.lastIndexOf('@', authorityEnd - 1);
    if (at >= start) {
      const colon = raw.indexOf(':', start);
      if (colon !== -1 && colon < at && at > colon + 1) spans.push({ start: colon + 1, end: at });
    }
    rest = authorityEnd;
  }
  const queryAt = raw.indexOf('?', rest);
  const hashAt = raw.indexOf('#', queryAt !== -1 ? queryAt : rest);
  const pathEnd = queryAt !== -1 ? queryAt : hashAt !== -1 ? hashAt : raw.length;
  scanParameters(raw, rest, pathEnd, PATH_KEY, PATH_VALUE_END, spans);
  if (queryAt !== -1)
    scanParameters(raw, queryAt + 1, hashAt > queryAt ? hashAt : raw.length, QUERY_KEY, QUERY_VALUE_END, spans);
  // A fragment is never sent, but people paste URLs with anything in them.
  if (hashAt !== -1) scanParameters(raw, hashAt + 1, raw.length, QUERY_KEY, QUERY_VALUE_END, spans);
  return spans;
}

function scanParameters(raw: string, from: number, to: number, keys: RegExp, valueEnd: RegExp, spans: Span[]): void {
  const part = raw.slice(from, to);
  keys.lastIndex = 0;
  for (let m = keys.exec(part); m; m = keys.exec(part)) {
    if (!SECRET_KEY.test(decoded(m[1]!))) continue;
    const start = m.index + m[0].length;
    valueEnd.lastIndex = start;
    const end = valueEnd.exec(part)?.index ?? part.length;
    if (end > start) spans.push({ start: from + start, end: from + end });
    // Go on after the value; a non-secret value is scanned too (it may hold `_password=`).
    keys.lastIndex = Math.max(end, keys.lastIndex);
  }
}

function indexOfAny(text: string, chars: string, from: number): number {
  for (let i = from; i < text.length; i++) if (chars.includes(text[i]!)) return i;
  return text.length;
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The URL as people may see it: every known credential form replaced by `***` (user names,
 * hosts and other parameters stay, so a person can tell cameras apart). The one masking used for
 * API answers, the audit log and the logs.
 */
export function maskUrl(raw: string): string {
  const spans = secretSpans(raw).sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const s of spans) {
    if (s.start < at) continue;
    out += `${raw.slice(at, s.start)}***`;
    at = s.end;
  }
  return out + raw.slice(at);
}

/** The secrets of a camera URL: as written, percent-decoded and percent-encoded. */
export function urlSecrets(raw: string): string[] {
  const out = new Set<string>();
  for (const s of secretSpans(raw)) {
    const value = raw.slice(s.start, s.end);
    out.add(value);
    out.add(decoded(value));
    out.add(encodeURIComponent(decoded(value)));
  }
  return [...out].filter(Boolean).sort((a, b) => b.length - a.length);
}

/**
 * Removes a URL's secrets from any text (ffmpeg's error lines quote the input URL): the whole
 * URL is replaced by its masked form, and each secret is blanked wherever else it appears.
 */
export function redact(text: string, raw: string): string {
  let out = text.split(raw).join(maskUrl(raw));
  for (const secret of urlSecrets(raw)) out = out.split(secret).join('***');
  return out;
}
