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

export const toBlob = (p: Buffer | string | undefined): Buffer => (p === undefined ? EMPTY : typeof p === 'string' ? Buffer.from(p) : p);

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/**
 * A fresh queue entry from a packet (the shape aedes-persistence's abstract tests expect): the
 * broker's routing fields, a new identity, and no message id yet, one is assigned per delivery
 * [MQTT-2.3.1-1].
 */
export function queueCopy(original: StoredPacket): StoredPacket {
  // Field by field (no key list to loop over): this runs for every QoS > 0 message per session.
  const copy: StoredPacket = { cmd: original.cmd || 'publish' };
  if (hasOwn(original, 'clientId')) copy.clientId = original.clientId;
  if (hasOwn(original, 'nl')) copy.nl = original.nl;
  if (hasOwn(original, 'properties')) copy.properties = original.properties;
  if (hasOwn(original, 'messageExpiry')) copy.messageExpiry = original.messageExpiry;
  copy.brokerId = original.brokerId;
  copy.brokerCounter = original.brokerCounter || 0;
  copy.topic = original.topic;
  copy.payload = original.payload || EMPTY;
  copy.qos = original.qos || 0;
  copy.retain = original.retain || false;
  copy.dup = original.dup || false;
  if (copy.qos > 0 || copy.cmd !== 'publish') copy.messageId = undefined;
  return copy;
}
