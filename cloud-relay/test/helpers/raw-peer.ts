import WebSocket from 'ws';
import { fromBase64 } from '@hearth/protocol/encoding';

/**
 * Opens a raw relay peer (no RemoteClient): answers the relay's challenge with `hello(nonce)` and
 * resolves with the first control message after it (ready or error), for tests that play a hub
 * or a device by hand.
 */
export function handshake(
  url: string,
  hello: (nonce: Uint8Array) => unknown,
): Promise<{ ws: WebSocket; answer: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(String(data)) as Record<string, unknown>;
      if (m.type === 'challenge') ws.send(JSON.stringify(hello(fromBase64(m.nonce as string))));
      else resolve({ ws, answer: m });
    });
    ws.once('error', reject);
  });
}
