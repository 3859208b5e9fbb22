import type { Actor } from '@hearth/model/values';
import { HubError } from '../../core/errors.ts';
import type { DeviceView } from '../../devices/views.ts';
import type { DiscoveredPlug, PlugDirectory } from './discovery.ts';
import type { PlugDriver } from './driver.ts';
import type { FirmwareEntry } from './firmware-store.ts';
import { pairPlug, type PairingDeps } from './pairing.ts';
import { PlugRollout, type Rollout } from './rollout.ts';
import { compareVersions } from './protocol.ts';
import { updateOf, type PlugUpdate } from './updates.ts';

type PlugRegistry = PairingDeps['registry'] & {
  get(id: string, actor: Actor): DeviceView;
  remove(id: string, actor: Actor): Promise<void>;
};
type Audit = (actor: Actor, action: string, target: string, details: Record<string, unknown>) => void;

export interface FirmwareView {
  model: string;
  version: string;
  size: number;
  sha256: string;
  addedAt: number;
}

export interface UpdateView {
  deviceId: string;
  model: string;
  firmware: string | null;
  update: (Omit<PlugUpdate, 'counter'> & { progress: number }) | null;
}

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
  readonly #audit: Audit;

  constructor(options: {
    directory: PlugDirectory;
    driver: PlugDriver;
    registry: PlugRegistry;
    pairing: Omit<PairingDeps, 'directory' | 'registry' | 'expect'>;
    /** Where a firmware rollout's state is kept (DATA/firmware/rollout.json); none: no rollouts. */
    rolloutFile?: string;
  }) {
    this.#directory = options.directory;
    this.#driver = options.driver;
    this.#registry = options.registry;
    this.#deps = options.pairing;
    this.#audit = options.pairing.audit;
    this.#rolloutFile = options.rolloutFile;
  }

  readonly #rolloutFile: string | undefined;
  #rolloutPart: PlugRollout | undefined;
  /** The one who started or resumed the rollout: its updates run in their name. */
  #rolloutActor: Actor = SYSTEM;

  #rollout(): PlugRollout {
    if (!this.#rolloutFile) throw new HubError('not_ready', 'firmware rollouts are not available');
    this.#rolloutPart ??= new PlugRollout({
      plugs: () =>
        this.#driver.rows().map((r) => ({
          id: r.id,
          model: r.model,
          firmware: typeof r.config.firmware === 'string' ? r.config.firmware : null,
        })),
      start: async (plugId, version, downgrade) =>
        void (await this.startUpdate(plugId, { version, downgrade }, this.#rolloutActor)),
      update: (plugId) => {
        const u = updateOf(this.#driver.row(plugId));
        return u ? { version: u.version, state: u.state, error: u.error } : null;
      },
      clock: this.#deps.clock,
      log: this.#deps.log,
      file: this.#rolloutFile,
    });
    return this.#rolloutPart;
  }

  /** `POST /plugs/rollout`: many plugs in waves (rollout.ts); the image must be stored. */
  startRollout(
    body: { model: string; version: string; plugs?: string[]; waveSize?: number; downgrade?: boolean },
    actor: Actor,
  ): Rollout {
    if (!this.#updates().firmware.get(body.model, body.version))
      throw new HubError('firmware_not_found', `no signed image of ${body.model} ${body.version} is stored`, {
        model: body.model,
        version: body.version,
      });
    this.#rolloutActor = actor;
    const r = this.#rollout().start(body);
    this.#audit(actor, 'plug.rollout', r.id, {
      model: r.model,
      version: r.version,
      plugs: r.plugs.length,
      waves: r.waves,
    });
    return r;
  }

  rolloutView(): Rollout | null {
    return this.#rollout().view();
  }

  resumeRollout(actor: Actor): Rollout {
    this.#rolloutActor = actor;
    const r = this.#rollout().resume();
    this.#audit(actor, 'plug.rollout_resume', r.id, {});
    return r;
  }

  cancelRollout(actor: Actor): Rollout {
    const r = this.#rollout().cancel();
    this.#audit(actor, 'plug.rollout_cancel', r.id, {});
    return r;
  }

  stopRollout(): void {
    this.#rolloutPart?.stop();
  }

  #updates() {
    const u = this.#driver.updates;
    if (!u) throw new HubError('not_ready', 'firmware updates are not available');
    return u;
  }

  /** A paired plug's row, after the registry checked the caller may see it. */
  #plugRow(plugId: string, actor: Actor) {
    this.#registry.get(plugId, actor); // device_not_found for unknown or hidden ones
    const row = this.#driver.row(plugId);
    if (!row) throw new HubError('device_not_found', `no plug ${plugId}`, { deviceId: plugId });
    return row;
  }

  /** `POST /plugs/firmware`: an image signed by a trusted release key, verified before it is kept. */
  addFirmware(body: { manifest: unknown; sig: string; image: string }, actor: Actor): FirmwareView {
    const image = Buffer.from(body.image, 'base64');
    if (image.toString('base64') !== body.image)
      throw new HubError('validation_failed', 'image is the firmware in standard base64', { field: 'image' });
    const entry = this.#updates().firmware.add(body.manifest, body.sig, image, this.#deps.clock.now());
    this.#audit(actor, 'plug.firmware_add', `${entry.manifest.model}@${entry.manifest.version}`, {
      size: entry.manifest.size,
      sha256: entry.manifest.sha256,
    });
    return firmwareView(entry);
  }

  firmware(): FirmwareView[] {
    return this.#updates().firmware.list().map(firmwareView);
  }

  update(plugId: string, actor: Actor): UpdateView {
    const row = this.#plugRow(plugId, actor);
    const { firmware, update } = this.#updates().view(row);
    const { counter: _counter, ...rest } = update ?? ({} as PlugUpdate & { progress: number });
    return { deviceId: row.id, model: row.model, firmware, update: update ? rest : null };
  }

  /** `POST /plugs/:id/update {version, downgrade?}`: starts it; progress via GET and `plug.update` events. */
  async startUpdate(plugId: string, body: { version: string; downgrade?: boolean }, actor: Actor): Promise<UpdateView> {
    const row = this.#plugRow(plugId, actor);
    const updates = this.#updates();
    const entry = updates.firmware.get(row.model, body.version);
    if (!entry)
      throw new HubError('firmware_not_found', `no signed image of ${row.model} ${body.version} is stored`, {
        model: row.model,
        version: body.version,
      });
    const view = this.#registry.get(plugId, actor);
    if (!view.available) throw new HubError('device_unavailable', `plug ${plugId} is offline`, { deviceId: plugId });
    const running = typeof row.config.firmware === 'string' ? row.config.firmware : undefined;
    const cmp = running === undefined ? undefined : compareVersions(body.version, running);
    if (cmp === 0)
      throw new HubError('firmware_current', `plug ${plugId} runs ${running} already`, { version: running });
    if (cmp !== undefined && cmp < 0 && !body.downgrade)
      throw new HubError('validation_failed', `${body.version} is older than ${running}: set downgrade to install it`, {
        field: 'downgrade',
      });
    const previous = updateOf(row);
    await updates.begin(row, entry, body.downgrade === true);
    this.#audit(actor, 'plug.update', plugId, {
      version: body.version,
      from: running ?? null,
      downgrade: body.downgrade === true,
      previous: previous?.state ?? null,
    });
    return this.update(plugId, actor);
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
    return this.#directory.unclaimed().map((p: DiscoveredPlug) => ({
      id: p.id,
      model: p.model,
      firmware: p.firmware,
      address: p.address,
      port: p.port,
    }));
  }

  async pair(
    plugId: string,
    body: { setupCode: string; name: string; roomId?: string | null },
    actor: Actor,
  ): Promise<DeviceView> {
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

function firmwareView(e: FirmwareEntry): FirmwareView {
  return {
    model: e.manifest.model,
    version: e.manifest.version,
    size: e.manifest.size,
    sha256: e.manifest.sha256,
    addedAt: e.addedAt,
  };
}
