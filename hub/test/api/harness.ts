import type { Role, StateValue } from '@hearth/model/values';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApi, type ApiBroker } from '../../src/api/build.ts';
import type { ApiBackup, IntegrationUser } from '../../src/api/deps.ts';
import { hashPassword } from '../../src/auth/passwords.ts';
import { AuthService } from '../../src/auth/service.ts';
import { EventBus } from '../../src/core/bus.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { validateConfig, type HubConfig } from '../../src/core/config.ts';
import { HubError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import type { Driver, DriverContext } from '../../src/devices/driver.ts';
import { DeviceRegistry } from '../../src/devices/registry.ts';
import type { RecorderService } from '../../src/recorder/service.ts';
import { RemoteAccess } from '../../src/relay/service.ts';
import { RulesService } from '../../src/rules/service.ts';
import type { DeviceRow } from '../../src/store/devices-repo.ts';
import { Store } from '../../src/store/store.ts';
import { TransportSettings } from '../../src/tls/transport-settings.ts';
import { readSetupCode } from '../helpers/http.ts';
import { tempDir } from '../helpers/temp.ts';
import { apiParts } from '../helpers/api-parts.ts';

export const OWNER = { username: 'owner', password: 'correct horse battery' };

/**
 * A device family for tests: the lowest layer, standing in for real devices. It confirms each
 * command by reporting the commanded value, unless told to stay silent (to see a timeout).
 */
export class EchoDriver implements Driver {
  readonly name = 'echo';
  ctx!: DriverContext;
  confirm = true;
  async start(ctx: DriverContext) {
    this.ctx = ctx;
  }
  async stop() {}
  async command(device: DeviceRow, capability: string, value: StateValue) {
    if (this.confirm) queueMicrotask(() => this.ctx.reportState(device.id, { [capability]: value }));
  }
}

/**
 * Stands in for the MQTT broker only (the real one is covered by the end-to-end tests): it keeps
 * integration users in memory and records WebSocket hand-offs.
 */
export class FakeBroker implements ApiBroker {
  readonly users = new Map<string, IntegrationUser & { secretHash: string }>();
  readonly webSockets: { stream: Duplex; req: IncomingMessage }[] = [];
  statsImpl: () => Record<string, number> = () => ({ clients: 2, messagesIn: 40, messagesOut: 38 });
  handleWebSocket(stream: Duplex, req: IncomingMessage) {
    this.webSockets.push({ stream, req });
  }
  stats() {
    return this.statsImpl();
  }
  certificate() {
    return undefined;
  }
  credentials = {
    createIntegrationUser: (input: { username: string; scope: 'read' | 'readwrite'; topics: string[] }) => {
      if (this.users.has(input.username)) throw new HubError('username_taken', 'taken');
      this.users.set(input.username, { ...input, createdAt: Date.UTC(2026, 0, 1), secretHash: 'hash-never-shown' });
      return { username: input.username, password: `pw-${input.username}` };
    },
    listIntegrationUsers: () => [...this.users.values()],
    deleteIntegrationUser: (username: string) => this.users.delete(username),
  };
}

export interface Harness {
  app: FastifyInstance;
  store: Store;
  bus: EventBus;
  clock: ManualClock;
  config: HubConfig;
  auth: AuthService;
  registry: DeviceRegistry;
  driver: EchoDriver;
  broker: FakeBroker;
  /** Remote access without a relay (only with `remote: true`): enrolled devices, no tunnel. */
  remote: RemoteAccess | undefined;
  /** inject() with an optional bearer token. */
  call(
    method: InjectOptions['method'],
    url: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string>; payload?: string },
  ): Promise<LightMyRequestResponse>;
  /** Creates the owner through the API; returns its access token. */
  setupOwner(): Promise<string>;
  /** Adds a user with a role directly in the store and logs them in through the API. */
  userToken(role: Role, username?: string): Promise<string>;
  /** Adds a device of the echo driver, already online. */
  addDevice(name?: string, capabilities?: string[]): Promise<string>;
  /** Adds a user through the API (as `token`'s user); returns the new user's id. */
  addUser(token: string, username: string, role: Role, password: string): Promise<string>;
  /** Listens on a loopback port for real sockets; returns `ws://127.0.0.1:PORT`. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function harness(
  overrides: {
    config?: Record<string, unknown>;
    uiDir?: string;
    eventsMaxBufferedBytes?: number;
    remote?: boolean;
    recorder?: Partial<RecorderService>;
    /** A stand-in for the backup part (the real one is in test/backup). */
    backup?: Partial<ApiBackup>;
    /** A real rules part on the harness's registry (rules and scenes routes). */
    rules?: boolean;
    /** The real transport settings on the harness's store, with this HTTPS port (0: none). */
    transportHttpsPort?: number;
  } = {},
): Promise<Harness> {
  const tmp = tempDir();
  const config = validateConfig({ dataDir: tmp.dir, http: { bodyLimitBytes: 4096 }, ...overrides.config }, tmp.dir);
  const log = createLogger({ level: 'silent' });
  const store = Store.open(tmp.dir);
  const clock = new ManualClock();
  const bus = new EventBus(log);
  const driver = new EchoDriver();
  const registry = new DeviceRegistry({
    store,
    bus,
    clock,
    log,
    commandTimeoutMs: config.devices.commandTimeoutMs,
    maxShares: config.devices.maxShares,
  });
  registry.registerDriver(driver);
  await registry.start();
  const auth = new AuthService({ store, bus, clock, log, config: config.auth, dataDir: tmp.dir });
  auth.openSetup(); // as the hub does at start: writes DATA/setup-code
  const broker = new FakeBroker();
  const rules = overrides.rules
    ? new RulesService({
        store,
        bus,
        clock,
        log,
        registry,
        limits: config.rules,
        traceFlushMs: config.rules.traceFlushMs,
      })
    : undefined;
  if (rules) {
    await rules.start();
    registry.sharing.registerTarget('scene', (id) => rules.scenes.byId(id) !== undefined);
  }
  const remote = overrides.remote
    ? new RemoteAccess({ store, bus, clock, log, registry, auth, relay: null })
    : undefined;
  const transport =
    overrides.transportHttpsPort === undefined
      ? undefined
      : new TransportSettings({
          settings: store.settings,
          defaults: { httpStrict: config.http.strict, plainIntegrations: config.mqtt.plainIntegrations },
          httpsPort: () => overrides.transportHttpsPort ?? 0,
          hasIntegrationUsers: () => store.mqttCredentials.list('integration').length > 0,
        });
  const app = await buildApi({
    config,
    ...apiParts(store, bus),
    ...(transport ? { transport } : {}),
    bus,
    clock,
    log,
    auth,
    registry,
    broker,
    ...(remote ? { remote } : {}),
    ...(rules ? { rules } : {}),
    // A stand-in for the parts of the recorder a test uses (the real one is in test/recorder).
    ...(overrides.recorder ? { recorder: overrides.recorder as RecorderService } : {}),
    ...(overrides.backup ? { backup: overrides.backup as ApiBackup } : {}),
    version: '9.9.9-test',
    startedAt: clock.now(),
    partsHealth: () => ({ store: 'ok', broker: 'ok', devices: 'ok' }),
    uiDir: overrides.uiDir ?? `${tmp.dir}/no-ui`,
    ...(overrides.eventsMaxBufferedBytes ? { eventsMaxBufferedBytes: overrides.eventsMaxBufferedBytes } : {}),
  });

  const call: Harness['call'] = (method, url, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    return app.inject({
      method,
      url,
      headers,
      ...(options.body !== undefined ? { payload: options.body as object } : {}),
      ...(options.payload !== undefined ? { payload: options.payload } : {}),
    });
  };

  let users = 0;
  return {
    app,
    store,
    bus,
    clock,
    config,
    auth,
    registry,
    driver,
    broker,
    remote,
    call,
    async setupOwner() {
      const res = await call('POST', '/api/v1/setup', { body: { ...OWNER, setupCode: readSetupCode(tmp.dir) } });
      if (res.statusCode !== 201) throw new Error(`setup failed: ${res.statusCode} ${res.body}`);
      return res.json().accessToken as string;
    },
    async userToken(role, username = `${role}${++users}`) {
      const password = `${username} password`;
      store.users.insert({
        id: `usr_${username}`,
        username,
        passwordHash: await hashPassword(password),
        role,
        createdAt: clock.now(),
      });
      const res = await call('POST', '/api/v1/auth/login', { body: { username, password } });
      if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
      return res.json().accessToken as string;
    },
    async addDevice(name = 'Lamp', capabilities = ['switch', 'power']) {
      const { device } = await registry.create(
        { name, driver: 'echo', capabilities },
        { kind: 'system', part: 'test' },
      );
      driver.ctx.reportAvailability(device.id, true);
      return device.id;
    },
    async addUser(token, username, role, password) {
      const res = await call('POST', '/api/v1/users', { token, body: { username, password, role } });
      if (res.statusCode !== 201) throw new Error(`adding ${username} failed: ${res.statusCode} ${res.body}`);
      return res.json().id as string;
    },
    async listen() {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.server.address();
      if (!address || typeof address === 'string') throw new Error('no address');
      return `ws://127.0.0.1:${address.port}`;
    },
    async close() {
      await app.close();
      await rules?.stop();
      await registry.stop();
      store.close();
      tmp.cleanup();
    },
  };
}

/** A URL for a route pattern: parameters and wildcards filled in. */
export function concrete(url: string): string {
  return url.replace(/:[A-Za-z]+/g, 'x1').replace(/\*$/, 'x1');
}
