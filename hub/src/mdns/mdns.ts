import { hostname, networkInterfaces } from 'node:os';
import type { EventEmitter } from 'node:events';
import ciao, { type CiaoService, type Responder } from '@homebridge/ciao';
import { Bonjour, type Browser, type Service } from 'bonjour-service';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';

/** A service this hub announces, e.g. `_hearth._tcp` on the HTTP port. */
export interface Advertisement {
  name: string;
  type: string;
  port: number;
  txt?: Record<string, string>;
}

/** One service instance a browser sees (what the plug directory needs of it). */
export interface Sighting {
  name: string;
  port: number;
  addresses: string[];
  txt: Record<string, unknown>;
  refererAddress?: string;
}

/** A service type to browse, with what to do when an instance comes, changes or goes. */
export interface BrowseSpec {
  type: string;
  up(sighting: Sighting): void;
  down(name: string): void;
}

export interface MdnsOptions {
  /** `on` (every interface), or interface names; `off` never builds this part. */
  interfaces: string[] | 'all';
  log: Logger;
  /** Times the re-queries and sweeps and stamps when each instance was last heard. */
  clock: Clock;
  advertise: () => Advertisement[];
  browse: BrowseSpec[];
  /** How often to ask again, so answers refresh what we know (RFC 6762 §5.2 cache maintenance). */
  requeryMs?: number;
  /** How often to drop instances whose records' TTL ran out without a refresh. */
  sweepMs?: number;
}

/** `--mdns on|off|IFACE[,IFACE]`: undefined for off. */
export function parseMdnsMode(mode: string): string[] | 'all' | undefined {
  const m = mode.trim();
  if (m === 'off') return undefined;
  if (m === 'on') return 'all';
  const names = m
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new HubError('config_invalid', `--mdns: '${mode}' names no interface`);
  return names;
}

interface Tracked {
  sighting: Sighting;
  lastSeen: number;
  ttlMs: number;
}

interface DnsRecord {
  name: string;
  type: string;
  ttl: number;
  data: unknown;
}

const DEFAULT_REQUERY_MS = 60_000;

const lower = (s: string) => s.toLowerCase().replace(/\.$/, '');

/**
 * Multicast DNS for the hub: announces the hub's services with @homebridge/ciao and browses for
 * devices with bonjour-service. Never started with `--mdns off` (every test outside a
 * loopback-only network namespace, see scripts/netns-run). With interface names, both are bound
 * to them: ciao by name, bonjour-service (multicast-dns) by each interface's IPv4 address.
 *
 * bonjour-service's Browser reports new instances and goodbyes but never refreshes `lastSeen`
 * for unchanged answers nor expires on its own, so instances are tracked here: every answer
 * (seen on the underlying multicast-dns socket) refreshes its TTL, a periodic query keeps
 * live instances answering, and a sweep drops the ones whose TTL ran out.
 */
export class Mdns {
  readonly #options: MdnsOptions;
  #responder: Responder | undefined;
  #services: CiaoService[] = [];
  #bonjours: Bonjour[] = [];
  #browsers: { spec: BrowseSpec; browser: Browser; fullType: string; tracked: Map<string, Tracked> }[] = [];
  #timers: TimerHandle[] = [];

