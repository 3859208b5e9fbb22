import { concat, fromUtf8, utf8 } from '@hearth/protocol/encoding';
import { ProtocolError } from '@hearth/protocol/errors';

/**
 * What one relay node sends another over the backplane:
 *   kind (1) | session (4) | origin node length (1) | origin | hub id length (1) | hub id | payload
 * `session` is the id the origin node (where the device is connected) gave the device session.
 */
export const NODE_MSG = {
  /** device node → hub node: a device session opens; payload = device key (base64) */
  OPEN: 1,
  /** device node → hub node: an end-to-end frame from the device */
  TO_HUB: 2,
  /** device node → hub node: the device went away */
  CLOSE_TO_HUB: 3,
  /** hub node → device node: an end-to-end frame from the hub */
  TO_DEVICE: 4,
  /** hub node → device node: the session ended; payload = error code */
  CLOSE_TO_DEVICE: 5,
  /** hub node → device node: one frame was refused (rate limit); payload = error code */
  ERROR_TO_DEVICE: 6,
} as const;

export type NodeMsgKind = (typeof NODE_MSG)[keyof typeof NODE_MSG];

export interface NodeMessage {
  kind: NodeMsgKind;
  session: number;
  origin: string;
  hubId: string;
  payload: Uint8Array;
}

export function encodeNodeMessage(m: NodeMessage): Uint8Array {
  const origin = utf8(m.origin);
  const hub = utf8(m.hubId);
  const head = new Uint8Array(5);
  head[0] = m.kind;
  new DataView(head.buffer).setUint32(1, m.session);
  return concat(head, Uint8Array.of(origin.length), origin, Uint8Array.of(hub.length), hub, m.payload);
}

export function decodeNodeMessage(data: Uint8Array): NodeMessage {
  try {
    const view = new DataView(data.buffer, data.byteOffset, data.length);
    const kind = data[0] as NodeMsgKind;
    const session = view.getUint32(1);
    let at = 5;
    const originLength = data[at++]!;
    const origin = fromUtf8(data.subarray(at, at + originLength));
    at += originLength;
    const hubLength = data[at++]!;
    const hubId = fromUtf8(data.subarray(at, at + hubLength));
    at += hubLength;
    if (at > data.length || kind < 1 || kind > 6) throw new Error('short');
    return { kind, session, origin, hubId, payload: data.subarray(at) };
  } catch {
    throw new ProtocolError('bad_message', 'bad node message');
  }
}
