/**
 * Keeps each device's retained `hearth/<id>/status` honest. A device should set its Last Will to
 * a retained `offline` there and publish a retained `online` itself once connected; when its last
 * connection goes away without that will being published (no will, a will elsewhere, or a clean
 * DISCONNECT, which discards the will [MQTT-3.14.4-3]), the broker publishes the retained
 * `offline` for it.
 */
export const statusTopic = (deviceId: string): string => `hearth/${deviceId}/status`;

export class DevicePresence {
  readonly #live = new Map<string, Set<object>>();
  readonly #publishOffline: (deviceId: string) => void;

  constructor(publishOffline: (deviceId: string) => void) {
    this.#publishOffline = publishOffline;
  }

  /** A connection of `deviceId` authenticated (it counts before CONNACK, so a takeover never reads as offline). */
  attach(deviceId: string, connection: object): void {
    let set = this.#live.get(deviceId);
    if (!set) this.#live.set(deviceId, (set = new Set()));
    set.add(connection);
  }

  /** A connection ended; `willPublished` says whether aedes published a will on the status topic. */
  detach(deviceId: string, connection: object, willPublished: boolean): void {
    const set = this.#live.get(deviceId);
    if (!set?.delete(connection)) return;
    if (set.size > 0) return;
    this.#live.delete(deviceId);
    if (!willPublished) this.#publishOffline(deviceId);
  }

  connections(deviceId: string): number {
    return this.#live.get(deviceId)?.size ?? 0;
  }
}
