/**
 * One load-generator thread (a `worker_threads` Worker of the bench process), driven by the bench
 * with messages: each request is `{id, op, ...}` and gets one reply `{id, ok, result | error}`.
 * A worker can hold publishers, idle clients and a subscriber.
 *
 * All workers share one Int32Array (`workerData.counters`): the subscriber adds what it received,
 * publishers add what they sent. In saturation runs a publisher sends only while
 * sent - received < credit, so the measurement is the rate the broker sustains end to end with a
 * bounded backlog, not how much data piles up in kernel socket buffers (on loopback those hold
 * megabytes per connection: an open-loop blast measures the backlog, not the broker).
 *
 * Publishers send 100-byte JSON payloads carrying the send time (monotonic microseconds, the same
 * clock in every thread and process of this machine), so the subscriber (another thread) measures
 * end-to-end latency by subtracting it from its own receive time.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import mqtt from 'mqtt';
import {
  DISCONNECT_PACKET,
  PINGREQ_PACKET,
  PUBACK,
  PUBLISH,
  PublishTemplate,
  SUBACK,
  TS_OFFSET,
  TS_WIDTH,
  nowUs,
  payloadTemplate,
  rawConnect,
  readDigits,
  subscribePacket,
  writeDigits,
  type IncomingPacket,
} from './mqtt-raw.ts';
import { percentile } from './stats.ts';
import {
  RECEIVED,
  SENT,
  type ClientSpec,
  type LatencySummary,
  type Mark,
  type SendCounts,
  type WorkerRequest,
} from './load-protocol.ts';

const counters = new Int32Array((workerData as { counters: SharedArrayBuffer }).counters);

// ---------------------------------------------------------------------------------------------
// Publishers

interface Publisher {
  send(n: number, now: number): void;
  /** How many more messages it may send right now (window and socket backpressure). */
  room(): number;
  onRoom: (() => void) | null;
  close(): Promise<void>;
}

let qos: 0 | 1 = 0;
let windowSize = 16;
let sent = 0;
let acked = 0;
let seq = 0;
let running = false;
let paceTimer: NodeJS.Timeout | null = null;
let publishers: Publisher[] = [];
const QOS0_ROOM = 64;

class RawPublisher implements Publisher {
  readonly socket: Socket;
  readonly #tpl: [PublishTemplate, PublishTemplate];
  #pid = 0;
  #inflight = 0;
  #draining = false;
  onRoom: (() => void) | null = null;

  constructor(socket: Socket, topic: string, dev: string) {
    this.socket = socket;
    this.#tpl = [new PublishTemplate(topic, dev, 0), new PublishTemplate(topic, dev, 1)];
    socket.on('drain', () => {
      this.#draining = false;
      this.onRoom?.();
    });
  }

  onPacket(p: IncomingPacket): void {
    if (p.type === PUBACK) {
      this.#inflight--;
      acked++;
      this.onRoom?.();
    }
  }

