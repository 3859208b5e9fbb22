import type { Actor } from '../../core/bus.ts';
import type { DeviceView } from '../../devices/views.ts';
import type { DiscoveredPlug, PlugDirectory } from './discovery.ts';
import type { PlugDriver } from './driver.ts';
import { pairPlug, type PairingDeps } from './pairing.ts';

type PlugRegistry = PairingDeps['registry'] & { get(id: string, actor: Actor): DeviceView; remove(id: string, actor: Actor): Promise<void> };

const SYSTEM: Actor = { kind: 'system', part: 'plugs' };

export interface DiscoveredPlugView {
  id: string;
  model: string;
  firmware: string;
  address: string;
  port: number;
}

/**
 * What the API asks of plugs: the unclaimed plugs on the LAN, and pairing one. Built by the
 * composition root from the directory (fed by mDNS), the driver and the registry.
 */
export class PlugService {
  readonly #directory: PlugDirectory;
  readonly #driver: PlugDriver;
  readonly #registry: PlugRegistry;
  readonly #deps: Omit<PairingDeps, 'directory' | 'registry' | 'expect'>;

  constructor(options: {
    directory: PlugDirectory;
    driver: PlugDriver;
    registry: PlugRegistry;
    pairing: Omit<PairingDeps, 'directory' | 'registry' | 'expect'>;
  }) {
    this.#directory = options.directory;
    this.#driver = options.driver;
    this.#registry = options.registry;
    this.#deps = options.pairing;
  }

  /**
   * Removes plug devices a pairing left behind when the hub stopped in the middle of it (their
   * credentials are revoked by the removal): nothing half-paired survives a restart either.
   * Called once the registry has started.
   */
  async recover(): Promise<string[]> {
    const left = this.#driver.unfinishedPairings();
    for (const id of left) await this.#registry.remove(id, SYSTEM);
    return left;
  }

  discovered(): DiscoveredPlugView[] {
    return this.#directory.unclaimed().map((p: DiscoveredPlug) => ({ id: p.id, model: p.model, firmware: p.firmware, address: p.address, port: p.port }));
  }

  async pair(plugId: string, body: { setupCode: string; name: string; roomId?: string | null }, actor: Actor): Promise<DeviceView> {
    const result = await pairPlug({ plugId, ...body }, actor, {
      ...this.#deps,
      directory: this.#directory,
      registry: this.#registry,
      expect: (id) => this.#driver.expectPairing(id),
    });
    this.#driver.paired(result.device.id, result.lastState);
    return this.#registry.get(result.device.id, actor);
  }
}
