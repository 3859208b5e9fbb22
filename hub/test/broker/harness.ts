import { connect as tcpConnect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { Broker } from '../../src/broker/broker.ts';
import type { BrokerLimits } from '../../src/broker/limits.ts';
import { EventBus } from '../../src/core/bus.ts';
import { systemClock, type Clock } from '../../src/core/clock.ts';
import { validateConfig, type HubConfig } from '../../src/core/config.ts';
import { createLogger } from '../../src/core/logger.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/temp.ts';

export interface Harness {
  broker: Broker;
  store: Store;
  bus: EventBus;
  dir: string;
  port: number;
  /** Adds a device row and gives it MQTT credentials; `clientId` is the device id, the only one it may use. */
  device(id: string): { username: string; password: string; clientId: string };
  /** Stops this broker and starts a new one on the same database file (a hub restart). */
  restart(): Promise<void>;
  /** Stops the broker, closes the store, removes the temp dir. */
  close(): Promise<void>;
}

export interface HarnessOptions {
  mqtt?: Partial<HubConfig['mqtt']>;
  limits?: Partial<BrokerLimits>;
  /** The broker's clock (a ManualClock to run its timers by hand); the system clock if not given. */
  clock?: Clock;
  /** A TLS identity: MQTT over TLS listens too, on `broker.tlsPort`. */
  tls?: { keyPem: string; certPem: string };
}

/** A real Broker on 127.0.0.1 port 0 with a real SQLite file in a fresh temp dir. */
export async function startBroker(options: HarnessOptions = {}): Promise<Harness> {
  const { dir, cleanup } = tempDir('hearth-broker-');
  const config = validateConfig({
    dataDir: dir,
    // A broker alone (no hub settings) takes integrations in clear only when told: these tests opt in.
    mqtt: {
      host: '127.0.0.1',
      port: 0,
      plainIntegrations: true,
      ...(options.tls ? { tlsPort: 0 } : {}),
      ...options.mqtt,
    },
  });
  const log = createLogger({ level: 'silent' });
  const bus = new EventBus(log);
  let store = Store.open(dir);
  const make = () =>
    new Broker({
      store,
      bus,
      log,
      clock: options.clock ?? systemClock,
      config: config.mqtt,
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
    });
  let broker = make();
  await broker.start();
  const harness: Harness = {
    get broker() {
      return broker;
    },
    get store() {
      return store;
    },
    bus,
    dir,
    get port() {
      return broker.port;
    },
    device(id) {
      const now = Date.now();
      if (!store.devices.byId(id)) {
        store.devices.insert({
          id,
          name: id,
          roomId: null,
          driver: 'mqtt',
          model: 'test',
          capabilities: [],
          config: {},
          available: false,
          createdAt: now,
          updatedAt: now,
        });
      }
      return { ...broker.credentials.createDeviceCredential(id), clientId: id };
    },
    async restart() {
      await broker.stop();
      store.close();
      store = Store.open(dir);
      broker = make();
      await broker.start();
    },
    async close() {
      await broker.stop();
      store.close();
      cleanup();
    },
  };
  return harness;
}

/** A raw TCP connection to the broker, for hand-made packets and garbage. */
export function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves when the socket is closed by the other side (or rejects after `timeoutMs`). */
export function closed(socket: Socket, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed || socket.readableEnded) return resolve();
    const timer = setTimeout(() => reject(new Error('socket still open')), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Reads MQTT packets the broker sends on a raw socket. */
export function packetReader(socket: Socket): { next(cmd?: string, timeoutMs?: number): Promise<mqttPacket.Packet> } {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const queue: mqttPacket.Packet[] = [];
  const waiters: { cmd: string | undefined; resolve: (p: mqttPacket.Packet) => void }[] = [];
  parser.on('packet', (packet: mqttPacket.Packet) => {
    const i = waiters.findIndex((w) => w.cmd === undefined || w.cmd === packet.cmd);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(packet);
    else queue.push(packet);
  });
  socket.on('data', (data) => parser.parse(data));
  return {
    next(cmd, timeoutMs = 10_000) {
      const i = queue.findIndex((p) => cmd === undefined || p.cmd === cmd);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]!);
      return new Promise((resolve, reject) => {
        const waiter = {
          cmd,
          resolve: (p: mqttPacket.Packet) => {
            clearTimeout(timer);
            resolve(p);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no ${cmd ?? 'packet'} from the broker`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
  };
}

/**
 * A CONNECT built byte by byte (mqtt-packet refuses to generate some invalid ones we need, such
 * as an empty client id with a persistent session).
 */
export function connectBytes(o: {
  clientId: string;
  clean: boolean;
  username?: string;
  password?: string;
  keepalive?: number;
}): Buffer {
  const str = (s: string): Buffer => {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    return Buffer.concat([len, b]);
  };
  let flags = o.clean ? 0x02 : 0;
  if (o.username !== undefined) flags |= 0x80;
  if (o.password !== undefined) flags |= 0x40;
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(o.keepalive ?? 30);
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, flags]),
    keepalive,
    str(o.clientId),
    ...(o.username !== undefined ? [str(o.username)] : []),
    ...(o.password !== undefined ? [str(o.password)] : []),
  ]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

export function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

export function writePacket(socket: Socket, packet: mqttPacket.Packet): void {
  socket.write(mqttPacket.generate(packet));
}

/** SUBSCRIBEs and returns the SUBACK return codes, refusals (0x80) included. */
export function subscribeGranted(
  client: MqttClient,
  filters: string | string[],
  qos: 0 | 1 | 2 = 1,
): Promise<number[]> {
  return new Promise((resolve, reject) => {
    client.subscribe(filters, { qos }, (err, _subs, packet) => {
      const granted =
        (packet as { granted?: number[] } | undefined)?.granted ??
        (err as { packet?: { granted?: number[] } } | null)?.packet?.granted;
      if (granted) resolve(granted);
      else reject(err ?? new Error('no SUBACK'));
    });
  });
}

/** Polls `predicate` until it holds (never asserts on time, only bounds the wait). */
export async function eventually(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
