import { clusterCommandEffect, clusterResponse } from './zcl-effects.ts';
import { ieeeToLe, u16, u8 } from './zstack-mt.ts';

/**
 * The Zigbee devices the emulated Z-Stack coordinator (zstack-coordinator.ts) hosts: a mains
 * router like a plug, or a battery end device like a sensor, with their ZCL attributes, and what
 * their firmware does with a ZCL frame: reads, writes (the IAS CIE address...), configure
 * reporting (then a report of the configured attributes), On/Off with a default response and an
 * attribute report (as a real smart plug does), colour and window covering commands
 * (zcl-effects.ts), IAS zone enrollment; a device can be told to
 * refuse cluster commands or go silent. ZCL frames are built here byte by byte.
 */

export interface ZclFrame {
  frameControl: number;
  manufacturerCode?: number;
  tsn: number;
  commandId: number;
  payload: Buffer;
  /** Cluster-specific (On, Off...) rather than a global command (read, report...). */
  clusterSpecific: boolean;
}

/** What the hub sent to a device, as the radio would carry it. */
export interface SentToDevice {
  nwkAddr: number;
  endpoint: number;
  clusterId: number;
  zcl: ZclFrame;
}

export interface EmulatedDeviceSpec {
  ieee: string; // 16 hex digits, e.g. '00124b0012345678'
  nwkAddr: number;
  manufacturerName: string;
  modelId: string;
  manufacturerCode?: number;
  endpoint?: number;
  deviceId?: number;
  inClusters: number[];
  outClusters?: number[];
  /** A sleepy battery end device (a sensor) instead of a mains-powered router (a plug). */
  endDevice?: boolean;
  /** Initial attribute values by cluster: {[clusterId]: {[attrId]: {type, value}}} */
  attributes?: Record<number, Record<number, ZclValue>>;
}

export interface ZclValue {
  type: number; // ZCL data type: 0x10 bool, 0x20 uint8, 0x21 uint16, 0x23 uint32, 0x25 uint48, 0x29 int16, 0x30 enum8, 0x42 string
  value: number | boolean | string;
}

export interface JoinedNetwork {
  channel: number;
  panId: number;
  /** Hex, most significant byte first. */
  extendedPanId: string;
  networkKey: string;
  trustCenter: string;
}

export function sameNetwork(a: JoinedNetwork | undefined, b: JoinedNetwork | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.channel === b.channel &&
    a.panId === b.panId &&
    a.extendedPanId === b.extendedPanId &&
    a.networkKey === b.networkKey &&
    a.trustCenter === b.trustCenter
  );
}

export class EmulatedDevice {
  readonly spec: Required<Pick<EmulatedDeviceSpec, 'endpoint' | 'deviceId' | 'manufacturerCode' | 'outClusters'>> &
    EmulatedDeviceSpec;
  readonly attributes = new Map<number, Map<number, ZclValue>>();
  /** A silent device (out of range, unplugged) answers nothing, neither ZDO nor ZCL. */
  silent = false;
  /** Set when the hub told it to leave. */
  left = false;
  /** A ZCL status (e.g. 0x01 FAILURE) the device answers cluster commands with instead of obeying. */
  refuseWith: number | undefined;
  /**
   * The network the device joined, as its firmware keeps it: channel, PAN id, extended PAN id,
   * network key and the trust center's IEEE address. It hears and is heard by a coordinator only
   * on that network (zstack-coordinator.ts); a new coordinator must take it over to reach it.
   */
  network: JoinedNetwork | undefined;
  /**
   * The highest NWK frame counter the device accepted from the coordinator: a frame with a
   * counter not above it is a replay to the device's NWK security and is dropped (Zigbee's
   * incoming frame counter check). Why a restored coordinator must start above the old one's.
   */
  frameCounterSeen = -1;
  constructor(spec: EmulatedDeviceSpec) {
    this.spec = {
      endpoint: 1,
      deviceId: spec.endDevice ? 0x0302 : 0x0051,
      manufacturerCode: 0x1234,
      outClusters: [],
      ...spec,
    };
    for (const [cluster, attrs] of Object.entries(spec.attributes ?? {})) {
      this.attributes.set(Number(cluster), new Map(Object.entries(attrs).map(([id, v]) => [Number(id), v])));
    }
    const basic = this.#cluster(0x0000);
    basic.set(0x0000, { type: 0x20, value: 3 });
    basic.set(0x0004, { type: 0x42, value: spec.manufacturerName });
    basic.set(0x0005, { type: 0x42, value: spec.modelId });
    basic.set(0x0007, { type: 0x30, value: spec.endDevice ? 3 : 1 }); // battery / mains, single phase
  }

