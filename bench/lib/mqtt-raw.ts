/**
 * A minimal MQTT 3.1.1 client over a raw TCP socket, just enough for load generation:
 * CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBLISH at QoS 0/1 (and the PUBACKs for it), PINGREQ.
 *
 * Why not the `mqtt` npm client: at tens of thousands of messages per second the load generator
 * must cost much less CPU than the broker it measures (this machine has 2 cores, shared by the
 * broker and the generators). Publishing here is a copy of a prebuilt packet template with a few
 * digits patched in; receiving is a scan of fixed headers. The broker bench can switch the
 * publishers to mqtt.js (`--client mqttjs`) to show what the client library costs.
 */
import { connect as netConnect, type Socket } from 'node:net';

export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const SUBACK = 9;
export const PINGRESP = 13;

/** The payload every publisher sends: 100 bytes of valid JSON with fixed-width fields. */
export const PAYLOAD_BYTES = 100;
const TS_FIELD = '{"ts":';
/** Offset and width of the send timestamp (microseconds of the monotonic clock) in the payload. */
export const TS_OFFSET = TS_FIELD.length;
export const TS_WIDTH = 16;
const SEQ_FIELD = ',"seq":';
export const SEQ_OFFSET = TS_OFFSET + TS_WIDTH + SEQ_FIELD.length;
export const SEQ_WIDTH = 10;

/** Microseconds of CLOCK_MONOTONIC: the same clock in every process of this machine. */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export function encodeLength(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(2 + b.length);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

function packet(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first, ...encodeLength(body.length)]), body]);
}

export interface ConnectOptions {
  clientId: string;
  username?: string;
  password?: string;
  keepalive?: number;
  clean?: boolean;
  will?: { topic: string; payload: string; qos: 0 | 1; retain: boolean };
}

export function connectPacket(o: ConnectOptions): Buffer {
  let flags = o.clean === false ? 0 : 0x02;
  const parts: Buffer[] = [str(o.clientId)];
  if (o.will) {
    flags |= 0x04 | (o.will.qos << 3) | (o.will.retain ? 0x20 : 0);
    parts.push(str(o.will.topic), str(o.will.payload));
  }
  if (o.username !== undefined) {
    flags |= 0x80;
    parts.push(str(o.username));
  }
  if (o.password !== undefined) {
    flags |= 0x40;
    parts.push(str(o.password));
  }
  const header = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, flags, 0, 0]);
  header.writeUInt16BE(o.keepalive ?? 60, 8);
  return packet(0x10, Buffer.concat([header, ...parts]));
}

export function subscribePacket(id: number, topic: string, qos: 0 | 1): Buffer {
  const pid = Buffer.allocUnsafe(2);
  pid.writeUInt16BE(id, 0);
  return packet(0x82, Buffer.concat([pid, str(topic), Buffer.from([qos])]));
}

export const PINGREQ_PACKET = Buffer.from([0xc0, 0]);
export const DISCONNECT_PACKET = Buffer.from([0xe0, 0]);

/** Builds a 100-byte JSON payload `{"ts": ..., "seq": ..., "dev": "...", "pad": "xxx"}`. */
export function payloadTemplate(dev: string): Buffer {
  const head = `${TS_FIELD}${'0'.padStart(TS_WIDTH)}${SEQ_FIELD}${'0'.padStart(SEQ_WIDTH)},"dev":${JSON.stringify(dev)},"pad":"`;
  const tail = '"}';
  const padLen = PAYLOAD_BYTES - Buffer.byteLength(head) - tail.length;
  if (padLen < 0) throw new Error(`device id too long for a ${PAYLOAD_BYTES}-byte payload: ${dev}`);
  return Buffer.from(head + 'x'.repeat(padLen) + tail, 'utf8');
}

/** Writes `value` right-aligned in `width` ASCII characters (spaces before: still valid JSON). */
export function writeDigits(buf: Buffer, offset: number, width: number, value: number): void {
  let v = Math.floor(value);
  for (let i = offset + width - 1; i >= offset; i--) {
    if (v > 0 || i === offset + width - 1) {
      buf[i] = 0x30 + (v % 10);
      v = Math.floor(v / 10);
    } else {
      buf[i] = 0x20;
    }
  }
}

export function readDigits(buf: Buffer, offset: number, width: number): number {
  let v = 0;
  for (let i = offset; i < offset + width; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x39) v = v * 10 + (c - 0x30);
  }
  return v;
}

