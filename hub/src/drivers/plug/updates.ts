import type { Clock, TimerHandle } from '../../core/clock.ts';
import { HubError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { DeviceRow } from '../../store/devices-repo.ts';
import type { FirmwareEntry, FirmwareStore } from './firmware-store.ts';
import { encodeChunk, otaBeginValue, parseChunkRequest, type OtaBeginValue, type OtaReport } from './protocol.ts';

/**
 * Where a plug's firmware update stands (`config.ota` of its device row, so a hub restart keeps
 * it): `sending` (ota_begin published, the plug has not answered yet), `downloading`,
 * `rebooting` (the plug verified and activated the image), then `done` (it came back running
 * the new version) or `failed` with a stable `error`: the plug's own codes (`wrong_model`,
 * `bad_signature`, `downgrade`, `too_large`, `bad_hash`, `write_failed`, `timeout`,
 * `boot_failed`, `unsupported`), `command_<reason>` when it refused the command itself,
 * `interrupted` when it came back without the transfer, and `timeout` when it made no progress
 * for the hub's update timeout (it vanished and did not return).
 */
export type UpdateState = 'sending' | 'downloading' | 'rebooting' | 'done' | 'failed';
const ACTIVE: readonly UpdateState[] = ['sending', 'downloading', 'rebooting'];

export interface PlugUpdate {
  version: string;
  from: string | null;
  model: string;
  sha256: string;
  size: number;
  state: UpdateState;
  offset: number;
  error: string | null;
  counter: number;
  startedAt: number;
  updatedAt: number;
}

export type { PlugUpdateEvent } from '../../core/bus.ts';
import type { PlugUpdateEvent } from '../../core/bus.ts';

export interface UpdatesContext {
  log: Logger;
  device(deviceId: string): DeviceRow | undefined;
  saveConfig(deviceId: string, config: Record<string, unknown>): void;
  /** Signs and publishes a command with the plug's next counter (stored first); returns the counter. */
  sendCommand(
    deviceId: string,
    capability: string,
    value: OtaBeginValue,
    extraConfig: (counter: number) => Record<string, unknown>,
  ): Promise<number>;
  publish(topic: string, payload: Buffer): Promise<void>;
  emit(event: PlugUpdateEvent): void;
}

export const isActive = (u: PlugUpdate | null | undefined): u is PlugUpdate => !!u && ACTIVE.includes(u.state);

export function updateOf(row: DeviceRow | undefined): PlugUpdate | null {
  const ota = row?.config.ota;
  return typeof ota === 'object' && ota !== null ? (ota as PlugUpdate) : null;
}

/**
 * The hub's half of a firmware update: starts it with a signed `ota_begin`, answers the plug's
 * chunk requests from the stored image, follows its reports, and fails an update that makes no
 * progress for `timeoutMs` (a plug that vanished mid-update and did not come back), so the API
 * never shows a half-updated plug as anything but failed or in progress.
 */
export class PlugUpdates {
  readonly #firmware: FirmwareStore;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #timers = new Map<string, TimerHandle>();
  /** Offsets served since the last stored report (progress between the plug's 64 KB reports). */
  readonly #served = new Map<string, number>();
  #ctx: UpdatesContext | undefined;

  constructor(options: { firmware: FirmwareStore; clock: Clock; timeoutMs: number }) {
    this.#firmware = options.firmware;
    this.#clock = options.clock;
    this.#timeoutMs = options.timeoutMs;
  }

  get firmware(): FirmwareStore {
    return this.#firmware;
  }

  /** After a hub restart: updates still in progress get their timeout again. */
  start(ctx: UpdatesContext, devices: DeviceRow[]): void {
    this.#ctx = ctx;
    for (const row of devices) if (isActive(updateOf(row))) this.#arm(row.id);
  }

  stop(): void {
    for (const t of this.#timers.values()) t.cancel();
    this.#timers.clear();
    this.#ctx = undefined;
  }

  forget(deviceId: string): void {
    this.#timers.get(deviceId)?.cancel();
    this.#timers.delete(deviceId);
    this.#served.delete(deviceId);
  }

  /** What GET /plugs/:id/update shows: the stored state, with the offset served since. */
  view(row: DeviceRow): { firmware: string | null; update: (PlugUpdate & { progress: number }) | null } {
    const u = updateOf(row);
    const firmware = typeof row.config.firmware === 'string' ? row.config.firmware : null;
    if (!u) return { firmware, update: null };
    const offset = ACTIVE.includes(u.state) ? Math.max(u.offset, this.#served.get(row.id) ?? 0) : u.offset;
    return { firmware, update: { ...u, offset, progress: u.size > 0 ? Math.min(1, offset / u.size) : 0 } };
  }

  async begin(row: DeviceRow, entry: FirmwareEntry, downgrade: boolean): Promise<PlugUpdate> {
    const ctx = this.#need();
    if (isActive(updateOf(row)))
      throw new HubError('update_in_progress', `plug ${row.id} is being updated`, { deviceId: row.id });
    if (!this.#firmware.image(entry))
      throw new HubError(
        'firmware_not_found',
        `the image of ${entry.manifest.model} ${entry.manifest.version} is missing or damaged`,
        { version: entry.manifest.version },
      );
    const now = this.#clock.now();
    const base = {
      version: entry.manifest.version,
      from: typeof row.config.firmware === 'string' ? row.config.firmware : null,
      model: entry.manifest.model,
      sha256: entry.manifest.sha256,
      size: entry.manifest.size,
      state: 'sending' as const,
      offset: 0,
      error: null,
      startedAt: now,
      updatedAt: now,
    };
    this.#served.delete(row.id);
    let update: PlugUpdate | undefined;
    // The update's state is stored with the counter, before the command leaves.
    await ctx.sendCommand(row.id, 'ota_begin', otaBeginValue(entry.manifest, entry.sig, downgrade), (counter) => {
      update = { ...base, counter };
      return { ota: update };
    });
    this.#arm(row.id);
    this.#emit(row.id, update!);
    return update!;
  }

  /** `hearth/<id>/ota/req`: the next chunk of the image being installed, if it is ours. */
  onRequest(deviceId: string, payload: Buffer): boolean {
    const ctx = this.#ctx;
    const req = parseChunkRequest(payload);
    if (!ctx || !req) return false;
    const u = updateOf(ctx.device(deviceId));
    if (!isActive(u) || u.sha256 !== req.sha256 || req.offset >= u.size) return false;
    const entry = this.#firmware.get(u.model, u.version);
    const image = entry && this.#firmware.image(entry);
    if (!image) {
      this.#finish(deviceId, u, 'failed', 'firmware_missing');
      return true;
    }
    this.#served.set(deviceId, req.offset);
    this.#arm(deviceId);
    ctx
      .publish(`hearth/${deviceId}/ota`, encodeChunk(image, u.sha256, req.offset))
      .catch((err: unknown) => ctx.log.warn({ err, deviceId }, 'could not send a firmware chunk'));
    return true;
  }

  /** A `{"type":"ota",...}` event from the plug. */
  onReport(deviceId: string, r: OtaReport): void {
    const ctx = this.#ctx;
    const row = ctx?.device(deviceId);
    if (!ctx || !row) return;
    let config = row.config;
    if (r.firmware && config.firmware !== r.firmware) config = { ...config, firmware: r.firmware };
    const u = updateOf(row);
    const now = this.#clock.now();
    let next: PlugUpdate | undefined;
    if (isActive(u)) {
      const ours = r.version === u.version;
      if (r.state === 'downloading' && ours)
        next = { ...u, state: 'downloading', offset: r.offset ?? u.offset, updatedAt: now };
      else if (r.state === 'rebooting' && ours) next = { ...u, state: 'rebooting', offset: u.size, updatedAt: now };
      else if (r.state === 'done' && ours && r.firmware === u.version)
        next = { ...u, state: 'done', offset: u.size, updatedAt: now };
      else if (r.state === 'failed' && (ours || r.version === undefined))
        next = { ...u, state: 'failed', error: r.error ?? 'unknown', updatedAt: now };
      else if (r.state === 'idle' && u.state === 'rebooting' && r.firmware === u.version)
        next = { ...u, state: 'done', offset: u.size, updatedAt: now };
      else if (r.state === 'idle' && u.state !== 'sending')
        next = { ...u, state: 'failed', error: 'interrupted', updatedAt: now };
    }
    // Timed out at the hub, yet the plug had every byte and finished once it was back: say so.
    if (
      !next &&
      u &&
      u.state === 'failed' &&
      u.error === 'timeout' &&
      r.state === 'done' &&
      r.version === u.version &&
      r.firmware === u.version
    ) {
      next = { ...u, state: 'done', error: null, offset: u.size, updatedAt: now };
    }
    if (next) config = { ...config, ota: next };
    if (config !== row.config) ctx.saveConfig(deviceId, config);
    if (!next) return;
    if (isActive(next)) this.#arm(deviceId);
    else this.#ended(deviceId, next);
    this.#emit(deviceId, next);
  }

  /** The plug refused our ota_begin command itself (stale, replay...). */
  onRejected(deviceId: string, counter: number | undefined, reason: string): void {
    const u = updateOf(this.#ctx?.device(deviceId));
    if (isActive(u) && u.state === 'sending' && counter === u.counter)
      this.#finish(deviceId, u, 'failed', `command_${reason}`);
  }

  #finish(deviceId: string, u: PlugUpdate, state: UpdateState, error: string | null): void {
    const ctx = this.#ctx;
    const row = ctx?.device(deviceId);
    if (!ctx || !row) return;
    const next: PlugUpdate = {
      ...u,
      state,
      error,
      offset: Math.max(u.offset, this.#served.get(deviceId) ?? 0),
      updatedAt: this.#clock.now(),
    };
    ctx.saveConfig(deviceId, { ...row.config, ota: next });
    this.#ended(deviceId, next);
    this.#emit(deviceId, next);
  }

  #ended(deviceId: string, u: PlugUpdate): void {
    this.forget(deviceId);
    // Another plug installing the same image reloads (and re-checks) it on its next request.
    this.#firmware.release(u.model, u.version);
    this.#ctx?.log.info({ deviceId, version: u.version, state: u.state, error: u.error }, 'plug firmware update ended');
  }

  #arm(deviceId: string): void {
    this.#timers.get(deviceId)?.cancel();
    this.#timers.set(
      deviceId,
      this.#clock.setTimeout(() => {
        this.#timers.delete(deviceId);
        const u = updateOf(this.#ctx?.device(deviceId));
        if (isActive(u)) this.#finish(deviceId, u, 'failed', 'timeout');
      }, this.#timeoutMs),
    );
  }

  #emit(deviceId: string, u: PlugUpdate): void {
    this.#ctx?.emit({
      deviceId,
      state: u.state,
      version: u.version,
      offset: u.offset,
      size: u.size,
      error: u.error,
      at: u.updatedAt,
    });
  }

  #need(): UpdatesContext {
    if (!this.#ctx) throw new HubError('not_ready', 'the plug driver is not running');
    return this.#ctx;
  }
}