  constructor(options: MdnsOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    const { interfaces, log } = this.#options;
    const addresses = interfaces === 'all' ? [undefined] : interfaces.map(ipv4Of);

    this.#responder = ciao.getResponder(interfaces === 'all' ? undefined : { interface: interfaces });
    for (const ad of this.#options.advertise()) {
      const service = this.#responder.createService({
        name: ad.name,
        type: ad.type,
        port: ad.port,
        ...(ad.txt ? { txt: ad.txt } : {}),
      });
      this.#services.push(service);
      // Probing takes about a second; the hub does not wait for it.
      service.advertise().then(
        () => log.info({ name: ad.name, type: ad.type, port: ad.port }, 'mdns: advertising'),
        (err: Error) => log.warn({ err, type: ad.type }, 'mdns: could not advertise'),
      );
    }

    for (const address of addresses) {
      // The options go to multicast-dns, which takes `interface` (an address; the types omit it)
      // and would also bind the socket to it, where no multicast arrives: bind the wildcard.
      const socketOptions = (address ? { interface: address, bind: '0.0.0.0' } : {}) as ConstructorParameters<
        typeof Bonjour
      >[0];
      const bonjour = new Bonjour(socketOptions, (err: Error) => log.warn({ err }, 'mdns: browser socket error'));
      this.#bonjours.push(bonjour);
      const socket = (bonjour as unknown as { server?: { mdns?: EventEmitter } }).server?.mdns;
      socket?.on('warning', (err: Error) => log.debug({ err: err.message }, 'mdns: socket warning'));
      for (const spec of this.#options.browse) this.#browse(bonjour, socket, spec);
    }

    const { clock } = this.#options;
    const requery = clock.setInterval(() => {
      for (const b of this.#browsers) b.browser.update();
    }, this.#options.requeryMs ?? DEFAULT_REQUERY_MS);
    const sweep = clock.setInterval(() => this.#sweep(), this.#options.sweepMs ?? 5_000);
    this.#timers.push(requery, sweep);
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) t.cancel();
    this.#timers = [];
    for (const b of this.#browsers) b.browser.stop();
    this.#browsers = [];
    await Promise.all(this.#bonjours.map((b) => new Promise<void>((resolve) => b.destroy(() => resolve()))));
    this.#bonjours = [];
    // Goodbye packets (TTL 0) so browsers forget the hub at once.
    await Promise.allSettled(this.#services.map((s) => s.end()));
    this.#services = [];
    await this.#responder?.shutdown();
    this.#responder = undefined;
  }

  #browse(bonjour: Bonjour, socket: EventEmitter | undefined, spec: BrowseSpec): void {
    const browser = bonjour.find({ type: spec.type });
    const fullType = `_${spec.type}._tcp.local`;
    const tracked = new Map<string, Tracked>();
    const entry = { spec, browser, fullType, tracked };
    this.#browsers.push(entry);

    const seen = (service: Service) => {
      const sighting = toSighting(service);
      tracked.set(lower(service.fqdn), {
        sighting,
        lastSeen: this.#options.clock.now(),
        ttlMs: this.#lifetimeMs(service.ttl ?? 120),
      });
      spec.up(sighting);
    };
    browser.on('up', seen);
    browser.on('txt-update', seen);
    browser.on('srv-update', seen);
    browser.on('down', (service: Service) => {
      if (tracked.delete(lower(service.fqdn))) spec.down(service.name);
    });
    // The browser's own listener ran first (registered earlier): its services are current.
    socket?.on('response', (packet: { answers?: DnsRecord[]; additionals?: DnsRecord[] }) => {
      for (const rr of [...(packet.answers ?? []), ...(packet.additionals ?? [])]) {
        if (rr.type !== 'PTR' || rr.ttl === 0 || lower(rr.name) !== fullType || typeof rr.data !== 'string') continue;
        const fqdn = lower(rr.data);
        const known = tracked.get(fqdn);
        if (known) {
          known.lastSeen = this.#options.clock.now();
          known.ttlMs = this.#lifetimeMs(rr.ttl);
          continue;
        }
        // Dropped by our sweep but still in the browser's list: it is back.
        const service = browser.services.find((s) => lower(s.fqdn) === fqdn);
        if (service) seen(service);
      }
    });
  }

  /**
   * How long an instance stays known without an answer: its PTR TTL, but at most three
   * re-query periods. PTR records live 4500 s (RFC 6762 §10), so a plug that lost power without
   * a goodbye would otherwise stay listed for 75 minutes; a live one answers every re-query.
   */
  #lifetimeMs(ttlS: number): number {
    return Math.min(ttlS * 1000, 3 * (this.#options.requeryMs ?? DEFAULT_REQUERY_MS));
  }

  #sweep(): void {
    const now = this.#options.clock.now();
    for (const { spec, tracked } of this.#browsers) {
      for (const [fqdn, t] of tracked) {
        if (now > t.lastSeen + t.ttlMs) {
          tracked.delete(fqdn);
          spec.down(t.sighting.name);
        }
      }
    }
  }
}

function toSighting(service: Service): Sighting {
  return {
    name: service.name,
    port: service.port,
    addresses: service.addresses ?? [],
    txt: (service.txt ?? {}) as Record<string, unknown>,
    ...(service.referer?.address ? { refererAddress: service.referer.address } : {}),
  };
}

function ipv4Of(name: string): string {
  const entry = networkInterfaces()[name]?.find((a) => a.family === 'IPv4');
  if (!entry)
    throw new HubError('config_invalid', `--mdns: interface '${name}' has no IPv4 address (or does not exist)`);
  return entry.address;
}

/** The instance name the hub announces itself under. */
export function hubInstanceName(): string {
  return `Hearth ${hostname()}`.slice(0, 63);
}
