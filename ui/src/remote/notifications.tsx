import type { PushKey, PushResult, PushSubscriptionBody, PushTest } from '@hearth/model/api';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { ApiError, plainMessage } from '../api/errors.ts';
import { FormError, Spinner } from '../components/form.tsx';
import type { ErrorCode } from '@hearth/model/errors';
import type { ProtocolErrorCode } from '@hearth/protocol/errors';

/** How long the browser's push service may take to hand out a subscription before we say so. */
const SUBSCRIBE_TIMEOUT_MS = 15_000;
/** The app's service worker registers at start (main.tsx); it is ready in well under this. */
const WORKER_TIMEOUT_MS = 10_000;

/** A failure on the browser's side, with the words to show for it. */
class PushProblem extends Error {}

const PROBLEM = {
  unsupported: 'This browser cannot show notifications from a web app.',
  insecure:
    'Notifications need the app opened over https (or on this computer itself): at this address the browser runs no service worker, so it cannot receive them.',
  denied:
    'Notifications are blocked for this site in the browser. Allow them in the browser’s site settings, then turn them on again.',
  dismissed: 'Notifications were not allowed. Turn them on again and choose Allow when the browser asks.',
  noWorker:
    'The app’s background worker is not running, so notifications cannot be received. Reload the page and try again.',
  unreachable:
    'The browser could not reach its push service (it needs the internet). Check the connection and try again.',
} as const;

/**
 * Settings → "Away from home" → notifications for this enrolled browser: subscribes it with the
 * browser's push service (the hub's VAPID key), hands the subscription to the hub, and sends a
 * test. The service worker (public/sw.js) shows what arrives, also with the app closed.
 */
export function Notifications(props: { deviceId: string }) {
  const blocked = problemHere();
  const [subscribed, setSubscribed] = useState<boolean | undefined>(blocked ? false : undefined);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(blocked);
  const [results, setResults] = useState<string[] | null>(null);
  const path = `/remote/devices/${encodeURIComponent(props.deviceId)}/push`;

  useEffect(() => {
    if (blocked) return;
    void navigator.serviceWorker
      .getRegistration()
      .then((reg) => (reg ? reg.pushManager.getSubscription() : null))
      .then(
        (sub) => setSubscribed(sub !== null && Notification.permission === 'granted'),
        () => setSubscribed(false),
      );
  }, [blocked]);

  const run = (label: string, fn: () => Promise<void>) => async () => {
    setBusy(label);
    setError(null);
    setResults(null);
    try {
      await fn();
    } catch (err) {
      setError(words(err));
    } finally {
      setBusy(null);
    }
  };

  const turnOn = run('Turning on notifications', async () => {
    // First, while the click still counts as the person's gesture: browsers ask only then.
    const permission = await Notification.requestPermission();
    if (permission === 'denied') throw new PushProblem(PROBLEM.denied);
    if (permission !== 'granted') throw new PushProblem(PROBLEM.dismissed);
    const reg = await within(navigator.serviceWorker.ready, WORKER_TIMEOUT_MS, PROBLEM.noWorker);
    const { publicKey } = await api<PushKey>('GET', '/remote/push-key');
    const key = fromBase64Url(publicKey);
    let sub = await reg.pushManager.getSubscription();
    // Subscribed earlier for another hub key (the hub's data was reset): that one cannot be used.
    if (sub && !sameBytes(sub.options.applicationServerKey, key)) {
      await sub.unsubscribe().catch(() => false);
      sub = null;
    }
    sub ??= await within(
      reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }),
      SUBSCRIBE_TIMEOUT_MS,
      PROBLEM.unreachable,
    ).catch((err: unknown) => {
      throw subscribeProblem(err);
    });
    // What sub.toJSON() holds, typed: a browser gives both keys (the hub refuses an empty one).
    const { keys } = sub.toJSON();
    await api('PUT', path, {
      endpoint: sub.endpoint,
      expirationTime: sub.expirationTime,
      keys: { p256dh: keys?.p256dh ?? '', auth: keys?.auth ?? '' },
    } satisfies PushSubscriptionBody);
    setSubscribed(true);
  });

  const turnOff = run('Turning off notifications', async () => {
    const reg = await navigator.serviceWorker.getRegistration();
    const sub = await reg?.pushManager.getSubscription();
    await sub?.unsubscribe().catch(() => false);
    await api('DELETE', path);
    setSubscribed(false);
  });

  const test = run('Sending a test notification', async () => {
    const answer = await api<PushTest>('POST', `${path}/test`);
    // The hub has no subscription for this device (never stored, or dropped after the push
    // service said it expired): offer "Turn on" again; a dead one is dropped here too.
    if (answer.results.some((r) => r.status === 404 || r.status === 410)) {
      const reg = await navigator.serviceWorker.getRegistration();
      await (await reg?.pushManager.getSubscription())?.unsubscribe().catch(() => false);
    }
    if (answer.results.length === 0 || answer.results.some((r) => r.status === 404 || r.status === 410))
      setSubscribed(false);
    setResults(
      answer.results.length === 0
        ? ['Not sent: the hub has no notification address for this device. Turn notifications on first.']
        : answer.results.map(resultWords),
    );
  });

  return (
    <div class="notifications" role="group" aria-labelledby="notifications-title">
      <h3 id="notifications-title">Notifications on this device</h3>
      {subscribed === undefined ? (
        <Spinner label="Checking notifications" />
      ) : (
        <p class="muted" role="status">
          {subscribed
            ? 'Notifications are on: rule alerts reach this device, also with the app closed.'
            : 'Notifications are off for this device.'}
        </p>
      )}
      {!blocked && (
        <div class="row">
          {!subscribed && (
            <button type="button" class="primary" disabled={busy !== null} onClick={() => void turnOn()}>
              Turn on notifications
            </button>
          )}
          {subscribed && (
            <button type="button" disabled={busy !== null} onClick={() => void turnOff()}>
              Turn off notifications
            </button>
          )}
          <button type="button" disabled={busy !== null} onClick={() => void test()}>
            Send a test notification
          </button>
          {busy && <Spinner label={busy} />}
        </div>
      )}
      {results && (
        <ul aria-label="Test notification results">
          {results.map((r, i) => (
            <li key={i}>{r}</li>
          ))}
        </ul>
      )}
      <FormError message={error} />
    </div>
  );
}

