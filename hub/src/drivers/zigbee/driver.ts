import { valueProblem } from '@hearth/model/capabilities';
import type { Actor, StateValue } from '@hearth/model/values';
import { join } from 'node:path';
import { Controller, setLogger, Zcl, type Events, type Models } from 'zigbee-herdsman';
import type { EventBus, ZigbeeDeviceEvent } from '../../core/bus.ts';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Driver, DriverContext } from '../../devices/driver.ts';
import type { CreateDeviceInput } from '../../devices/registry.ts';
import type { DeviceRow } from '../../store/devices-repo.ts';
import { setLogger as setConvertersLogger } from 'zigbee-herdsman-converters';
import { converterCommandFor, deviceRange, type ExposeLike, stateFromConverted } from './exposes.ts';
import { ZigbeeAdoption } from './adoption.ts';
import { ZigbeeAvailability } from './availability.ts';
import { CONVERTER_OPTIONS, ZigbeeDefinitions } from './definitions.ts';
import { deviceIdFor, ieeeOf } from './ids.ts';
import { loadOrCreateNetwork, zigbeeDir } from './network.ts';

export type ZigbeeAdapter = 'zstack' | 'ember' | 'deconz' | 'zigate' | 'zboss';

export interface ZigbeeConfig {
  /** Serial device (`/dev/ttyUSB0`) or `tcp://host:port` (network coordinators, the test emulator). */
  port: string;
  adapter: ZigbeeAdapter;
  channel: number;
  /** A mains-powered device not heard from for this long is unavailable (it is pinged at half). */
  availabilityTimeoutS: number;
  /** The same for battery devices, which sleep and only report now and then. */
  batteryAvailabilityTimeoutS: number;
}

export interface ZigbeeDriverDeps {
  config: ZigbeeConfig;
  dataDir: string;
  log: Logger;
  bus: EventBus;
  clock: Clock;
  /** Creates the Hearth device for a joined Zigbee device (the registry, as the system). */
  adopt(input: CreateDeviceInput): Promise<void>;
  audit(actor: Actor, action: string, target: string, details: Record<string, unknown>): void;
}

export type ZigbeeState = 'starting' | 'running' | 'failed' | 'stopped';

export interface ZigbeeStatus {
  state: ZigbeeState;
  adapter: string;
  port: string;
  channel: number | null;
  permitJoin: boolean;
  /** When permit join ends (epoch ms), or null. */
  permitJoinUntil: number | null;
  devices: number;
  /** Failed starts since the coordinator last ran: `starting` with failures is a retry, not a first start. */
  failures: number;
}

const RESTART_BACKOFF_MS = [1000, 2000, 5000, 10_000, 30_000, 60_000];
const REMOVE_WAIT_MS = 5000;

export { deviceIdFor };

/**
 * Zigbee devices through a coordinator on a serial port (or TCP), driven by zigbee-herdsman.
 *
 * - The controller starts in the background when the driver starts and is restarted with back-off
 *   when it fails or the adapter disconnects: the hub runs without its radio, and says so in
 *   `status()`. Herdsman's database, its copy and the coordinator backup live in `DATA/zigbee/`.
 * - A device that joins (permit join) is interviewed by herdsman; once that succeeded it becomes a
 *   Hearth device `zb-<ieee>`. zigbee-herdsman-converters gives its definition (the model's, or
 *   one generated from its clusters; definitions.ts): capabilities from its exposes (exposes.ts),
 *   then its `configure` (binds, reporting, divisor and state reads) — adoption.ts.
 * - Messages go through the definition's fromZigbee converters (definitions.ts) into
 *   `reportState`; a command goes
 *   through its toZigbee converter, and the device's success default response (or its report)
 *   confirms it. A failure status in the default response fails the command with
 *   `device_rejected`; no answer is the registry's `device_timeout`.
 * - Availability: any frame from a device marks it available; one not heard from for
 *   `availabilityTimeoutS` (battery: `batteryAvailabilityTimeoutS`) becomes unavailable. Mains
 *   devices quiet for half that are pinged (a Basic cluster read) — availability.ts.
 * - Removing the device tells it to leave the network (ZDO leave), or forgets it if it does not
 *   answer.
 */