  #cluster(id: number): Map<number, ZclValue> {
    let c = this.attributes.get(id);
    if (!c) this.attributes.set(id, (c = new Map()));
    return c;
  }

  set(cluster: number, attr: number, value: ZclValue): void {
    this.#cluster(cluster).set(attr, value);
  }

  get(cluster: number, attr: number): ZclValue | undefined {
    return this.attributes.get(cluster)?.get(attr);
  }

  /**
   * What a plug's (or sensor's) firmware does with a ZCL frame from the hub: `reply` sends a frame
   * back on the same cluster, `report` reports current attribute values (the coordinator
   * delivers both as AF incoming messages).
   */
  handle(
    sent: SentToDevice,
    reply: (data: Buffer) => void,
    report: (clusterId: number, attrIds: number[]) => void,
  ): void {
    const { zcl, clusterId } = sent;
    if (!zcl.clusterSpecific) {
      if (zcl.commandId === 0x00) {
        // read attributes
        const parts: Buffer[] = [];
        for (let i = 0; i + 1 < zcl.payload.length; i += 2) {
          const id = zcl.payload.readUInt16LE(i);
          const v = this.get(clusterId, id);
          parts.push(
            v ? Buffer.concat([u16(id), u8(0), u8(v.type), encodeZclValue(v)]) : Buffer.concat([u16(id), u8(0x86)]),
          );
        }
        return reply(zclFromDevice(zcl.tsn, 0x01, Buffer.concat(parts)));
      }
      if (zcl.commandId === 0x02) {
        // write attributes: stored (the IAS CIE address...), all written
        for (let i = 0; i + 3 <= zcl.payload.length; ) {
          const id = zcl.payload.readUInt16LE(i);
          const type = zcl.payload[i + 2]!;
          const size = (
            { 0x10: 1, 0x18: 1, 0x20: 1, 0x21: 2, 0x23: 4, 0x29: 2, 0x30: 1, 0x31: 2, 0xf0: 8 } as Record<
              number,
              number
            >
          )[type];
          if (size === undefined) break;
          const raw = zcl.payload.subarray(i + 3, i + 3 + size);
          this.set(clusterId, id, {
            type,
            value: type === 0xf0 ? Buffer.from(raw).reverse().toString('hex') : raw.readUIntLE(0, size),
          });
          i += 3 + size;
        }
        return reply(zclFromDevice(zcl.tsn, 0x04, u8(0)));
      }
      if (zcl.commandId === 0x06) {
        // configure reporting: accept, then report the current values
        reply(zclFromDevice(zcl.tsn, 0x07, u8(0)));
        const attrs = configuredAttributes(zcl.payload).filter((id) => this.get(clusterId, id));
        if (attrs.length > 0) setTimeout(() => report(clusterId, attrs), 20);
        return;
      }
      if (!(zcl.frameControl & 0x10)) reply(zclFromDevice(zcl.tsn, 0x0b, Buffer.from([zcl.commandId, 0x82])));
      return;
    }
    if (this.refuseWith !== undefined) {
      reply(zclFromDevice(zcl.tsn, 0x0b, Buffer.from([zcl.commandId, this.refuseWith])));
      return;
    }
    if (clusterId === 0x0500 && zcl.commandId === 0x00) {
      // IAS zone enroll response: enrolled now
      this.set(0x0500, 0x0000, { type: 0x30, value: 1 });
      return;
    }
    if (clusterId === 0x0006 && zcl.commandId <= 0x02) {
      const current = Boolean(this.get(0x0006, 0)?.value);
      const next = zcl.commandId === 0x02 ? !current : zcl.commandId === 0x01;
      this.set(0x0006, 0, { type: 0x10, value: next });
      if (!(zcl.frameControl & 0x10)) reply(zclFromDevice(zcl.tsn, 0x0b, Buffer.from([zcl.commandId, 0x00])));
      report(0x0006, [0x0000]);
      return;
    }
    const effect = this.attributes.has(clusterId)
      ? clusterCommandEffect(clusterId, zcl.commandId, zcl.payload)
      : undefined;
    if (effect) {
      // A colour bulb or a blind (zcl-effects.ts): set, confirmed, then reported.
      for (const [attr, value] of effect) this.set(clusterId, attr, value);
      const response = clusterResponse(clusterId, zcl.commandId);
      if (response) reply(zclFromDevice(zcl.tsn, zcl.commandId, response, true));
      else if (!(zcl.frameControl & 0x10)) reply(zclFromDevice(zcl.tsn, 0x0b, Buffer.from([zcl.commandId, 0x00])));
      if (effect.length > 0) report(clusterId, [...new Set(effect.map(([attr]) => attr))]);
      return;
    }
    if (!(zcl.frameControl & 0x10)) reply(zclFromDevice(zcl.tsn, 0x0b, Buffer.from([zcl.commandId, 0x81]))); // unsupported cluster command
  }
}