/** Why this page cannot receive notifications at all, or null when it can try. */
function problemHere(): string | null {
  if (!window.isSecureContext || !('serviceWorker' in navigator)) return PROBLEM.insecure;
  if (!('Notification' in window) || !('PushManager' in window)) return PROBLEM.unsupported;
  return null;
}

function within<T>(promise: Promise<T>, ms: number, problem: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new PushProblem(problem)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err as Error);
      },
    );
  });
}

/** pushManager.subscribe's DOMExceptions in plain words. */
function subscribeProblem(err: unknown): Error {
  if (err instanceof PushProblem) return err;
  const name = (err as { name?: string }).name;
  if (name === 'NotAllowedError') return new PushProblem(PROBLEM.denied);
  // AbortError ("push service not available"), NetworkError, a push service error: unreachable.
  if (name === 'AbortError' || name === 'NetworkError' || name === 'NotSupportedError')
    return new PushProblem(PROBLEM.unreachable);
  return new PushProblem(`The browser could not set up notifications: ${(err as Error).message || String(err)}`);
}

const API_WORDS: Record<string, string> = {
  remote_device_not_found: 'This device is no longer enrolled for remote access. Turn remote access off and on again.',
  relay_not_configured: 'This hub has no relay configured, so it cannot send notifications.',
};

function words(err: unknown): string {
  if (err instanceof PushProblem) return err.message;
  if (err instanceof ApiError) return API_WORDS[err.code] ?? plainMessage(err);
  return plainMessage(err);
}

function resultWords(r: PushResult): string {
  if (r.status !== undefined) {
    if (r.status >= 200 && r.status < 300)
      return 'Sent: the push service accepted it. It should appear on this device in a moment.';
    if (r.status === 404 || r.status === 410)
      return 'Not delivered: the push service says this device’s subscription has expired. Turn notifications on again.';
    if (r.status === 429) return 'Not delivered: the push service is busy (too many requests). Try again in a minute.';
    return `Not delivered: the push service refused it (HTTP ${r.status}).`;
  }
  // The relay protocol's codes or the hub's: a case naming a code that does not exist fails the type check.
  switch (r.code as ProtocolErrorCode | ErrorCode | undefined) {
    case 'relay_offline':
      return 'Not sent: the hub is not connected to the relay right now.';
    case 'push_timeout':
      return 'Not delivered: the push service did not answer in time.';
    case 'push_failed':
      return 'Not delivered: the relay could not reach the push service.';
    case 'push_refused':
      return 'Not sent: the relay refused this device’s push service address.';
    case 'payload_too_large':
      return 'Not sent: the notification is too large.';
    default:
      return `Not delivered (${r.code ?? 'unknown reason'}).`;
  }
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(text.length / 4) * 4, '=');
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function sameBytes(a: ArrayBuffer | null, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.length) return false;
  const x = new Uint8Array(a);
  return x.every((v, i) => v === b[i]);
}