  room(): number {
    if (this.#draining) return 0;
    // QoS 0 has no acknowledgements: only the socket (and the shared credit) hold it back.
    return qos === 1 ? windowSize - this.#inflight : QOS0_ROOM;
  }

  send(n: number, now: number): void {
    if (n <= 0) return;
    const tpl = this.#tpl[qos];
    const buf = Buffer.allocUnsafe(tpl.length * n);
    for (let i = 0; i < n; i++) {
      this.#pid = (this.#pid % 65535) + 1;
      tpl.fill(buf, i * tpl.length, now, ++seq, this.#pid);
    }
    if (qos === 1) this.#inflight += n;
    sent += n;
    if (!this.socket.write(buf)) this.#draining = true;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.end(DISCONNECT_PACKET);
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }
}

/** The same publisher through the `mqtt` npm client, to measure what the client library costs. */
class MqttJsPublisher implements Publisher {
  readonly #client: mqtt.MqttClient;
  readonly #topic: string;
  readonly #payload: Buffer;
  #inflight = 0;
  onRoom: (() => void) | null = null;

  constructor(client: mqtt.MqttClient, topic: string, dev: string) {
    this.#client = client;
    this.#topic = topic;
    this.#payload = payloadTemplate(dev);
  }

  room(): number {
    return windowSize - this.#inflight;
  }

  send(n: number, now: number): void {
    for (let i = 0; i < n; i++) {
      // mqtt.js may hold the buffer until it is written: each message gets its own copy.
      const payload = Buffer.from(this.#payload);
      writeDigits(payload, TS_OFFSET, TS_WIDTH, now);
      this.#inflight++;
      sent++;
      this.#client.publish(this.#topic, payload, { qos }, () => {
        this.#inflight--;
        acked++;
        this.onRoom?.();
      });
    }
  }

  close(): Promise<void> {
    return this.#client.endAsync().then(() => undefined);
  }
}

async function connectPublishers(
  port: number,
  clients: ClientSpec[],
  client: 'raw' | 'mqttjs',
): Promise<{ connectMs: number }> {
  const t0 = performance.now();
  const made = await Promise.all(
    clients.map(async (c): Promise<Publisher> => {
      const dev = c.clientId.slice(0, 24);
      if (client === 'mqttjs') {
        const m = await mqtt.connectAsync({
          host: '127.0.0.1',
          port,
          clientId: c.clientId,
          username: c.username,
          password: c.password,
          protocolVersion: 4,
          clean: true,
          keepalive: 60,
          reconnectPeriod: 0,
        });
        return new MqttJsPublisher(m, c.topic, dev);
      }
      let pub: RawPublisher | null = null;
      const raw = rawConnect(
        port,
        { clientId: c.clientId, username: c.username, password: c.password, keepalive: 60 },
        (p) => pub?.onPacket(p),
      );
      raw.socket.on('error', () => {});
      const rc = await raw.connack;
      if (rc !== 0) throw new Error(`publisher ${c.clientId} refused: CONNACK return code ${rc}`);
      pub = new RawPublisher(raw.socket, c.topic, dev);
      return pub;
    }),
  );
  publishers.push(...made);
  return { connectMs: performance.now() - t0 };
}

/**
 * Saturation: every publisher sends as fast as its socket, its QoS 1 window and the shared credit
 * (messages sent by all publishers and not yet received by the subscriber) allow.
 */
function blast(q: 0 | 1, window: number, batch: number, credit: number): void {
  stopSending();
  qos = q;
  windowSize = window;
  running = true;
  const creditLeft = (): number => credit - (Atomics.load(counters, SENT) - Atomics.load(counters, RECEIVED));
  // Publishers out of credit wait for the subscriber to receive more (it notifies RECEIVED).
  const starved: (() => void)[] = [];
  let waiting = false;
  const waitForCredit = (): void => {
    if (waiting) return;
    waiting = true;
    const r = Atomics.waitAsync(counters, RECEIVED, Atomics.load(counters, RECEIVED), 20);
    const wake = (): void => {
      waiting = false;
      const list = starved.splice(0);
      for (const f of list) f();
    };
    if (r.async) r.value.then(wake);
    else setImmediate(wake);
  };
  for (const p of publishers) {
    let scheduled = false;
    const pump = (): void => {
      scheduled = false;
      if (!running) return;
      // Whole batches only: many one-message writes would cost the generator (and the broker) a
      // syscall and a TCP segment per message, and slow the generator down before the broker.
      const want = Math.min(p.room(), batch);
      if (want > 0 && creditLeft() >= want) {
        Atomics.add(counters, SENT, want);
        p.send(want, nowUs());
      }
      if (p.room() <= 0) return; // onRoom (PUBACK or drain) reschedules
      if (creditLeft() < Math.min(p.room(), batch)) {
        scheduled = true;
        starved.push(pump);
        waitForCredit();
        return;
      }
      // Yield between batches so reads (PUBACKs) and other publishers get their turn.
      scheduled = true;
      setImmediate(pump);
    };
    p.onRoom = () => {
      if (running && !scheduled) {
        scheduled = true;
        setImmediate(pump);
      }
    };
    pump();
  }
}

/** Fixed offered load: `rate` messages per second spread round-robin over the publishers. */
function pace(q: 0 | 1, rate: number, window: number): void {
  stopSending();
  qos = q;
  windowSize = window;
  running = true;
  const start = performance.now();
  let done = 0;
  let next = 0;
  const tick = (): void => {
    if (!running) return;
    const due = Math.floor(((performance.now() - start) / 1000) * rate) - done;
    for (let i = 0; i < due; i++) {
      // Skip publishers whose window is full (only happens if the broker stalls).
      for (let tries = 0; tries < publishers.length; tries++) {
        const p = publishers[next]!;
        next = (next + 1) % publishers.length;
        if (p.room() > 0) {
          p.send(1, nowUs());
          break;
        }
      }
      done++;
    }
    paceTimer = setTimeout(tick, 1);
  };
  tick();
}

function stopSending(): SendCounts {
  running = false;
  if (paceTimer) clearTimeout(paceTimer);
  paceTimer = null;
  for (const p of publishers) p.onRoom = null;
  const counts = { sent, acked };
  sent = 0;
  acked = 0;
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Idle clients: connected, subscribed to their own command topic, pinging, nothing else.

let idle: Socket[] = [];
let pingTimer: NodeJS.Timeout | null = null;

async function connectIdle(
  port: number,
  clients: ClientSpec[],
  concurrency: number,
): Promise<{ connectMs: number; maxConnectMs: number }> {
  const t0 = performance.now();
  let maxConnectMs = 0;
  let nextIndex = 0;
  const one = async (c: ClientSpec): Promise<void> => {
    const started = performance.now();
    let subacked!: () => void;
    const subDone = new Promise<void>((r) => (subacked = r));
    const raw = rawConnect(
      port,
      {
        clientId: c.clientId,
        username: c.username,
        password: c.password,
        keepalive: 60,
        will: { topic: c.topic.replace(/\/cmd$/, '/status'), payload: 'offline', qos: 1, retain: true },
      },
      (p) => {
        if (p.type === SUBACK) subacked();
      },
    );
    raw.socket.on('error', () => {});
    const rc = await raw.connack;
    if (rc !== 0) throw new Error(`idle client ${c.clientId} refused: CONNACK return code ${rc}`);
    raw.socket.write(subscribePacket(1, c.topic, 1));
    await subDone;
    idle.push(raw.socket);
    maxConnectMs = Math.max(maxConnectMs, performance.now() - started);
  };
  const lanes = Array.from({ length: Math.min(concurrency, clients.length) }, async () => {
    while (nextIndex < clients.length) await one(clients[nextIndex++]!);
  });
  await Promise.all(lanes);
  pingTimer ??= setInterval(() => {
    for (const s of idle) if (!s.destroyed) s.write(PINGREQ_PACKET);
  }, 30_000);
  return { connectMs: performance.now() - t0, maxConnectMs };
}

async function closeAll(sockets: Socket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.destroyed) return resolve();
          s.once('close', () => resolve());
          s.end(DISCONNECT_PACKET);
          setTimeout(() => s.destroy(), 1000).unref();
        }),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Subscriber: counts messages, records latency while asked to, acknowledges QoS 1.