// ---- ZCL ------------------------------------------------------------------------------------------

export function parseZcl(data: Buffer): ZclFrame {
  const frameControl = data[0]!;
  let pos = 1;
  let manufacturerCode: number | undefined;
  if (frameControl & 0x04) {
    manufacturerCode = data.readUInt16LE(pos);
    pos += 2;
  }
  const tsn = data[pos]!;
  const commandId = data[pos + 1]!;
  return {
    frameControl,
    ...(manufacturerCode !== undefined ? { manufacturerCode } : {}),
    tsn,
    commandId,
    payload: data.subarray(pos + 2),
    clusterSpecific: (frameControl & 0x03) === 1,
  };
}

export function encodeZclValue(v: ZclValue): Buffer {
  switch (v.type) {
    case 0x10:
      return Buffer.from([v.value ? 1 : 0]);
    case 0x20:
    case 0x30:
    case 0x18:
      return Buffer.from([Number(v.value) & 0xff]);
    case 0x21:
    case 0x31:
    case 0x19: {
      const b = Buffer.alloc(2);
      b.writeUInt16LE(Number(v.value));
      return b;
    }
    case 0x29: {
      const b = Buffer.alloc(2);
      b.writeInt16LE(Number(v.value));
      return b;
    }
    case 0x22: {
      const b = Buffer.alloc(3);
      b.writeUIntLE(Number(v.value), 0, 3);
      return b;
    }
    case 0x23: {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(Number(v.value));
      return b;
    }
    case 0x25: {
      const b = Buffer.alloc(6);
      b.writeUIntLE(Number(v.value), 0, 6);
      return b;
    }
    case 0x2b: {
      const b = Buffer.alloc(4);
      b.writeInt32LE(Number(v.value));
      return b;
    }
    case 0x42: {
      const s = Buffer.from(String(v.value), 'utf8');
      return Buffer.concat([Buffer.from([s.length]), s]);
    }
    case 0xf0:
      return ieeeToLe(String(v.value)); // IEEE address
    default:
      throw new Error(`emulator: ZCL type 0x${v.type.toString(16)} not supported`);
  }
}

/** A ZCL frame from a device to the coordinator (server → client, default response disabled). */
export function zclFromDevice(tsn: number, commandId: number, payload: Buffer, clusterSpecific = false): Buffer {
  const fc = (clusterSpecific ? 0x01 : 0x00) | 0x08 | 0x10;
  return Buffer.concat([Buffer.from([fc, tsn & 0xff, commandId]), payload]);
}

export function zclReport(tsn: number, attrs: Array<[number, ZclValue]>): Buffer {
  return zclFromDevice(
    tsn,
    0x0a,
    Buffer.concat(
      attrs.map(([id, v]) => {
        const head = Buffer.alloc(3);
        head.writeUInt16LE(id);
        head[2] = v.type;
        return Buffer.concat([head, encodeZclValue(v)]);
      }),
    ),
  );
}

/** Attribute ids in a Configure Reporting payload (records: direction, id, type, min, max, change). */
export function configuredAttributes(payload: Buffer): number[] {
  const changeSize: Record<number, number> = { 0x20: 1, 0x21: 2, 0x22: 3, 0x23: 4, 0x25: 6, 0x28: 1, 0x29: 2, 0x2b: 4 };
  const ids: number[] = [];
  let pos = 0;
  while (pos + 4 <= payload.length) {
    const direction = payload[pos]!;
    const id = payload.readUInt16LE(pos + 1);
    if (direction !== 0) {
      pos += 5;
      continue;
    } // timeout period record
    const type = payload[pos + 3]!;
    ids.push(id);
    pos += 8 + (changeSize[type] ?? 0);
  }
  return ids;
}

/** MAC capability flags (node descriptor, announce): a router is a mains FFD with rx on when idle, an end device a sleepy RFD. */
export function macCapabilities(device: EmulatedDevice): number {
  return device.spec.endDevice ? 0x80 : 0x8e;
}
