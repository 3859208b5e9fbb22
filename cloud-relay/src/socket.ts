import type { Clock } from './clock.ts';
import type { RawData, WebSocket } from 'ws';
import { ProtocolError } from '@hearth/protocol/errors';
import { CLOSE, type ControlMessage } from '@hearth/protocol/relay-messages';

/**
 * WebSocket helpers shared by the node and its connections (hub tunnels, device connections):
 * control messages, refusals with their close codes, raw frame data.
 */

/** Calls `undelivered` if a send to another node found nobody there. */
export function ifUndelivered(result: true | Promise<boolean>, undelivered: () => void): void {
  if (result !== true)
    void result.then((delivered) => {
      if (!delivered) undelivered();
    });
}

export function sendControl(ws: WebSocket, message: ControlMessage): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
}

/**
 * Tells the peer why (stable code), then closes with the matching close code; a peer that does
 * not answer the close handshake is cut after a second of `clock`.
 */
export function refuse(ws: WebSocket, code: string, clock: Clock): void {
  sendControl(ws, { type: 'error', code, fatal: true });
  const closeCode =
    code === 'frame_too_large'
      ? CLOSE.tooLarge
      : code === 'rate_limited'
        ? CLOSE.rateLimited
        : code === 'replaced'
          ? CLOSE.replaced
          : code === 'hub_offline'
            ? CLOSE.hubGone
            : CLOSE.refused;
  ws.close(closeCode, code);
  clock.setTimeout(() => ws.terminate(), 1000);
}

/** A control message's text; `limit` bounds it (a hub's state message is the largest). */
export function rawText(data: RawData, limit = 64 * 1024): string {
  const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
  if (buffer.length > limit) throw new ProtocolError('message_too_large', 'control message too large');
  return buffer.toString('utf8');
}

export function rawBytes(data: RawData): Uint8Array {
  return Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

export function utf8Code(code: string): Uint8Array {
  return Buffer.from(code, 'utf8');
}
