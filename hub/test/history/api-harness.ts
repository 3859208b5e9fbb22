import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApi } from '../../src/api/build.ts';
import { AuthService } from '../../src/auth/service.ts';
import { EventBus } from '../../src/core/bus.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { validateConfig } from '../../src/core/config.ts';
import { createLogger } from '../../src/core/logger.ts';
import { DeviceRegistry } from '../../src/devices/registry.ts';
import type { Role } from '@hearth/model/values';
import { EnergyService } from '../../src/energy/service.ts';
import { HistoryService } from '../../src/history/service.ts';
import { hashPassword } from '../../src/auth/passwords.ts';
import { Store } from '../../src/store/store.ts';
import { EchoDriver, FakeBroker, OWNER } from '../api/harness.ts';
import { tempDir } from '../helpers/temp.ts';
import { readSetupCode } from '../helpers/http.ts';
import { apiParts } from '../helpers/api-parts.ts';

/**
 * The API with a real history part, as in test/api/harness.ts (which builds the API without
 * one): real store, registry with the echo driver, ManualClock, inject() without a socket.
 */
export async function historyApi(history: Record<string, unknown> = {}, start = Date.UTC(2026, 0, 1)) {
  const tmp = tempDir();
  const config = validateConfig({ dataDir: tmp.dir, history }, tmp.dir);
  const log = createLogger({ level: 'silent' });
  const store = Store.open(tmp.dir);
  const clock = new ManualClock(start);
  const bus = new EventBus(log);
  const driver = new EchoDriver();
  const registry = new DeviceRegistry({ store, bus, clock, log, commandTimeoutMs: config.devices.commandTimeoutMs });
  registry.registerDriver(driver);
  await registry.start();
  const historyService = new HistoryService({ store, bus, clock, log, config: config.history });
  await historyService.start();
  const auth = new AuthService({ store, bus, clock, log, config: config.auth, dataDir: tmp.dir });
  auth.openSetup();
  const parts = apiParts(store, bus);
  const app: FastifyInstance = await buildApi({
    config,
    ...parts,
    bus,
    clock,
    log,
    auth,
    registry,
    broker: new FakeBroker(),
    history: historyService,
    energy: new EnergyService({
      history: historyService,
      registry,
      settings: store.settings,
      audit: parts.audit,
      clock,
    }),
    version: '9.9.9-test',
    startedAt: clock.now(),
    partsHealth: () => ({}),
    uiDir: `${tmp.dir}/no-ui`,
  });
  const call = (
    method: InjectOptions['method'],
    url: string,
    token?: string,
    headers: Record<string, string> = {},
    body?: unknown,
  ): Promise<LightMyRequestResponse> =>
    app.inject({
      method,
      url,
      headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/setup',
    payload: { ...OWNER, setupCode: readSetupCode(tmp.dir) },
  });
  const ownerToken = res.json().accessToken as string;
  let users = 0;
  return {
    app,
    store,
    bus,
    clock,
    registry,
    driver,
    history: historyService,
    call,
    ownerToken,
    /** A user of `role` made in the store, logged in through the API; returns its access token. */
    async userToken(role: Role, username = `${role}${++users}`): Promise<string> {
      const password = `${username} password`;
      store.users.insert({
        id: `usr_${username}`,
        username,
        passwordHash: await hashPassword(password),
        role,
        createdAt: clock.now(),
      });
      const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
      if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
      return res.json().accessToken as string;
    },
    async addDevice(name: string, capabilities: string[]): Promise<string> {
      const { device } = await registry.create(
        { name, driver: 'echo', capabilities },
        { kind: 'system', part: 'test' },
      );
      return device.id;
    },
    async close() {
      await app.close();
      await historyService.stop();
      await registry.stop();
      store.close();
      tmp.cleanup();
    },
  };
}
