import { isIPv4 } from 'node:net';
import { PLUG_ID } from './protocol.ts';

/** A plug seen on the LAN (mDNS `_hearth-plug._tcp`), as the API lists it. */
export interface DiscoveredPlug {
  id: string;
  model: string;
  firmware: string;
  address: string;
  port: number;
  claimed: boolean;
  protocolVersion: number;
}

/** What a browser hands over for one service instance (bonjour-service's Service, reduced). */
export interface ServiceSighting {
  name: string;
  port: number;
  addresses: string[];
  txt: Record<string, unknown>;
  /** Where the answer came from, when the records carried no address. */
  refererAddress?: string;
}

const text = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

/** Reads a sighting into a plug, or undefined when it is not a plug we can talk to. */
export function toDiscoveredPlug(s: ServiceSighting): DiscoveredPlug | undefined {
  const id = text(s.txt.id) ?? s.name;
  if (!PLUG_ID.test(id)) return undefined;
  // IPv4 first: a plug (lwIP on an ESP32) is always reachable there; link-local IPv6 needs a scope.
  const address = s.addresses.find((a) => isIPv4(a)) ?? s.addresses[0] ?? s.refererAddress;
  if (!address || !Number.isInteger(s.port) || s.port <= 0) return undefined;
  return {
    id,
    model: text(s.txt.model) ?? 'unknown',
    firmware: text(s.txt.fw) ?? 'unknown',
    address,
    port: s.port,
    claimed: text(s.txt.claimed) === '1',
    protocolVersion: Number(text(s.txt.pv) ?? 1),
  };
}

/**
 * The plugs currently on the LAN, fed by the mDNS browser (up, changed, gone: goodbye or TTL
 * expiry). Keyed by mDNS instance name, so a plug that changes address replaces itself.
 */
export class PlugDirectory {
  readonly #byInstance = new Map<string, DiscoveredPlug>();

  seen(sighting: ServiceSighting): void {
    const plug = toDiscoveredPlug(sighting);
    if (plug) this.#byInstance.set(sighting.name, plug);
    else this.#byInstance.delete(sighting.name);
  }

  gone(instanceName: string): void {
    this.#byInstance.delete(instanceName);
  }

  get(id: string): DiscoveredPlug | undefined {
    for (const plug of this.#byInstance.values()) if (plug.id === id) return plug;
    return undefined;
  }

  /** Plugs waiting to be paired (TXT claimed=0). */
  unclaimed(): DiscoveredPlug[] {
    return [...this.#byInstance.values()].filter((p) => !p.claimed).sort((a, b) => a.id.localeCompare(b.id));
  }

  clear(): void {
    this.#byInstance.clear();
  }
}
