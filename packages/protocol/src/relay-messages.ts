import { concat } from './encoding.ts';
import { ProtocolError } from './errors.ts';

/**
 * What peers and the relay say to each other (docs/relay-protocol.md "Relay"). Control messages
 * are WebSocket text frames holding one JSON object; end-to-end frames are binary.
 *
 * A device connection carries its end-to-end frames as they are. The hub's tunnel carries
 * every device session's frames with the relay's session id in front:
 *   session id (4, big-endian) | end-to-end frame
 */
export type ControlMessage =
  // relay → peer, first thing on every connection
  | { type: 'challenge'; nonce: string }
  // peer → relay: the signed answer; a device names its hub
  | { type: 'hello'; role: 'hub'; hubId: string; sig: string }
  | { type: 'hello'; role: 'device'; hubId: string; key: string; sig: string }
  // relay → peer: authenticated. For a device: is its hub there now?
  | { type: 'ready'; hubOnline?: boolean; offlineSince?: number | null; node?: string }
  // relay → peer: something failed (the connection closes after a fatal one)
  // (`frame`: the counter of the sealed frame it refused, when it refused one)
  | { type: 'error'; code: string; message?: string; fatal?: boolean; frame?: string }
  // relay → hub: a device session opened / closed; hub → relay: close one
  | { type: 'open'; session: number; device: string }
  | { type: 'close'; session: number; code?: string }
  // hub → relay: the signed list of device keys allowed to reach it
  | { type: 'devices'; doc: string; sig: string }
  // hub → relay: the latest sealed state snapshot (opaque to the relay)
  | { type: 'state'; blob: string }
  // device → relay: the last blob; relay → device: it, with the hub's presence
  | { type: 'get_state' }
  | { type: 'state'; blob: string | null; storedAt: number | null; hubOnline: boolean; offlineSince: number | null }
  // hub → relay: POST this Web Push request (encrypted for the device, VAPID-signed by the hub)
  | { type: 'push'; id: number; endpoint: string; headers: Record<string, string>; body: string }
  // relay → hub: what the push service answered (status), or why it was not sent (code)
  | { type: 'push_result'; id: number; status?: number; code?: string }
  // Off-site backups (docs/relay-protocol.md "Off-site backups"): files already sealed with the
  // owner's passphrase, opaque to the relay. hub → relay: piece n (from 0, in order, at most
  // BACKUP_CHUNK_BYTES before base64) of backup `id` of `bytes` in all; relay → hub: stored
  // (`backup_ack`), or refused (`backup_refused`, the upload ends).
  | { type: 'backup_put'; id: string; n: number; bytes: number; data: string; final: boolean }
  | { type: 'backup_ack'; id: string; n: number }
  | { type: 'backup_refused'; id: string; code: string }
  // hub or owner device → relay: the home's backups; relay → it: them and the quota
  | { type: 'backup_list' }
  | {
      type: 'backup_list';
      backups: { id: string; bytes: number; storedAt: number }[];
      quota: { count: number; bytes: number; maxBytes: number };
    }
  // hub → relay: remove one (relay answers backup_list)
  | { type: 'backup_delete'; id: string }
  // owner device → relay: one backup; relay → device: its pieces in order, the last one final
  | { type: 'backup_get'; id: string }
  | { type: 'backup_data'; id: string; n: number; data: string; final: boolean };

/** WebSocket close codes (private range) the relay uses; the reason is the error code. */
export const CLOSE = {
  refused: 4403,
  tooLarge: 4413,
  rateLimited: 4429,
  replaced: 4409,
  hubGone: 4503,
  protocol: 4400,
} as const;

export function parseControl(text: string): ControlMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError('bad_message', 'control message is not JSON');
  }
  if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
    throw new ProtocolError('bad_message', 'control message needs a type');
  }
  return value as ControlMessage;
}

export function tunnelFrame(session: number, frame: Uint8Array): Uint8Array {
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, session);
  return concat(head, frame);
}

export function readTunnelFrame(data: Uint8Array): { session: number; frame: Uint8Array } {
  if (data.length < 5) throw new ProtocolError('bad_message', 'tunnel frame too short');
  return { session: new DataView(data.buffer, data.byteOffset, 4).getUint32(0), frame: data.subarray(4) };
}

/**
 * The device list the hub signs for the relay: which keys may open sessions to it. `seq` only
 * grows (the hub's clock in ms), so the relay can refuse an older list replayed at it.
 */
export interface DeviceListDoc {
  hubId: string;
  seq: number;
  keys: string[];
  /** The keys (of `keys`) whose user is the owner: only they may fetch the off-site backups. */
  owners?: string[];
}
