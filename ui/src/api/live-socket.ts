import { socketUrl } from './client.ts';
import { connection, relayError, relaySession } from './transport.ts';

/**
 * A camera's live view, LAN or relay, in the shape of the WebSocket the player reads: binary
 * messages (the init segment, then one fMP4 fragment each) and a close with the LAN socket's
 * code. On the LAN it is that WebSocket (`/api/v1/cameras/:id/live`); in remote mode a LIVE
 * stream through the end-to-end session (docs/relay-protocol.md "Live view"), whose credit the
 * client returns as it receives; the hub drops to the next keyframe when this browser falls behind.
 */
export interface LiveSocket {
  onmessage: ((event: { data: ArrayBuffer }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  close(): void;
}

/** The LAN socket's close codes for the relay's error codes. */
function closeCode(code: string | null): number {
  if (code === null) return 1013; // the camera's stream stopped: the LAN closes "too slow or stopped"
  if (code === 'unauthorized' || code === 'token_expired') return 4401;
  if (code === 'forbidden' || code === 'remote_user_mismatch') return 4403;
  if (code === 'camera_not_found') return 4404;
  return 1006;
}

export function openLiveSocket(cameraId: string, token: string, stream?: 'main' | 'sub'): LiveSocket {
  const path = `/cameras/${encodeURIComponent(cameraId)}/live${stream ? `?stream=${stream}` : ''}`;
  if (connection.get().mode === 'lan') {
    const ws = new WebSocket(socketUrl(path, token));
    ws.binaryType = 'arraybuffer';
    return ws as unknown as LiveSocket;
  }
  let closed = false;
  let handle: { close(): void } | null = null;
  const socket: LiveSocket = {
    onmessage: null,
    onclose: null,
    close: () => {
      closed = true;
      handle?.close();
    },
  };
  const end = (code: string | null) => {
    if (!closed) socket.onclose?.({ code: closeCode(code), reason: code ?? 'stopped' });
    closed = true;
  };
  relaySession()
    .then((session) =>
      session.live(
        token,
        cameraId,
        (data) => {
          if (closed) return;
          // A copy the player may keep: MSE takes an ArrayBuffer.
          socket.onmessage?.({ data: data.slice().buffer as ArrayBuffer });
        },
        end,
        stream,
      ),
    )
    .then(
      (h) => {
        if (closed) h.close();
        else handle = h;
      },
      (err: unknown) => end(relayError(err).code),
    );
  return socket;
}
