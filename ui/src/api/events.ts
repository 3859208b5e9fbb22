import { ensureAccess, refresh, socketUrl } from './client.ts';
import type { HubEvent } from './types.ts';
import { createStore } from '../store.ts';
import { openEventSocket, type EventSocket } from './transport.ts';

export type Link = 'connecting' | 'open' | 'down';

/** Whether the events stream is live; 'down' shows the "hub unreachable" banner. */
export const link = createStore<Link>('connecting');

/**
 * 4401: the hub closes the stream when the access token it was opened with expires, and at once
 * when the user is removed, re-roled or has their password reset (then the refresh fails too).
 */
const CLOSE_UNAUTHORIZED = 4401;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 5000;

/**
 * Keeps one `/api/v1/events` WebSocket open for as long as someone is logged in: reconnects with
 * a growing pause when the hub goes away, refreshes the token when the hub says it expired, and
 * calls `onReady` after every (re)connect so the caller can reload what it missed meanwhile.
 */
export function connectEvents(onEvent: (event: HubEvent) => void, onReady: () => void): () => void {
  let socket: EventSocket | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let retryMs = RETRY_MIN_MS;
  let stopped = false;

  const retry = (delay: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(open, delay);
  };

  async function open(): Promise<void> {
    if (stopped) return;
    let token: string | null;
    try {
      token = await ensureAccess();
    } catch {
      token = null;
    }
    if (stopped) return;
    if (!token) {
      // Either logged out (the app leaves this screen) or the hub is unreachable.
      link.set('down');
      retry(retryMs);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      return;
    }
    const ws = openEventSocket(socketUrl('/events', token), token);
    socket = ws;
    ws.onmessage = (message) => {
      let event: HubEvent;
      try {
        event = JSON.parse(String(message.data)) as HubEvent;
      } catch {
        return;
      }
      if (event.type === 'ready') {
        retryMs = RETRY_MIN_MS;
        link.set('open');
        onReady();
        return;
      }
      onEvent(event);
    };
    ws.onclose = (close) => {
      if (socket !== ws || stopped) return;
      socket = null;
      if (close.code === CLOSE_UNAUTHORIZED) {
        void refresh().finally(() => retry(0));
        return;
      }
      link.set('down');
      retry(retryMs);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    };
  }

  void open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    socket?.close();
    socket = null;
  };
}
