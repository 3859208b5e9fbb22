import webpush from 'web-push';
import { HubError } from '../core/errors.ts';
import type { SettingsRepo } from '../store/settings-repo.ts';

const VAPID = 'relay.vapid';
/** RFC 8030 allows 4 KiB of encrypted payload; the JSON we send stays well under. */
const MAX_PAYLOAD = 3000;

export interface PushSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** What the relay is asked to POST: already encrypted for the device (RFC 8291) and VAPID-signed. */
export interface PushRequest {
  endpoint: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * Web Push for remote devices (docs/relay-protocol.md "Notifications"). The hub encrypts each
 * notification for the device's subscription (aes128gcm, RFC 8291) and signs the VAPID header
 * with its own key (made at first start, in settings); the relay only posts the result, so it
 * never holds a notification in clear and cannot make one up.
 */
export class PushSender {
  readonly publicKey: string;
  readonly #privateKey: string;
  readonly #subject: string;

  constructor(settings: SettingsRepo, hubId: string) {
    let keys = settings.get<{ publicKey: string; privateKey: string }>(VAPID);
    if (!keys?.publicKey || !keys.privateKey) {
      keys = webpush.generateVAPIDKeys();
      settings.set(VAPID, keys);
    }
    this.publicKey = keys.publicKey;
    this.#privateKey = keys.privateKey;
    // The contact a push service sees; `.invalid` is reserved, so it reaches no one by accident.
    this.#subject = `mailto:hub-${hubId
      .slice(0, 16)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, 'x')}@hearth.invalid`;
  }

  request(subscription: PushSubscription, payload: unknown): PushRequest {
    const text = JSON.stringify(payload);
    if (text.length > MAX_PAYLOAD) throw new HubError('payload_too_large', 'notification too large');
    const details = webpush.generateRequestDetails(subscription, text, {
      vapidDetails: { subject: this.#subject, publicKey: this.publicKey, privateKey: this.#privateKey },
      contentEncoding: 'aes128gcm',
      TTL: 3600,
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(details.headers)) headers[name.toLowerCase()] = String(value);
    return { endpoint: details.endpoint, headers, body: details.body.toString('base64') };
  }
}

/** Checks a subscription's shape as the browser's PushSubscription.toJSON() gives it. */
export function checkSubscription(input: PushSubscription): PushSubscription {
  let url: URL;
  try {
    url = new URL(input.endpoint);
  } catch {
    throw new HubError('validation_failed', 'endpoint must be a URL', { field: 'endpoint' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new HubError('validation_failed', 'endpoint must be http(s)', { field: 'endpoint' });
  const bytes = (text: string) => Buffer.from(text, 'base64url').length;
  if (bytes(input.keys.p256dh) !== 65)
    throw new HubError('validation_failed', 'p256dh must be a 65-byte P-256 public key', { field: 'keys.p256dh' });
  if (bytes(input.keys.auth) !== 16)
    throw new HubError('validation_failed', 'auth must be 16 bytes', { field: 'keys.auth' });
  return { endpoint: input.endpoint, keys: { p256dh: input.keys.p256dh, auth: input.keys.auth } };
}
