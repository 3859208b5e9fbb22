/**
 * A bounded MQTT flood, run as its own process (`node mqtt-flood.ts '<json options>'`) so the
 * load does not share an event loop with the test: `clients` raw TCP connections with one
 * credential CONNECT, then, once all are up, each writes `messages` QoS 0 PUBLISHes as fast as
 * its socket takes them (prebuilt bytes, no client library), and finally every connection is dropped at once
 * (no DISCONNECT) once what they sent left their process. It stops by itself after `messages`
 * per client or `maxSeconds`, whichever comes first, and prints one JSON line: what was sent and
 * how the connections ended.
 */
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { generate } from 'mqtt-packet';

export interface FloodOptions {
  port: number;
  username: string;
  password: string;
  clients: number;
  /** QoS 0 PUBLISHes per client. */
  messages: number;
  /** Topic of client i: `topic` with `{i}` replaced. */
  topic: string;
  payloadBytes: number;
  /** Hard stop, whatever was sent. */
  maxSeconds: number;
  clientIdPrefix?: string;
  /** Use `clientIdPrefix` itself as the client id (one client: a device may only use its own id). */
  exactClientId?: boolean;
  /** Connections (same credential) that subscribe to this filter at QoS 0 and read everything, from before the flood until it ends. */
  readers?: { filter: string; count: number };
}

export interface FloodResult {
  connected: number;
  /** Bytes the readers received. */
  readBytes: number;
  refused: number;
  sent: number;
  /** Connections the broker closed before the flood ended. */
  closedByBroker: number;
  seconds: number;
}

// Packets are built once by mqtt-packet (the broker's own codec) and then written as bytes.
function connectPacket(clientId: string, username: string, password: string): Buffer {
  return generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    keepalive: 60,
    clientId,
    username,
    password: Buffer.from(password),
  });
}

function publishPacket(topic: string, payload: Buffer): Buffer {
  return generate({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false });
}

function subscribePacket(filter: string): Buffer {
  return generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 0 }] });
}

/** Runs the flood in this process. */
export async function flood(o: FloodOptions): Promise<FloodResult> {
  const started = Date.now();
  // Set when every connection is up: the flood starts at once on all of them.
  let deadline = Infinity;
  let go: () => void = () => {};
  const gate = new Promise<void>((resolve) => (go = resolve));
  const connects: Promise<void>[] = [];
  const result: FloodResult = { connected: 0, readBytes: 0, refused: 0, sent: 0, closedByBroker: 0, seconds: 0 };
  const sockets: Socket[] = [];
  let ending = false;
  const payload = Buffer.alloc(o.payloadBytes, 0x61);

  const one = (i: number) =>
    new Promise<void>((resolve) => {
      let connectDone: () => void = () => {};
      connects.push(new Promise<void>((r) => (connectDone = r)));
      const socket = connect({ host: '127.0.0.1', port: o.port });
      sockets.push(socket);
      let connacked = false;
      let finished = false;
      const finish = () => {
        connectDone();
        if (finished) return;
        finished = true;
        resolve();
      };
      socket.on('error', () => finish());
      socket.on('close', () => {
        if (!ending && connacked) result.closedByBroker++;
        finish();
      });
      const clientId = o.exactClientId ? (o.clientIdPrefix ?? 'flood') : `${o.clientIdPrefix ?? 'flood'}-${i}`;
      socket.once('connect', () => socket.write(connectPacket(clientId, o.username, o.password)));
      socket.once('data', (data) => {
        if (data[0] !== 0x20 || data[3] !== 0) {
          result.refused++;
          socket.destroy();
          return;
        }
        connacked = true;
        result.connected++;
        connectDone();
        socket.on('data', () => {}); // nothing to read at QoS 0 without subscriptions
        const one = publishPacket(o.topic.replace('{i}', String(i)), payload);
        const perChunk = Math.max(1, Math.floor(16_384 / one.length));
        const chunk = Buffer.concat(Array.from({ length: perChunk }, () => one));
        let left = o.messages;
        const pump = () => {
          while (left > 0 && !socket.destroyed && Date.now() < deadline) {
            const n = Math.min(left, perChunk);
            left -= n;
            result.sent += n;
            if (!socket.write(n === perChunk ? chunk : chunk.subarray(0, n * one.length))) {
              socket.once('drain', pump);
              return;
            }
          }
          // All handed to the socket: done once it is in the kernel's buffers (or at the deadline).
          if (socket.writableLength > 0) socket.once('drain', finish);
          else finish();
        };
        void gate.then(pump);
      });
    });

  const reader = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: o.port });
      sockets.push(socket);
      socket.on('error', reject);
      socket.once('connect', () =>
        socket.write(connectPacket(`${o.clientIdPrefix ?? 'flood'}-reader-${i}`, o.username, o.password)),
      );
      socket.once('data', (data) => {
        if (data[0] !== 0x20 || data[3] !== 0) return reject(new Error('reader refused'));
        socket.write(subscribePacket(o.readers!.filter));
        socket.once('data', () => {
          socket.on('data', (d: Buffer) => (result.readBytes += d.length));
          resolve();
        });
      });
    });
  await Promise.all(Array.from({ length: o.readers?.count ?? 0 }, (_, i) => reader(i)));

  const floods = Array.from({ length: o.clients }, (_, i) => one(i));
  // Every connection answered (CONNACK, refusal or close), within a bound of its own.
  let connectTimer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(connects), new Promise((resolve) => (connectTimer = setTimeout(resolve, 30_000)))]);
  clearTimeout(connectTimer);
  deadline = Date.now() + o.maxSeconds * 1000;
  go();
  let deadlineTimer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(floods),
    new Promise((resolve) => (deadlineTimer = setTimeout(resolve, o.maxSeconds * 1000))),
  ]);
  clearTimeout(deadlineTimer);
  // Every connection drops at once, as when the flooding process dies.
  ending = true;
  for (const s of sockets) s.destroy();
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

/** Runs the flood in a child process; resolves with its result line. */
export function floodProcess(o: FloodOptions): Promise<FloodResult> {
  const file = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [file, JSON.stringify(o)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), (o.maxSeconds + 60) * 1000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`flood exited with ${code}: ${err}`));
      resolve(JSON.parse(line) as FloodResult);
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options = JSON.parse(process.argv[2] ?? '{}') as FloodOptions;
  flood(options).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (e) => {
      process.stderr.write(`${(e as Error).stack}\n`);
      process.exit(1);
    },
  );
}