export class ZigbeeDriver implements Driver {
  readonly name = 'zigbee';
  readonly #deps: ZigbeeDriverDeps;
  #ctx: DriverContext | undefined;
  #controller: Controller | undefined;
  #state: ZigbeeState = 'stopped';
  #stopping = false;
  #attempt = 0;
  #restartTimer: TimerHandle | undefined;
  #channel: number | null = null;
  readonly #definitions: ZigbeeDefinitions;
  /**
   * The colour temperature last commanded per device, in Kelvin. Zigbee carries mireds: 2700 K
   * goes out as 370 and comes back as 2703 K. A report of the same mireds is the commanded value
   * (what confirms the command when the bulb's definition asks for no default response).
   */
  readonly #commandedKelvin = new Map<string, number>();
  readonly #adoption: ZigbeeAdoption;
  readonly #availability: ZigbeeAvailability;

  constructor(deps: ZigbeeDriverDeps) {
    this.#deps = deps;
    this.#availability = new ZigbeeAvailability({
      clock: deps.clock,
      availabilityTimeoutS: deps.config.availabilityTimeoutS,
      batteryAvailabilityTimeoutS: deps.config.batteryAvailabilityTimeoutS,
      ctx: () => this.#ctx,
      controller: () => this.#running(),
      ieeeOf,
    });
    this.#definitions = new ZigbeeDefinitions(deps.log);
    this.#adoption = new ZigbeeAdoption({
      log: deps.log,
      driver: this.name,
      definitions: this.#definitions,
      ctx: () => this.#ctx,
      controller: () => this.#controller,
      adopt: (input) => deps.adopt(input),
      event: (ieee, status, extra) => this.#event(ieee, status, extra),
      seen: (zd) => this.#seen(zd),
    });
  }

  async start(ctx: DriverContext): Promise<void> {
    this.#ctx = ctx;
    this.#stopping = false;
    const log = this.#deps.log;
    const logger = {
      debug: () => {},
      info: (m: string | (() => string), ns: string) => log.debug({ ns }, typeof m === 'function' ? m() : m),
      warning: (m: string | (() => string), ns: string) => log.warn({ ns }, typeof m === 'function' ? m() : m),
      error: (m: string | (() => string), ns: string) => log.error({ ns }, typeof m === 'function' ? m() : m),
    };
    setLogger(logger);
    setConvertersLogger(logger);
    // Every device is unavailable until the controller runs and has heard from it.
    for (const row of ctx.devices()) ctx.reportAvailability(row.id, false);
    this.#state = 'starting';
    void this.#run();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#restartTimer?.cancel();
    this.#availability.stop();
    const controller = this.#controller;
    this.#controller = undefined;
    if (controller) {
      try {
        await controller.stop();
      } catch (err) {
        this.#deps.log.warn({ err }, 'zigbee controller did not stop cleanly');
      }
    }
    this.#state = 'stopped';
    this.#ctx = undefined;
  }

  /**
   * Brings the Zigbee files in the data dir up to date for a backup of the hub: herdsman's
   * database and the coordinator backup (network key, device tables, NWK frame counter), which
   * herdsman otherwise writes only at start, once a day and at stop. A coordinator restored from
   * a stale one would start its frame counter below what the devices last took from the old one
   * (herdsman adds 2500), and they would drop its frames. Nothing to do unless it runs: the files
   * on disk are then the last the controller wrote.
   */
  async saveForBackup(): Promise<void> {
    const controller = this.#running();
    if (controller) await controller.backup();
  }

  status(): ZigbeeStatus {
    const c = this.#running();
    const until = c?.getPermitJoinEnd();
    return {
      state: this.#state,
      adapter: this.#deps.config.adapter,
      port: this.#deps.config.port,
      channel: this.#channel,
      permitJoin: c?.getPermitJoin() ?? false,
      permitJoinUntil: c?.getPermitJoin() && until ? until : null,
      devices: this.#ctx?.devices().length ?? 0,
      failures: this.#attempt,
    };
  }

  /** Opens the network for `seconds` (0 closes it). */
  async permitJoin(seconds: number, actor: Actor): Promise<ZigbeeStatus> {
    const controller = this.#running();
    if (!controller) throw new HubError('not_ready', `the Zigbee coordinator is not running (${this.#state})`);
    await controller.permitJoin(seconds);
    this.#deps.audit(actor, 'zigbee.permit_join', 'zigbee', { seconds });
    return this.status();
  }

  async command(device: DeviceRow, capability: string, value: StateValue): Promise<void> {
    const controller = this.#running();
    if (!controller)
      throw new HubError('device_unavailable', 'the Zigbee coordinator is not running', { deviceId: device.id });
    const zd = controller.getDeviceByIeeeAddr(ieeeOf(device));
    const converterState = this.#definitions.state(device.id);
    const wanted = converterCommandFor(capability, value, converterState);
    const definition = zd ? await this.#definitions.definition(zd) : undefined;
    // The device's own range (a bulb's colour temperature) narrows the model's, checked by the registry.
    if (zd && definition) {
      const exposes = (
        typeof definition.exposes === 'function' ? definition.exposes(zd as never, {}) : definition.exposes
      ) as ExposeLike[];
      const problem = valueProblem(capability, value, deviceRange(exposes, capability));
      if (problem) throw new HubError(problem.code, `device ${device.id}: ${problem.message}`, { field: 'value' });
    }
    const converter = wanted && definition?.toZigbee.find((t) => t.key?.includes(wanted.key) && t.convertSet);
    if (!zd || !wanted || !definition || !converter?.convertSet)
      throw new HubError('device_rejected', `device ${device.id} cannot take ${capability}`, { deviceId: device.id });
    const endpoint = zd.endpoints.find((e) => e.supportsInputCluster(wanted.cluster)) ?? zd.endpoints[0];
    if (!endpoint)
      throw new HubError('device_rejected', `device ${device.id} has no endpoint`, { deviceId: device.id });
    // The converter builds and sends the ZCL command(s); the endpoint is watched so the device's
    // default responses can be judged: herdsman hands them back unjudged, and the converter
    // ignores them. A success status confirms, a failure status is the device refusing.
    const answers: unknown[] = [];
    const watched = new Proxy(endpoint, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target) as unknown;
        if (prop === 'command' && typeof v === 'function') {
          return async (...args: unknown[]) => {
            const answer = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            answers.push(answer);
            return answer;
          };
        }
        // An attribute write (power-on behaviour) answers with a write response, not a default
        // response: herdsman throws on a failure status, so one that returns was accepted.
        if (prop === 'write' && typeof v === 'function') {
          return async (...args: unknown[]) => {
            const answer = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            answers.push({ statusCode: Zcl.Status.SUCCESS });
            return answer;
          };
        }
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const meta = {
      message: { [wanted.key]: wanted.value },
      device: zd,
      mapped: definition,
      options: CONVERTER_OPTIONS,
      state: converterState,
      endpoint_name: undefined,
      publish: () => {},
      deviceExposesChanged: () => {},
    };
    if (capability === 'color_temp' && typeof value === 'number') this.#commandedKelvin.set(device.id, value);
    // Sent now; the answer arrives later (or not: the registry's timeout answers then).
    Promise.resolve(converter.convertSet(watched, wanted.key, wanted.value, meta)).then(
      (result) => {
        // What the converter says the device now is (a colour's other half): kept, as Zigbee2MQTT does.
        const said = (result as { state?: unknown } | undefined)?.state;
        if (said && typeof said === 'object') Object.assign(converterState, said);
        const codes = answers
          .map((a) => (a as { statusCode?: unknown } | undefined)?.statusCode)
          .filter((c): c is number => typeof c === 'number');
        const failed = codes.find((c) => c !== Zcl.Status.SUCCESS);
        if (failed !== undefined) this.#refused(device, capability, failed);
        else if (codes.length > 0) this.#ctx?.reportState(device.id, { [capability]: value });
        // No default response asked for (the definition disables them): the device's report confirms.
      },
      (err: Error) => {
        if (err instanceof Zcl.StatusError) this.#refused(device, capability, err.code);
        else this.#deps.log.debug({ deviceId: device.id, err: err.message }, 'zigbee command got no answer');
      },
    );
  }

  #refused(device: DeviceRow, capability: string, code: number): void {
    const status = Zcl.Status[code] ?? `0x${code.toString(16)}`;
    this.#ctx?.failCommands(
      device.id,
      new HubError('device_rejected', `device ${device.id} refused ${capability}: ${status}`, {
        deviceId: device.id,
        status,
      }),
    );
  }

  async deviceRemoved(device: DeviceRow): Promise<void> {
    this.#definitions.forget(ieeeOf(device), device.id);
    this.#commandedKelvin.delete(device.id);
    const zd = this.#controller?.getDeviceByIeeeAddr(ieeeOf(device));
    if (!zd) return;
    let timer: TimerHandle | undefined;
    try {
      await Promise.race([
        zd.removeFromNetwork(),
        new Promise((_resolve, reject) => {
          timer = this.#deps.clock.setTimeout(() => reject(new Error('no leave response')), REMOVE_WAIT_MS);
        }),
      ]);
    } catch (err) {
      // It did not answer (gone, asleep): forget it here; if it comes back it must join again.
      this.#deps.log.warn(
        { deviceId: device.id, err: (err as Error).message },
        'zigbee device did not confirm leaving; forgotten',
      );
      try {
        zd.removeFromDatabase();
      } catch {
        /* already gone */
      }
    } finally {
      timer?.cancel();
    }
  }

  // ---- controller lifecycle ---------------------------------------------------------------

  #running(): Controller | undefined {
    return this.#state === 'running' ? this.#controller : undefined;
  }

  async #run(): Promise<void> {
    const { config, dataDir, log } = this.#deps;
    this.#state = 'starting';
    let controller: Controller | undefined;
    try {
      const network = loadOrCreateNetwork(dataDir);
      const dir = zigbeeDir(dataDir);
      controller = new Controller({
        network: {
          panID: network.panId,
          extendedPanID: network.extendedPanId,
          networkKey: network.networkKey,
          channelList: [config.channel],
        },
        serialPort: { path: config.port, adapter: config.adapter },
        databasePath: join(dir, 'database.db'),
        databaseBackupPath: join(dir, 'database.db.backup'),
        backupPath: join(dir, 'coordinator_backup.json'),
        adapter: { disableLED: false },
        acceptJoiningDeviceHandler: async () => true,
      });
      this.#controller = controller;
      this.#listen(controller);
      const result = await controller.start();
      if (this.#stopping) return;
      this.#channel = (await controller.getNetworkParameters()).channel;
      this.#state = 'running';
      this.#attempt = 0;
      log.info(
        { result, port: config.port, adapter: config.adapter, channel: this.#channel },
        'zigbee coordinator started',
      );
      this.#reconcile(controller);
      this.#availability.start();
    } catch (err) {
      if (this.#stopping) return;
      log.error({ err: (err as Error).message, port: config.port }, 'zigbee coordinator failed to start');
      this.#state = 'failed';
      if (controller && this.#controller === controller) {
        this.#controller = undefined;
        controller.removeAllListeners();
        await controller.stop().catch(() => {});
      }
      this.#scheduleRestart();
    }
  }

  #scheduleRestart(): void {
    if (this.#stopping) return;
    const delay = RESTART_BACKOFF_MS[Math.min(this.#attempt++, RESTART_BACKOFF_MS.length - 1)]!;
    this.#restartTimer = this.#deps.clock.setTimeout(() => void this.#run(), delay);
  }

  #listen(controller: Controller): void {
    const guard =
      <A extends unknown[]>(what: string, fn: (...args: A) => void | Promise<void>) =>
      (...args: A) => {
        try {
          const result = fn(...args);
          if (result instanceof Promise)
            result.catch((err: unknown) => this.#deps.log.error({ err, what }, 'zigbee event handler failed'));
        } catch (err) {
          this.#deps.log.error({ err, what }, 'zigbee event handler failed');
        }
      };
    controller.on(
      'message',
      guard('message', (m: Events.MessagePayload) => this.#onMessage(m)),
    );
    controller.on(
      'deviceJoined',
      guard('deviceJoined', (e: Events.DeviceJoinedPayload) => this.#event(e.device.ieeeAddr, 'joined')),
    );
    controller.on(
      'deviceInterview',
      guard('deviceInterview', (e: Events.DeviceInterviewPayload) => this.#adoption.onInterview(e)),
    );
    controller.on(
      'deviceAnnounce',
      guard('deviceAnnounce', (e: Events.DeviceAnnouncePayload) => this.#seen(e.device)),
    );
    controller.on(
      'lastSeenChanged',
      guard('lastSeenChanged', (e: Events.LastSeenChangedPayload) => this.#seen(e.device)),
    );
    controller.on(
      'deviceLeave',
      guard('deviceLeave', (e: Events.DeviceLeavePayload) => this.#onLeave(e.ieeeAddr)),
    );
    controller.on(
      'permitJoinChanged',
      guard('permitJoinChanged', (e: Events.PermitJoinChangedPayload) => {
        this.#deps.bus.emit('zigbee.permit_join', {
          permitted: e.permitted,
          ...(e.time !== undefined ? { seconds: e.time } : {}),
          at: this.#deps.clock.now(),
        });
      }),
    );
    controller.on(
      'adapterDisconnected',
      guard('adapterDisconnected', () => this.#onDisconnected(controller)),
    );
  }

  async #onDisconnected(controller: Controller): Promise<void> {
    if (this.#stopping || this.#controller !== controller) return;
    this.#deps.log.error('zigbee adapter disconnected; restarting');
    this.#controller = undefined;
    this.#state = 'failed';
    this.#availability.stop();
    controller.removeAllListeners();
    for (const row of this.#ctx?.devices() ?? []) this.#ctx?.reportAvailability(row.id, false);
    // Saves herdsman's database and clears its (process-wide) device cache for the next controller.
    await controller
      .stop()
      .catch((err: unknown) => this.#deps.log.warn({ err }, 'zigbee controller did not stop cleanly'));
    this.#scheduleRestart();
  }

  /** Devices herdsman knows (interviewed) that are not Hearth devices yet: the hub stopped mid-way. */
  #reconcile(controller: Controller): void {
    const ctx = this.#ctx;
    if (!ctx) return;
    for (const zd of controller.getDevicesIterator((d) => d.type !== 'Coordinator')) {
      const id = deviceIdFor(zd.ieeeAddr);
      if (ctx.device(id)) {
        if (zd.lastSeen !== undefined && this.#deps.clock.now() - zd.lastSeen < this.#availability.timeoutMs(zd))
          ctx.reportAvailability(id, true);
      } else if (zd.interviewState === 'SUCCESSFUL') {
        void this.#adoption
          .adopt(zd)
          .catch((err: unknown) =>
            this.#deps.log.error({ err, ieee: zd.ieeeAddr }, 'zigbee device could not be added'),
          );
      }
    }
  }

  // ---- what devices say -------------------------------------------------------------------

  #event(ieee: string, status: ZigbeeDeviceEvent['status'], extra: Partial<ZigbeeDeviceEvent> = {}): void {
    this.#deps.bus.emit('zigbee.device', { ieee, status, ...extra, at: this.#deps.clock.now() });
  }

  async #onMessage(m: Events.MessagePayload): Promise<void> {
    const ctx = this.#ctx;
    const id = deviceIdFor(m.device.ieeeAddr);
    if (!ctx?.device(id)) return;
    this.#seen(m.device);
    const definition = await this.#definitions.definition(m.device);
    if (!definition) return;
    const payload = await this.#definitions.convert(definition, id, m);
    const values = stateFromConverted(payload);
    const kelvin = this.#commandedKelvin.get(id);
    if (kelvin !== undefined && typeof values.color_temp === 'number') {
      if (Math.round(1_000_000 / values.color_temp) === Math.round(1_000_000 / kelvin)) values.color_temp = kelvin;
      else this.#commandedKelvin.delete(id);
    }
    if (Object.keys(values).length > 0) ctx.reportState(id, values);
  }

  #seen(zd: Models.Device): void {
    const id = deviceIdFor(zd.ieeeAddr);
    const row = this.#ctx?.device(id);
    if (row && !row.available) this.#ctx!.reportAvailability(id, true);
  }

  #onLeave(ieee: string): void {
    const id = deviceIdFor(ieee);
    if (this.#ctx?.device(id)) this.#ctx.reportAvailability(id, false);
    this.#event(ieee, 'left', { deviceId: id });
  }
}