let received = 0;
let recording = false;
let samples = new Float64Array(1 << 16);
let sampleCount = 0;

function onSubscriberPacket(p: IncomingPacket, acks: number[]): void {
  if (p.type !== PUBLISH) return;
  received++;
  const buf = p.buf;
  const topicLen = buf.readUInt16BE(p.body);
  let at = p.body + 2 + topicLen;
  const q = (p.flags >> 1) & 3;
  if (q > 0) {
    acks.push(buf.readUInt16BE(at));
    at += 2;
  }
  if (recording) {
    const ts = readDigits(buf, at + TS_OFFSET, TS_WIDTH);
    if (sampleCount === samples.length) {
      const bigger = new Float64Array(samples.length * 2);
      bigger.set(samples);
      samples = bigger;
    }
    samples[sampleCount++] = nowUs() - ts;
  }
}

interface SubscriberState {
  socket: Socket;
  port: number;
  client: ClientSpec;
  persistent: boolean;
}
let current: SubscriberState | null = null;

/**
 * Closes the subscriber; a persistent session is then discarded (a clean-session CONNECT with the
 * same client id [MQTT-3.1.2-6]) so the broker stops queueing for it in later phases.
 */
async function closeSubscriber(): Promise<void> {
  const s = current;
  current = null;
  if (!s) return;
  await closeAll([s.socket]);
  if (!s.persistent) return;
  const raw = rawConnect(
    s.port,
    { clientId: s.client.clientId, username: s.client.username, password: s.client.password, clean: true },
    () => {},
  );
  raw.socket.on('error', () => {});
  await raw.connack;
  await closeAll([raw.socket]);
}