/**
 * A prebuilt PUBLISH packet for one topic; `fill` patches timestamp, sequence and packet id into
 * a target buffer so a batch of packets is one allocation and one socket write.
 */
export class PublishTemplate {
  readonly bytes: Buffer;
  readonly length: number;
  readonly #pidOffset: number;
  readonly #payloadOffset: number;

  constructor(topic: string, dev: string, qos: 0 | 1) {
    const t = str(topic);
    const payload = payloadTemplate(dev);
    const pidLen = qos > 0 ? 2 : 0;
    const remaining = t.length + pidLen + payload.length;
    const head = Buffer.from([0x30 | (qos << 1), ...encodeLength(remaining)]);
    this.bytes = Buffer.concat([head, t, Buffer.alloc(pidLen), payload]);
    this.length = this.bytes.length;
    this.#pidOffset = qos > 0 ? head.length + t.length : -1;
    this.#payloadOffset = head.length + t.length + pidLen;
  }

  fill(target: Buffer, at: number, ts: number, seq: number, pid: number): void {
    this.bytes.copy(target, at);
    if (this.#pidOffset >= 0) target.writeUInt16BE(pid, at + this.#pidOffset);
    writeDigits(target, at + this.#payloadOffset + TS_OFFSET, TS_WIDTH, ts);
    writeDigits(target, at + this.#payloadOffset + SEQ_OFFSET, SEQ_WIDTH, seq);
  }
}

export interface IncomingPacket {
  type: number;
  flags: number;
  /** The whole packet's buffer and where its body (after the fixed header) starts and ends. */
  buf: Buffer;
  body: number;
  end: number;
}

/**
 * Splits a byte stream into MQTT packets without decoding them; calls `onPacket` for each.
 * The callback must not keep `buf` beyond the call.
 */
export class PacketSplitter {
  #rest: Buffer | null = null;
  readonly #onPacket: (p: IncomingPacket) => void;

  constructor(onPacket: (p: IncomingPacket) => void) {
    this.#onPacket = onPacket;
  }

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.#rest) {
      buf = Buffer.concat([this.#rest, chunk]);
      this.#rest = null;
    }
    let pos = 0;
    const p: IncomingPacket = { type: 0, flags: 0, buf, body: 0, end: 0 };
    while (pos < buf.length) {
      if (buf.length - pos < 2) break;
      let len = 0;
      let mul = 1;
      let i = pos + 1;
      let complete = false;
      for (; i < buf.length && i < pos + 5; i++) {
        const b = buf[i]!;
        len += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          i++;
          break;
        }
      }
      if (!complete || i + len > buf.length) break;
      p.type = buf[pos]! >> 4;
      p.flags = buf[pos]! & 0x0f;
      p.body = i;
      p.end = i + len;
      this.#onPacket(p);
      pos = i + len;
    }
    if (pos < buf.length) this.#rest = buf.subarray(pos);
  }
}

export interface RawClient {
  socket: Socket;
  /** Resolves with the CONNACK return code (0 = accepted). */
  connack: Promise<number>;
}

/**
 * Opens a socket and sends CONNECT. `onPacket` sees every packet after the CONNACK.
 */
export function rawConnect(port: number, opts: ConnectOptions, onPacket: (p: IncomingPacket) => void): RawClient {
  const socket = netConnect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  let connacked = false;
  let resolveConnack!: (rc: number) => void;
  let rejectConnack!: (err: Error) => void;
  const connack = new Promise<number>((res, rej) => {
    resolveConnack = res;
    rejectConnack = rej;
  });
  const splitter = new PacketSplitter((p) => {
    if (!connacked) {
      if (p.type !== CONNACK) {
        rejectConnack(new Error(`expected CONNACK, got packet type ${p.type}`));
        return;
      }
      connacked = true;
      resolveConnack(p.buf[p.body + 1]!);
      return;
    }
    onPacket(p);
  });
  socket.on('data', (chunk: Buffer) => splitter.push(chunk));
  socket.on('error', (err) => {
    if (!connacked) rejectConnack(err);
  });
  socket.on('close', () => {
    if (!connacked) rejectConnack(new Error(`connection closed before CONNACK (${opts.clientId})`));
  });
  socket.write(connectPacket(opts));
  return { socket, connack };
}
