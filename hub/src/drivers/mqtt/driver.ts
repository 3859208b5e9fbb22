import type { StateValue } from '@hearth/model/values';
import { newId } from '../../core/ids.ts';
import type { Driver, DriverContext, DeviceProvisioning } from '../../devices/driver.ts';
import type { DeviceRow } from '../../store/devices-repo.ts';
import { commandTopic, parseDeviceTopic, parseStatus, parseValues, TOPIC_PREFIX } from './wire.ts';

/** The slice of the broker this driver uses (hub-internal publish/subscribe and credentials). */
export interface MqttDriverBroker {
  publish(topic: string, payload: string | Buffer, opts?: { qos?: 0 | 1 | 2; retain?: boolean }): Promise<void>;
  subscribe(owner: string, filter: string, handler: (topic: string, payload: Buffer) => void): () => void;
  unsubscribeOwner(owner: string): void;
  credentials: {
    createDeviceCredential(deviceId: string): { username: string; password: string };
    revokeDevice(deviceId: string): void;
  };
}

const OWNER = 'driver:mqtt';

/**
 * Generic MQTT devices speaking the Hearth wire protocol (DIY sensors, scripts, and the base the
 * plug driver signs on top of). Each device gets its own MQTT credentials when it is added, shown
 * once; removing it revokes them at once.
 */
export class MqttDeviceDriver implements Driver {
  readonly name = 'mqtt';
  readonly #broker: MqttDriverBroker;
  #ctx: DriverContext | undefined;
  #ignored = 0;

  constructor(broker: MqttDriverBroker) {
    this.#broker = broker;
  }

  async start(ctx: DriverContext): Promise<void> {
    this.#ctx = ctx;
    this.#broker.subscribe(OWNER, `${TOPIC_PREFIX}/+/+`, (topic, payload) => this.#onMessage(topic, payload));
  }

  async stop(): Promise<void> {
    this.#broker.unsubscribeOwner(OWNER);
    this.#ctx = undefined;
  }

  deviceAdded(device: DeviceRow): DeviceProvisioning {
    return { mqtt: this.#broker.credentials.createDeviceCredential(device.id) };
  }

  deviceRemoved(device: DeviceRow): void {
    this.#broker.credentials.revokeDevice(device.id);
  }

  async command(device: DeviceRow, capability: string, value: StateValue): Promise<void> {
    // QoS 1: a command to a device that blips offline is delivered when it reconnects, and the
    // registry's timeout tells the caller if that did not happen in time.
    await this.#broker.publish(commandTopic(device.id), JSON.stringify({ id: newId('cmd'), capability, value }), {
      qos: 1,
    });
  }

  /** Messages that were malformed or for unknown devices (exposed for metrics and tests). */
  get ignoredMessages(): number {
    return this.#ignored;
  }

  #onMessage(topic: string, payload: Buffer): void {
    const ctx = this.#ctx;
    const parsed = parseDeviceTopic(topic);
    if (!ctx || !parsed) return;
    if (!ctx.device(parsed.deviceId)) return;
    if (parsed.kind === 'status') {
      const online = parseStatus(payload);
      if (online === undefined) return this.#ignore(topic, 'status is neither online nor offline');
      ctx.reportAvailability(parsed.deviceId, online);
      return;
    }
    const values = parseValues(payload);
    if (!values) return this.#ignore(topic, 'payload is not a JSON object');
    ctx.reportState(parsed.deviceId, values);
  }

  #ignore(topic: string, reason: string): void {
    this.#ignored++;
    this.#ctx?.log.warn({ topic, reason }, 'ignored device message');
  }
}
