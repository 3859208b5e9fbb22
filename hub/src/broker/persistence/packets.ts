/** A packet as the persistence holds it: the fields aedes reads, plus whatever the caller set. */
export interface StoredPacket {
  cmd: string;
  topic?: string;
  payload?: Buffer | string;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
  clientId?: string;
  [key: string]: unknown;
}

export interface WillPacket {
  topic: string;
  payload: Buffer | string;
  qos?: number;
  retain?: boolean;
  brokerId?: string;
  clientId?: string;
  [key: string]: unknown;
}

export const EMPTY = Buffer.alloc(0);

export const toBlob = (p: Buffer | string | undefined): Buffer =>
  p === undefined ? EMPTY : typeof p === 'string' ? Buffer.from(p) : p;

/**
 * A fresh queue entry from a packet (the shape aedes-persistence's abstract tests expect): the
 * broker's routing fields, a new identity, and no message id yet, one is assigned per delivery
 * [MQTT-2.3.1-1].
 */
export function queueCopy(original: StoredPacket): StoredPacket {
  // This runs for every QoS > 0 message per session: one object literal with the fields every
  // packet has (one hidden class), then the rare optional ones. `in` rather than hasOwnProperty:
  // packets are plain objects or aedes' Packet, whose prototype has none of these names.
  const copy: StoredPacket = {
    cmd: original.cmd || 'publish',
    brokerId: original.brokerId,
    brokerCounter: original.brokerCounter || 0,
    topic: original.topic,
    payload: original.payload || EMPTY,
    qos: original.qos || 0,
    retain: original.retain || false,
    dup: original.dup || false,
  };
  if ('clientId' in original) copy.clientId = original.clientId;
  if ('nl' in original) copy.nl = original.nl;
  if ('properties' in original) copy.properties = original.properties;
  if ('messageExpiry' in original) copy.messageExpiry = original.messageExpiry;
  if (copy.qos! > 0 || copy.cmd !== 'publish') copy.messageId = undefined;
  return copy;
}
