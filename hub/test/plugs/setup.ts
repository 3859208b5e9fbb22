import type { Actor } from '@hearth/model/values';
import nacl from 'tweetnacl';
import type { HubError } from '../../src/core/errors.ts';
import { EventBus, type BusEvents } from '../../src/core/bus.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { DeviceRegistry } from '../../src/devices/registry.ts';
import { PlugDirectory } from '../../src/drivers/plug/discovery.ts';
import { PlugDriver } from '../../src/drivers/plug/driver.ts';
import { pairPlug, type PairingDeps, type PairRequest } from '../../src/drivers/plug/pairing.ts';
import { FirmwareStore } from '../../src/drivers/plug/firmware-store.ts';
import { PlugService } from '../../src/drivers/plug/service.ts';
import { PlugUpdates } from '../../src/drivers/plug/updates.ts';
import { recordAudit } from '../../src/store/audit-log.ts';
import { startBroker, type Harness as BrokerHarness } from '../broker/harness.ts';

export const owner: Actor = { kind: 'user', userId: 'u1', username: 'ann', role: 'owner' };

export interface PlugHarness {
  broker: BrokerHarness;
  clock: ManualClock;
  bus: EventBus;
  registry: DeviceRegistry;
  driver: PlugDriver;
  directory: PlugDirectory;
  service: PlugService;
  signKey: nacl.SignKeyPair;
  events: { type: string; payload: any }[];
  /** The pairing dependencies, for running `pairPlug` or a single step directly. */
  pairingDeps(): PairingDeps;
  pair(request: PairRequest): ReturnType<typeof pairPlug>;
  /** Registry + driver started again on the same database (a hub restart, broker kept). */
  restartRegistry(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The hub's plug side on real parts (broker on 127.0.0.1:0, SQLite in a temp dir, registry),
 * with a ManualClock for the pairing/command timeouts. The clock starts at the real time because
 * the plugs check command timestamps against their own clock.
 */
export async function plugHarness(
  options: {
    onlineTimeoutMs?: number;
    httpTimeoutMs?: number;
    firmware?: { dataDir: string; keys: string[]; timeoutMs: number };
    /** The hub's certificate: MQTT over TLS listens too and pairing hands plugs its port. */
    tls?: { keyPem: string; certPem: string };
  } = {},
): Promise<PlugHarness> {
  const broker = await startBroker(options.tls ? { tls: options.tls } : {});
  const clock = new ManualClock(Date.now());
  const log = createLogger({ level: 'silent' });
  const bus = new EventBus(log);
  const events: { type: string; payload: any }[] = [];
  for (const type of [
    'device.state',
    'device.availability',
    'telemetry.sample',
    'device.added',
    'device.removed',
    'audit',
    'plug.update',
  ] as const) {
    bus.on('test', type, (payload: BusEvents[typeof type]) => {
      events.push({ type, payload });
    });
  }
  const signKey = nacl.sign.keyPair();
  const directory = new PlugDirectory();
  const audit = (actor: Actor, action: string, target: string, details: Record<string, unknown>) =>
    recordAudit(broker.store, bus, { actor, action, target, details, at: clock.now() });

  let registry!: DeviceRegistry;
  let driver!: PlugDriver;
  let service!: PlugService;
  const base = () => ({
    credentials: broker.broker.credentials,
    subscribe: (o: string, f: string, h: (t: string, p: Buffer) => void) => broker.broker.subscribe(o, f, h),
    hubSignPublicKey: signKey.publicKey,
    mqttPort: () => broker.port,
    ...(options.tls ? { mqttsPort: () => broker.broker.tlsPort } : {}),
    clock,
    log,
    httpTimeoutMs: options.httpTimeoutMs ?? 2000,
    onlineTimeoutMs: options.onlineTimeoutMs ?? 10_000,
    audit,
  });
  const build = async () => {
    registry = new DeviceRegistry({ store: broker.store, bus, clock, log, commandTimeoutMs: 5000 });
    const fw = options.firmware;
    const updates = fw
      ? new PlugUpdates({ firmware: new FirmwareStore(fw.dataDir, fw.keys), clock, timeoutMs: fw.timeoutMs })
      : undefined;
    driver = new PlugDriver({
      broker: broker.broker,
      signKey,
      clock,
      audit,
      ...(updates ? { updates, onUpdate: (e) => bus.emit('plug.update', e) } : {}),
    });
    registry.registerDriver(driver);
    service = new PlugService({ directory, driver, registry, pairing: base() });
    await registry.start();
  };
  await build();

  const h: PlugHarness = {
    broker,
    clock,
    bus,
    directory,
    signKey,
    events,
    get registry() {
      return registry;
    },
    get driver() {
      return driver;
    },
    get service() {
      return service;
    },
    pairingDeps: () => ({ ...base(), directory, registry, expect: (id: string) => driver.expectPairing(id) }),
    pair: (request) => pairPlug(request, owner, h.pairingDeps()),
    async restartRegistry() {
      await registry.stop();
      await build();
    },
    async close() {
      await registry.stop();
      await broker.close();
    },
  };
  return h;
}

/** Resolves once `check` holds (polled; the test's own timeout bounds it). */
export async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** The error a promise rejected with (fails the test if it resolved). */
export async function rejection(promise: Promise<unknown>): Promise<HubError> {
  try {
    await promise;
  } catch (err) {
    return err as HubError;
  }
  throw new Error('expected a rejection');
}
