import { HubError } from '../core/errors.ts';

/** Parses and checks a camera URL: rtsp:// or rtsps:// with a host (`field`: url or subUrl). */
export function parseCameraUrl(raw: string, field = 'url'): URL {
  const invalid = () => new HubError('validation_failed', `body: '${field}' must be an rtsp:// URL`, { location: 'body', field, rule: 'format' });
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid();
  }
  if ((url.protocol !== 'rtsp:' && url.protocol !== 'rtsps:') || !url.hostname) throw invalid();
  return url;
}

/** The URL as people may see it: the password replaced by `***` (the user name stays). */
export function maskUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(invalid url)';
  }
}

/**
 * Removes a URL's secrets from any text (ffmpeg's error lines quote the input URL): the whole
 * URL is replaced by its masked form, and the password is blanked wherever else it appears.
 */
export function redact(text: string, raw: string): string {
  let out = text.split(raw).join(maskUrl(raw));
  try {
    const url = new URL(raw);
    for (const secret of [url.password, decodeURIComponent(url.password)]) {
      if (secret) out = out.split(secret).join('***');
    }
  } catch { /* not a URL: nothing more to hide */ }
  return out;
}
