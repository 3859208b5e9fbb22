import type { Controller, Events, Models } from 'zigbee-herdsman';
import type { ZigbeeDeviceEvent } from '../../core/bus.ts';
import type { Logger } from '../../core/logger.ts';
import type { DriverContext } from '../../devices/driver.ts';
import type { CreateDeviceInput } from '../../devices/registry.ts';
import type { ZigbeeDefinitions } from './definitions.ts';
import { capabilitiesFromExposes, type ExposeLike } from './exposes.ts';
import { deviceIdFor } from './ids.ts';

export interface AdoptionDeps {
  log: Logger;
  /** The driver's name, written on the devices it adopts. */
  driver: string;
  definitions: ZigbeeDefinitions;
  /** The driver's context and current controller, while there are both. */
  ctx(): DriverContext | undefined;
  controller(): Controller | undefined;
  /** Creates the Hearth device (the registry, as the system). */
  adopt(input: CreateDeviceInput): Promise<void>;
  /** Emits a `zigbee.device` event. */
  event(ieee: string, status: ZigbeeDeviceEvent['status'], extra?: Partial<ZigbeeDeviceEvent>): void;
  /** A known device was heard from (it is available). */
  seen(zd: Models.Device): void;
}

/**
 * From interview to Hearth device: herdsman interviews a device that joined; once that succeeded
 * it becomes the Hearth device `zb-<ieee>`, with capabilities from its converter definition's
 * exposes (exposes.ts), then the definition's `configure` runs (binds, reporting, divisor and
 * state reads). A device that exposes nothing Hearth maps is reported `unsupported`, not added.
 */
export class ZigbeeAdoption {
  readonly #deps: AdoptionDeps;
  /** Devices being adopted: interview events and reconciling can race for the same device. */
  readonly #adopting = new Set<string>();

  constructor(deps: AdoptionDeps) {
    this.#deps = deps;
  }

  async onInterview(e: Events.DeviceInterviewPayload): Promise<void> {
    const zd = e.device;
    if (e.status === 'started') return this.#deps.event(zd.ieeeAddr, 'interviewing');
    if (e.status === 'failed')
      return this.#deps.event(zd.ieeeAddr, 'interview_failed', zd.modelID ? { model: zd.modelID } : {});
    if (this.#deps.ctx()?.device(deviceIdFor(zd.ieeeAddr))) {
      // A known device that was interviewed again (it rejoined): it is back.
      this.#deps.seen(zd);
      return;
    }
    await this.adopt(zd);
  }

  async adopt(zd: Models.Device): Promise<void> {
    const { log, definitions } = this.#deps;
    const ctx = this.#deps.ctx();
    const id = deviceIdFor(zd.ieeeAddr);
    if (!ctx || ctx.device(id) || this.#adopting.has(id)) return;
    this.#adopting.add(id);
    try {
      const definition = await definitions.definition(zd);
      const exposes = (
        typeof definition?.exposes === 'function' ? definition.exposes(zd as never, {}) : (definition?.exposes ?? [])
      ) as ExposeLike[];
      const capabilities = capabilitiesFromExposes(exposes);
      const model = definition?.model ?? zd.modelID ?? 'zigbee';
      if (!definition || capabilities.length === 0) {
        log.warn(
          { ieee: zd.ieeeAddr, model, exposes: exposes.map((e) => e.property ?? e.type) },
          'zigbee device exposes nothing Hearth maps; not added',
        );
        this.#deps.event(zd.ieeeAddr, 'unsupported', { model });
        return;
      }
      const vendor = definition.generated ? zd.manufacturerName : definition.vendor;
      await this.#deps.adopt({
        id,
        name: [vendor, zd.modelID ?? definition.model].filter(Boolean).join(' ') || `Zigbee ${zd.ieeeAddr}`,
        driver: this.#deps.driver,
        model,
        capabilities,
        config: {
          ieee: zd.ieeeAddr,
          manufacturer: zd.manufacturerName ?? null,
          vendor: definition.vendor,
          generated: Boolean(definition.generated),
        },
      });
      ctx.reportAvailability(id, true);
      this.#deps.event(zd.ieeeAddr, 'added', { deviceId: id, model });
      // The definition's configure: binds, reporting, and reads of the divisors and the state
      // (their answers arrive as messages, now that the device exists).
      const coordinator = this.#deps.controller()?.getDevicesByType('Coordinator')[0]?.getEndpoint(1);
      if (definition.configure && coordinator) {
        try {
          await definition.configure(zd as never, coordinator as never, definition);
        } catch (err) {
          log.warn({ ieee: zd.ieeeAddr, err: (err as Error).message }, 'zigbee device configure failed');
        }
      }
      // herdsman writes its database every 5 minutes; the divisors and binds just learnt go now.
      zd.save();
    } finally {
      this.#adopting.delete(id);
    }
  }
}
