import type { Controller, Models } from 'zigbee-herdsman';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { DriverContext } from '../../devices/driver.ts';
import type { DeviceRow } from '../../store/devices-repo.ts';

export interface AvailabilityDeps {
  clock: Clock;
  /** A mains-powered device not heard from for this long is unavailable (it is pinged at half). */
  availabilityTimeoutS: number;
  /** The same for battery devices, which sleep and only report now and then. */
  batteryAvailabilityTimeoutS: number;
  /** The driver's context and running controller, while there are both. */
  ctx(): DriverContext | undefined;
  controller(): Controller | undefined;
  /** The herdsman IEEE address of a Hearth device row. */
  ieeeOf(row: DeviceRow): string;
}

/**
 * Zigbee availability from last seen: a periodic sweep marks a device unavailable once it has
 * been silent longer than its timeout, and pings a router at half of it, so a quiet but present
 * plug stays available (sleeping battery devices are never pinged).
 */
export class ZigbeeAvailability {
  readonly #deps: AvailabilityDeps;
  #timer: TimerHandle | undefined;
  readonly #pinging = new Set<string>();

  constructor(deps: AvailabilityDeps) {
    this.#deps = deps;
  }

  timeoutMs(zd: Models.Device): number {
    const battery = zd.powerSource === 'Battery' || zd.type === 'EndDevice';
    return (battery ? this.#deps.batteryAvailabilityTimeoutS : this.#deps.availabilityTimeoutS) * 1000;
  }

  /** Sweeps every quarter timeout (1–30 s) until `stop()`. */
  start(): void {
    this.stop();
    const every = Math.max(1000, Math.min(30_000, (this.#deps.availabilityTimeoutS * 1000) / 4));
    const tick = () => {
      this.#sweep();
      this.#timer = this.#deps.clock.setTimeout(tick, every);
    };
    this.#timer = this.#deps.clock.setTimeout(tick, every);
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #sweep(): void {
    const ctx = this.#deps.ctx();
    const controller = this.#deps.controller();
    if (!ctx || !controller) return;
    const now = this.#deps.clock.now();
    for (const row of ctx.devices()) {
      const zd = controller.getDeviceByIeeeAddr(this.#deps.ieeeOf(row));
      if (!zd) continue;
      const age = now - (zd.lastSeen ?? 0);
      const timeout = this.timeoutMs(zd);
      if (row.available && age > timeout) ctx.reportAvailability(row.id, false);
      else if (age > timeout / 2 && zd.type === 'Router' && !this.#pinging.has(row.id)) void this.#ping(row.id, zd);
    }
  }

  async #ping(id: string, zd: Models.Device): Promise<void> {
    const endpoint = zd.endpoints.find((e) => e.supportsInputCluster('genBasic')) ?? zd.endpoints[0];
    if (!endpoint) return;
    this.#pinging.add(id);
    try {
      await endpoint.read('genBasic', ['zclVersion'], { disableRecovery: true });
    } catch {
      /* no answer: the sweep marks it unavailable once the timeout passes */
    } finally {
      this.#pinging.delete(id);
    }
  }
}
