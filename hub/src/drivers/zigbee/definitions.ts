import type { Events, Models } from 'zigbee-herdsman';
import { findByDevice, postProcessConvertedFromZigbeeMessage, type Definition } from 'zigbee-herdsman-converters';
import type { Logger } from '../../core/logger.ts';

/**
 * Converter options (Zigbee2MQTT's per-device options), the same for every device. Readings are
 * rounded to the converters' default precision (power/voltage/current 2 decimals, temperature 2)
 * except energy: 3 decimals of kWh (1 Wh), not the default 10 Wh, for history's counters.
 */
export const CONVERTER_OPTIONS = { energy_precision: 3 };

/**
 * What zigbee-herdsman-converters knows of each device: its definition (a known model's, or one
 * generated from its clusters), cached by IEEE address, and its state as the converters see it
 * (some converters read back what they reported before). Also turns a herdsman message into the
 * converters' payload through the definition's fromZigbee converters.
 */
export class ZigbeeDefinitions {
  readonly #log: Logger;
  readonly #definitions = new Map<string, Definition>();
  readonly #converted = new Map<string, Record<string, unknown>>();

  constructor(log: Logger) {
    this.#log = log;
  }

  /** The converters' definition of a device: a known model's, or one generated from its clusters. */
  async definition(zd: Models.Device): Promise<Definition | undefined> {
    const cached = this.#definitions.get(zd.ieeeAddr);
    if (cached) return cached;
    try {
      const definition = await findByDevice(zd as unknown as Parameters<typeof findByDevice>[0], true);
      if (definition) this.#definitions.set(zd.ieeeAddr, definition);
      return definition;
    } catch (err) {
      this.#log.warn({ ieee: zd.ieeeAddr, err: (err as Error).message }, 'no zigbee definition for device');
      return undefined;
    }
  }

  /** A device's state as the converters see it (shared with them: they update it in place). */
  state(deviceId: string): Record<string, unknown> {
    let state = this.#converted.get(deviceId);
    if (!state) this.#converted.set(deviceId, (state = {}));
    return state;
  }

  /** Forgets a removed device: a later join starts from a fresh definition and state. */
  forget(ieee: string, deviceId: string): void {
    this.#definitions.delete(ieee);
    this.#converted.delete(deviceId);
  }

  /**
   * The converters' payload for a message from device `deviceId` (e.g. `{power: 12.5}`), after
   * their post-processing (precision, calibration); the device's converter state takes it in.
   */
  async convert(definition: Definition, deviceId: string, m: Events.MessagePayload): Promise<Record<string, unknown>> {
    const state = this.state(deviceId);
    const payload: Record<string, unknown> = {};
    for (const converter of definition.fromZigbee) {
      const types = Array.isArray(converter.type) ? converter.type : [converter.type];
      if (converter.cluster !== m.cluster || !types.includes(m.type)) continue;
      try {
        const out = await converter.convert(definition, m as never, () => {}, CONVERTER_OPTIONS, {
          state,
          device: m.device as never,
          deviceExposesChanged: () => {},
        });
        if (out && typeof out === 'object') Object.assign(payload, out);
      } catch (err) {
        this.#log.debug(
          { deviceId, cluster: m.cluster, err: (err as Error).message },
          'zigbee converter failed on a message',
        );
      }
    }
    try {
      postProcessConvertedFromZigbeeMessage(definition, payload, CONVERTER_OPTIONS, m.device as never); // precision, calibration
    } catch {
      /* keep the values as converted */
    }
    Object.assign(state, payload);
    return payload;
  }
}
