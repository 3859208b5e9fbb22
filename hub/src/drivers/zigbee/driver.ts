import { join } from 'node:path';
import { Controller, setLogger, Zcl, type Events, type Models } from 'zigbee-herdsman';
import type { Actor, EventBus, StateValue, ZigbeeDeviceEvent } from '../../core/bus.ts';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Driver, DriverContext } from '../../devices/driver.ts';
import type { CreateDeviceInput } from '../../devices/registry.ts';
import type { DeviceRow } from '../../store/devices-repo.ts';
import { CLUSTERS, SCALE_ATTRIBUTES, scalesFromRead, stateFromZcl, zclCommandFor, type Scales } from './clusters.ts';
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
}

const DEVICE_ID_PREFIX = 'zb-';
const RESTART_BACKOFF_MS = [1000, 2000, 5000, 10_000, 30_000, 60_000];
const REMOVE_WAIT_MS = 5000;

/** The Hearth device id of a Zigbee device: its IEEE address, which never changes. */
export function deviceIdFor(ieeeAddr: string): string {
  return `${DEVICE_ID_PREFIX}${ieeeAddr.replace(/^0x/, '').toLowerCase()}`;
}

/**
 * Zigbee devices through a coordinator on a serial port (or TCP), driven by zigbee-herdsman.
 *
 * - The controller starts in the background when the driver starts and is restarted with back-off
 *   when it fails or the adapter disconnects: the hub runs without its radio, and says so in
 *   `status()`. Herdsman's database, its copy and the coordinator backup live in `DATA/zigbee/`.
 * - A device that joins (permit join) is interviewed by herdsman; once that succeeded it becomes a
 *   Hearth device `zb-<ieee>` with capabilities from its clusters (clusters.ts), its scaling
 *   attributes read once, its state read and its reporting configured.
 * - Reports and read responses become `reportState`; a command goes out as a ZCL cluster command
 *   and the device's success default response (or its report) confirms it. A failure status in
 *   the default response fails the command with `device_rejected`; no answer is the registry's
 *   `device_timeout`.
 * - Availability: any frame from a device marks it available; one not heard from for
 *   `availabilityTimeoutS` (battery: `batteryAvailabilityTimeoutS`) becomes unavailable. Mains
 *   devices quiet for half that are pinged (a Basic cluster read).
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
  #sweepTimer: TimerHandle | undefined;
  #channel: number | null = null;
  #adopting = new Set<string>();
  #pinging = new Set<string>();

  constructor(deps: ZigbeeDriverDeps) {
    this.#deps = deps;
  }

  async start(ctx: DriverContext): Promise<void> {
    this.#ctx = ctx;
    this.#stopping = false;
    const log = this.#deps.log;
    setLogger({
      debug: () => {},
      info: (m, ns) => log.debug({ ns }, typeof m === 'function' ? m() : m),
      warning: (m, ns) => log.warn({ ns }, typeof m === 'function' ? m() : m),
      error: (m, ns) => log.error({ ns }, m),
    });
    // Every device is unavailable until the controller runs and has heard from it.
    for (const row of ctx.devices()) ctx.reportAvailability(row.id, false);
    this.#state = 'starting';
    void this.#run();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#restartTimer?.cancel();
    this.#sweepTimer?.cancel();
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
    if (!controller) throw new HubError('device_unavailable', 'the Zigbee coordinator is not running', { deviceId: device.id });
    const zd = controller.getDeviceByIeeeAddr(ieeeOf(device));
    const zcl = zclCommandFor(capability, value);
    if (!zd || !zcl) throw new HubError('device_rejected', `device ${device.id} cannot take ${capability}`, { deviceId: device.id });
    const endpoint = zd.endpoints.find((e) => e.supportsInputCluster(zcl.cluster));
    if (!endpoint) throw new HubError('device_rejected', `device ${device.id} has no ${zcl.cluster} cluster`, { deviceId: device.id });
    // Sent now; the default response arrives later (or not: the registry's timeout answers then).
    loose(endpoint).command(zcl.cluster, zcl.command, zcl.payload, { disableDefaultResponse: false }).then(
      (response) => {
        // herdsman hands back the default response without judging its status: a failure status
        // is the device refusing the command, success is its confirmation.
        const code = (response as { statusCode?: unknown } | undefined)?.statusCode;
        if (typeof code === 'number' && code !== Zcl.Status.SUCCESS) this.#refused(device, capability, code);
        else this.#ctx?.reportState(device.id, { [capability]: value });
      },
      (err: Error) => {
        if (err instanceof Zcl.StatusError) this.#refused(device, capability, err.code);
        else this.#deps.log.debug({ deviceId: device.id, err: err.message }, 'zigbee command got no answer');
      },
    );
  }

  #refused(device: DeviceRow, capability: string, code: number): void {
    const status = Zcl.Status[code] ?? `0x${code.toString(16)}`;
    this.#ctx?.failCommands(device.id, new HubError('device_rejected', `device ${device.id} refused ${capability}: ${status}`, { deviceId: device.id, status }));
  }

  async deviceRemoved(device: DeviceRow): Promise<void> {
    const zd = this.#controller?.getDeviceByIeeeAddr(ieeeOf(device));
    if (!zd) return;
    let timer: TimerHandle | undefined;
    try {
      await Promise.race([
        zd.removeFromNetwork(),
        new Promise((_resolve, reject) => { timer = this.#deps.clock.setTimeout(() => reject(new Error('no leave response')), REMOVE_WAIT_MS); }),
      ]);
    } catch (err) {
      // It did not answer (gone, asleep): forget it here; if it comes back it must join again.
      this.#deps.log.warn({ deviceId: device.id, err: (err as Error).message }, 'zigbee device did not confirm leaving; forgotten');
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
        network: { panID: network.panId, extendedPanID: network.extendedPanId, networkKey: network.networkKey, channelList: [config.channel] },
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
      log.info({ result, port: config.port, adapter: config.adapter, channel: this.#channel }, 'zigbee coordinator started');
      this.#reconcile(controller);
      this.#scheduleSweep();
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
    const guard = <A extends unknown[]>(what: string, fn: (...args: A) => void | Promise<void>) => (...args: A) => {
      try {
        const result = fn(...args);
        if (result instanceof Promise) result.catch((err: unknown) => this.#deps.log.error({ err, what }, 'zigbee event handler failed'));
      } catch (err) {
        this.#deps.log.error({ err, what }, 'zigbee event handler failed');
      }
    };
    controller.on('message', guard('message', (m: Events.MessagePayload) => this.#onMessage(m)));
    controller.on('deviceJoined', guard('deviceJoined', (e: Events.DeviceJoinedPayload) => this.#event(e.device.ieeeAddr, 'joined')));
    controller.on('deviceInterview', guard('deviceInterview', (e: Events.DeviceInterviewPayload) => this.#onInterview(e)));
    controller.on('deviceAnnounce', guard('deviceAnnounce', (e: Events.DeviceAnnouncePayload) => this.#seen(e.device)));
    controller.on('lastSeenChanged', guard('lastSeenChanged', (e: Events.LastSeenChangedPayload) => this.#seen(e.device)));
    controller.on('deviceLeave', guard('deviceLeave', (e: Events.DeviceLeavePayload) => this.#onLeave(e.ieeeAddr)));
    controller.on('permitJoinChanged', guard('permitJoinChanged', (e: Events.PermitJoinChangedPayload) => {
      this.#deps.bus.emit('zigbee.permit_join', { permitted: e.permitted, ...(e.time !== undefined ? { seconds: e.time } : {}), at: this.#deps.clock.now() });
    }));
    controller.on('adapterDisconnected', guard('adapterDisconnected', () => this.#onDisconnected(controller)));
  }

  async #onDisconnected(controller: Controller): Promise<void> {
    if (this.#stopping || this.#controller !== controller) return;
    this.#deps.log.error('zigbee adapter disconnected; restarting');
    this.#controller = undefined;
    this.#state = 'failed';
    this.#sweepTimer?.cancel();
    controller.removeAllListeners();
    for (const row of this.#ctx?.devices() ?? []) this.#ctx?.reportAvailability(row.id, false);
    // Saves herdsman's database and clears its (process-wide) device cache for the next controller.
    await controller.stop().catch((err: unknown) => this.#deps.log.warn({ err }, 'zigbee controller did not stop cleanly'));
    this.#scheduleRestart();
  }

  /** Devices herdsman knows (interviewed) that are not Hearth devices yet: the hub stopped mid-way. */
  #reconcile(controller: Controller): void {
    const ctx = this.#ctx;
    if (!ctx) return;
    for (const zd of controller.getDevicesIterator((d) => d.type !== 'Coordinator')) {
      const id = deviceIdFor(zd.ieeeAddr);
      if (ctx.device(id)) {
        if (zd.lastSeen !== undefined && this.#deps.clock.now() - zd.lastSeen < this.#timeoutMs(zd)) ctx.reportAvailability(id, true);
      } else if (zd.interviewState === 'SUCCESSFUL') {
        void this.#adopt(zd).catch((err: unknown) => this.#deps.log.error({ err, ieee: zd.ieeeAddr }, 'zigbee device could not be added'));
      }
    }
  }

  // ---- what devices say -------------------------------------------------------------------

  #event(ieee: string, status: ZigbeeDeviceEvent['status'], extra: Partial<ZigbeeDeviceEvent> = {}): void {
    this.#deps.bus.emit('zigbee.device', { ieee, status, ...extra, at: this.#deps.clock.now() });
  }

  async #onInterview(e: Events.DeviceInterviewPayload): Promise<void> {
    const zd = e.device;
    if (e.status === 'started') return this.#event(zd.ieeeAddr, 'interviewing');
    if (e.status === 'failed') return this.#event(zd.ieeeAddr, 'interview_failed', zd.modelID ? { model: zd.modelID } : {});
    if (this.#ctx?.device(deviceIdFor(zd.ieeeAddr))) {
      // A known device that was interviewed again (it rejoined): it is back.
      this.#seen(zd);
      return;
    }
    await this.#adopt(zd);
  }

  async #adopt(zd: Models.Device): Promise<void> {
    const ctx = this.#ctx;
    const id = deviceIdFor(zd.ieeeAddr);
    if (!ctx || ctx.device(id) || this.#adopting.has(id)) return;
    this.#adopting.add(id);
    try {
      let scales: Scales = {};
      for (const [cluster, attributes] of Object.entries(SCALE_ATTRIBUTES)) {
        const endpoint = zd.endpoints.find((e) => e.supportsInputCluster(cluster));
        if (!endpoint) continue;
        // One at a time: a device that lacks one attribute answers the others.
        for (const attribute of attributes) {
          try {
            scales = scalesFromRead(cluster, await loose(endpoint).read(cluster, [attribute]), scales);
          } catch {
            /* optional */
          }
        }
      }
      // The current state, attribute by attribute: it also tells which readings the device has
      // (a plug with an electrical measurement cluster may still have no voltage).
      const state: Record<string, StateValue> = {};
      const capabilities = new Set<string>();
      for (const mapping of CLUSTERS) {
        const endpoint = zd.endpoints.find((e) => e.supportsInputCluster(mapping.cluster));
        if (!endpoint) continue;
        let answered = false;
        for (const attribute of mapping.attributes) {
          try {
            const values = stateFromZcl(mapping.cluster, await loose(endpoint).read(mapping.cluster, [attribute]), scales);
            for (const [capability, value] of Object.entries(values)) {
              state[capability] = value;
              capabilities.add(capability);
            }
            answered = true;
          } catch {
            /* not every device has every attribute */
          }
        }
        // A sleepy sensor answers no read: it gets what its cluster can report.
        if (!answered) for (const c of mapping.capabilities(scales)) capabilities.add(c);
      }
      const model = zd.modelID ?? 'zigbee';
      if (capabilities.size === 0) {
        const clusters = zd.endpoints.flatMap((e) => e.getInputClusters().map((c) => c.name));
        this.#deps.log.warn({ ieee: zd.ieeeAddr, model, clusters }, 'zigbee device has no cluster Hearth maps; not added');
        this.#event(zd.ieeeAddr, 'unsupported', { model });
        return;
      }
      await this.#deps.adopt({
        id,
        name: [zd.manufacturerName, zd.modelID].filter(Boolean).join(' ') || `Zigbee ${zd.ieeeAddr}`,
        driver: this.name,
        model,
        capabilities: [...capabilities],
        config: { ieee: zd.ieeeAddr, manufacturer: zd.manufacturerName ?? null, scales },
      });
      ctx.reportAvailability(id, true);
      ctx.reportState(id, state);
      this.#event(zd.ieeeAddr, 'added', { deviceId: id, model });
      await this.#setUpReporting(zd);
    } finally {
      this.#adopting.delete(id);
    }
  }

  /** Binds the device's clusters to the coordinator and asks it to report changes (best effort). */
  async #setUpReporting(zd: Models.Device): Promise<void> {
    const coordinator = this.#controller?.getDevicesByType('Coordinator')[0]?.getEndpoint(1);
    for (const mapping of CLUSTERS) {
      const endpoint = zd.endpoints.find((e) => e.supportsInputCluster(mapping.cluster));
      if (!endpoint) continue;
      if (!coordinator) continue;
      try {
        await endpoint.bind(mapping.cluster, coordinator);
        await loose(endpoint).configureReporting(mapping.cluster, mapping.attributes.map((attribute) => ({ attribute, minimumReportInterval: 1, maximumReportInterval: 300, reportableChange: 1 })));
      } catch (err) {
        this.#deps.log.debug({ ieee: zd.ieeeAddr, cluster: mapping.cluster, err: (err as Error).message }, 'zigbee reporting not configured');
      }
    }
  }

  #onMessage(m: Events.MessagePayload): void {
    const ctx = this.#ctx;
    const id = deviceIdFor(m.device.ieeeAddr);
    const row = ctx?.device(id);
    if (!ctx || !row) return;
    this.#seen(m.device);
    const cluster = typeof m.cluster === 'string' ? m.cluster : '';
    let data: Record<string, unknown> | undefined;
    if ((m.type === 'attributeReport' || m.type === 'readResponse') && m.data && typeof m.data === 'object' && !Array.isArray(m.data) && !Buffer.isBuffer(m.data)) {
      data = m.data as Record<string, unknown>;
    } else if (m.type === 'commandStatusChangeNotification' && cluster === 'ssIasZone') {
      data = { zoneStatus: (m.data as Record<string, unknown>).zonestatus };
    }
    if (!data) return;
    const values = stateFromZcl(cluster, data, scalesOf(row));
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

  // ---- availability -----------------------------------------------------------------------

  #timeoutMs(zd: Models.Device): number {
    const battery = zd.powerSource === 'Battery' || zd.type === 'EndDevice';
    return (battery ? this.#deps.config.batteryAvailabilityTimeoutS : this.#deps.config.availabilityTimeoutS) * 1000;
  }

  #scheduleSweep(): void {
    const every = Math.max(1000, Math.min(30_000, (this.#deps.config.availabilityTimeoutS * 1000) / 4));
    this.#sweepTimer = this.#deps.clock.setTimeout(() => {
      this.#sweep();
      if (!this.#stopping && this.#state === 'running') this.#scheduleSweep();
    }, every);
  }

  #sweep(): void {
    const ctx = this.#ctx;
    const controller = this.#running();
    if (!ctx || !controller) return;
    const now = this.#deps.clock.now();
    for (const row of ctx.devices()) {
      const zd = controller.getDeviceByIeeeAddr(ieeeOf(row));
      if (!zd) continue;
      const age = now - (zd.lastSeen ?? 0);
      const timeout = this.#timeoutMs(zd);
      if (row.available && age > timeout) ctx.reportAvailability(row.id, false);
      else if (age > timeout / 2 && zd.type === 'Router' && !this.#pinging.has(row.id)) void this.#ping(row.id, zd);
    }
  }

  async #ping(id: string, zd: Models.Device): Promise<void> {
    const endpoint = zd.endpoints.find((e) => e.supportsInputCluster('genBasic')) ?? zd.endpoints[0];
    if (!endpoint) return;
    this.#pinging.add(id);
    try {
      await loose(endpoint).read('genBasic', ['zclVersion'], { disableRecovery: true });
    } catch {
      /* no answer: the sweep marks it unavailable once the timeout passes */
    } finally {
      this.#pinging.delete(id);
    }
  }
}

/**
 * Herdsman types cluster, command and attribute names as literal unions; the driver works from
 * its own tables of names (clusters.ts), so it calls endpoints through this looser view.
 */
interface LooseEndpoint {
  command(cluster: string, command: string, payload: Record<string, unknown>, options?: Record<string, unknown>): Promise<unknown>;
  read(cluster: string, attributes: string[], options?: Record<string, unknown>): Promise<Record<string, unknown>>;
  configureReporting(cluster: string, items: Array<{ attribute: string; minimumReportInterval: number; maximumReportInterval: number; reportableChange: number }>): Promise<void>;
}

function loose(endpoint: Models.Endpoint): LooseEndpoint {
  return endpoint as unknown as LooseEndpoint;
}

function ieeeOf(row: DeviceRow): string {
  const ieee = row.config.ieee;
  return typeof ieee === 'string' ? ieee : `0x${row.id.slice(DEVICE_ID_PREFIX.length)}`;
}

function scalesOf(row: DeviceRow): Scales {
  const s = row.config.scales;
  return s && typeof s === 'object' ? (s as Scales) : {};
}
