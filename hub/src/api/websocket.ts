import { setTimeout as sleep } from 'node:timers/promises';
import type { WebSocketServer } from 'ws';

const BEARER_PROTOCOL = 'bearer.';

/**
 * Which subprotocol the server answers with. A browser fails the connection unless the server
 * picks one it offered, so: MQTT's names on /mqtt, otherwise the first offered protocol that is
 * not a token, and the token protocol only when nothing else was offered.
 */
export function chooseSubprotocol(offered: Set<string>): string | false {
  for (const name of ['mqtt', 'mqttv3.1']) if (offered.has(name)) return name;
  const list = [...offered];
  return list.find((p) => !p.startsWith(BEARER_PROTOCOL)) ?? list[0] ?? false;
}

/** The token carried as a `bearer.<token>` subprotocol, if any. */
export function tokenFromSubprotocols(header: string | undefined): string | undefined {
  const bearer = header
    ?.split(',')
    .map((p) => p.trim())
    .find((p) => p.startsWith(BEARER_PROTOCOL));
  return bearer?.slice(BEARER_PROTOCOL.length) || undefined;
}

/**
 * On shutdown every client has been sent a close frame; one that does not answer (stuck, or its
 * network gone) would keep the HTTP server open for ws's 30 s close timeout, past the hub's stop
 * deadline. Real time, not the injected clock: this waits on the network.
 */
export async function terminateStragglers(wss: WebSocketServer, graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  while (wss.clients.size > 0 && Date.now() < deadline) await sleep(20);
  for (const client of wss.clients) client.terminate();
}