async function subscribe(port: number, c: ClientSpec, q: 0 | 1, persistent: boolean): Promise<{ granted: number }> {
  await closeSubscriber();
  received = 0;
  let granted!: (code: number) => void;
  const subackCode = new Promise<number>((r) => (granted = r));
  const acks: number[] = [];
  const raw = rawConnect(
    port,
    { clientId: c.clientId, username: c.username, password: c.password, keepalive: 60, clean: !persistent },
    (p) => {
      if (p.type === SUBACK) granted(p.buf[p.body + 2]!);
      else onSubscriberPacket(p, acks);
    },
  );
  current = { socket: raw.socket, port, client: c, persistent };
  // Acknowledge every QoS 1 message of one read in one write; publish the count to the others.
  let counted = 0;
  raw.socket.on('data', () => {
    if (received !== counted) {
      Atomics.add(counters, RECEIVED, received - counted);
      counted = received;
      Atomics.notify(counters, RECEIVED);
    }
    if (acks.length === 0) return;
    const out = Buffer.allocUnsafe(acks.length * 4);
    for (let i = 0; i < acks.length; i++) {
      out[i * 4] = 0x40;
      out[i * 4 + 1] = 2;
      out.writeUInt16BE(acks[i]!, i * 4 + 2);
    }
    acks.length = 0;
    raw.socket.write(out);
  });
  raw.socket.on('error', () => {});
  const rc = await raw.connack;
  if (rc !== 0) throw new Error(`subscriber refused: CONNACK return code ${rc}`);
  raw.socket.write(subscribePacket(1, c.topic, q));
  const code = await subackCode;
  if (code === 0x80) throw new Error(`subscription to ${c.topic} refused (SUBACK 0x80)`);
  return { granted: code };
}

function latencyStop(): LatencySummary {
  recording = false;
  const sorted = samples.subarray(0, sampleCount).slice().sort();
  const ms = (us: number): number => Math.round(us) / 1000;
  return {
    count: sampleCount,
    p50Ms: ms(percentile(sorted, 0.5)),
    p90Ms: ms(percentile(sorted, 0.9)),
    p99Ms: ms(percentile(sorted, 0.99)),
    maxMs: ms(sorted.length ? sorted[sorted.length - 1]! : NaN),
  };
}

// ---------------------------------------------------------------------------------------------

async function handle(req: WorkerRequest): Promise<unknown> {
  switch (req.op) {
    case 'connectPublishers':
      return connectPublishers(req.port, req.clients, req.client);
    case 'blast':
      blast(req.qos, req.window, req.batch, req.credit);
      return null;
    case 'pace':
      pace(req.qos, req.rate, req.window);
      return null;
    case 'stopSending':
      return stopSending();
    case 'closePublishers': {
      stopSending();
      const ps = publishers;
      publishers = [];
      await Promise.all(ps.map((p) => p.close()));
      return null;
    }
    case 'connectIdle':
      return connectIdle(req.port, req.clients, req.concurrency);
    case 'closeIdle': {
      if (pingTimer) clearInterval(pingTimer);
      pingTimer = null;
      const s = idle;
      idle = [];
      await closeAll(s);
      return null;
    }
    case 'subscribe':
      return subscribe(req.port, req.client, req.qos, req.persistent);
    case 'mark':
      return { received, atUs: nowUs() } satisfies Mark;
    case 'latencyStart':
      sampleCount = 0;
      recording = true;
      return null;
    case 'latencyStop':
      return latencyStop();
    case 'cpu': {
      // This thread's own CPU time (the process total also counts GC and libuv helper threads).
      const stat = readFileSync('/proc/thread-self/stat', 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { ticks: Number(f[11]) + Number(f[12]) };
    }
    case 'closeSubscriber':
      await closeSubscriber();
      return null;
  }
}

parentPort!.on('message', (msg: { id: number } & WorkerRequest) => {
  handle(msg).then(
    (result) => parentPort!.postMessage({ id: msg.id, ok: true, result }),
    (err: Error) => parentPort!.postMessage({ id: msg.id, ok: false, error: err.message }),
  );
});
