import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { HubError, isHubError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';

/**
 * A firmware update of many plugs in waves (docs/plug-protocol.md "Updating many plugs"): one
 * plug first (the canary), then groups of `waveSize`; each wave starts when the one before ended
 * with every plug `done`. The first failure pauses the rollout (the wave's other plugs finish
 * theirs); the owner or an admin resumes it (the failed plugs stay failed, the rest carry on) or
 * cancels it (what is pending is skipped). Each plug's outcome is kept, in DATA/firmware/rollout.json,
 * so a hub restart shows it; a rollout the restart interrupted is paused (`interrupted`).
 */
export type RolloutPlugState = 'pending' | 'updating' | 'done' | 'failed' | 'skipped';
export type RolloutState = 'running' | 'paused' | 'done' | 'cancelled';

export interface RolloutPlug {
  deviceId: string;
  wave: number;
  state: RolloutPlugState;
  /** The plug's update error code (`bad_hash`, `timeout`, ...) or the hub's refusal (`device_unavailable`). */
  error: string | null;
}

export interface Rollout {
  id: string;
  model: string;
  version: string;
  downgrade: boolean;
  waveSize: number;
  state: RolloutState;
  /** The wave under way (0 = the canary). */
  wave: number;
  waves: number;
  pausedReason: string | null;
  plugs: RolloutPlug[];
  startedAt: number;
  updatedAt: number;
}

export interface RolloutDeps {
  /** Paired plugs: id, model, the firmware they last reported. */
  plugs(): { id: string; model: string; firmware: string | null }[];
  /** Starts one plug's update (as POST /plugs/:id/update); throws a HubError when refused. */
  start(plugId: string, version: string, downgrade: boolean): Promise<void>;
  /** One plug's update as stored: its version, state and error. */
  update(plugId: string): { version: string; state: string; error: string | null } | null;
  clock: Clock;
  log: Logger;
  file: string;
  pollMs?: number;
}

export const MAX_ROLLOUT_PLUGS = 500;
export const MAX_WAVE_SIZE = 50;

export class PlugRollout {
  readonly #d: RolloutDeps;
  #current: Rollout | null;
  #timer: TimerHandle | undefined;
  #ticking = false;

  constructor(deps: RolloutDeps) {
    this.#d = deps;
    this.#current = this.#load();
    if (this.#current?.state === 'running') {
      this.#current = {
        ...this.#current,
        state: 'paused',
        pausedReason: 'interrupted: the hub restarted during the rollout',
      };
      this.#save();
    }
  }

  view(): Rollout | null {
    return this.#current;
  }

  start(o: { model: string; version: string; plugs?: string[]; waveSize?: number; downgrade?: boolean }): Rollout {
    if (this.#current && (this.#current.state === 'running' || this.#current.state === 'paused'))
      throw new HubError('rollout_in_progress', 'a rollout is running or paused: resume or cancel it first', {
        id: this.#current.id,
      });
    const waveSize = o.waveSize ?? 5;
    if (!Number.isInteger(waveSize) || waveSize < 1 || waveSize > MAX_WAVE_SIZE)
      throw new HubError('validation_failed', `waveSize is 1 to ${MAX_WAVE_SIZE}`, { field: 'waveSize' });
    const paired = this.#d.plugs().filter((p) => p.model === o.model);
    let chosen: typeof paired;
    if (o.plugs) {
      const byId = new Map(paired.map((p) => [p.id, p]));
      const unknown = o.plugs.filter((id) => !byId.has(id));
      if (unknown.length > 0)
        throw new HubError('device_not_found', `not a paired ${o.model} plug: ${unknown.slice(0, 5).join(', ')}`, {
          deviceIds: unknown.slice(0, 20),
        });
      chosen = [...new Set(o.plugs)].map((id) => byId.get(id)!);
    } else {
      chosen = paired.filter((p) => p.firmware !== o.version);
    }
    if (chosen.length === 0)
      throw new HubError('validation_failed', `no ${o.model} plug to update to ${o.version}`, { field: 'plugs' });
    if (chosen.length > MAX_ROLLOUT_PLUGS)
      throw new HubError('validation_failed', `at most ${MAX_ROLLOUT_PLUGS} plugs in one rollout`, { field: 'plugs' });
    chosen.sort((a, b) => a.id.localeCompare(b.id));
    // Wave 0 is one plug; then groups of waveSize.
    const plugs: RolloutPlug[] = chosen.map((p, i) => ({
      deviceId: p.id,
      wave: i === 0 ? 0 : 1 + Math.floor((i - 1) / waveSize),
      state: 'pending',
      error: null,
    }));
    const now = this.#d.clock.now();
    this.#current = {
      id: `rollout-${now.toString(36)}`,
      model: o.model,
      version: o.version,
      downgrade: o.downgrade === true,
      waveSize,
      state: 'running',
      wave: 0,
      waves: plugs[plugs.length - 1]!.wave + 1,
      pausedReason: null,
      plugs,
      startedAt: now,
      updatedAt: now,
    };
    this.#save();
    this.#d.log.info(
      { id: this.#current.id, plugs: plugs.length, waves: this.#current.waves, version: o.version },
      'plug rollout started',
    );
    this.#schedule(0);
    return this.#current;
  }

  resume(): Rollout {
    const r = this.#current;
    if (r?.state !== 'paused') throw new HubError('rollout_not_paused', 'no paused rollout to resume');
    this.#current = { ...r, state: 'running', pausedReason: null };
    this.#save();
    this.#schedule(0);
    return this.#current;
  }

  cancel(): Rollout {
    const r = this.#current;
    if (!r || (r.state !== 'paused' && r.state !== 'running'))
      throw new HubError('rollout_not_paused', 'no rollout to cancel');
    this.#timer?.cancel();
    this.#current = {
      ...r,
      state: 'cancelled',
      plugs: r.plugs.map((p) => (p.state === 'pending' ? { ...p, state: 'skipped' } : p)),
    };
    this.#save();
    return this.#current;
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    this.#timer?.cancel();
    this.#timer = this.#d.clock.setTimeout(() => void this.#tick(), ms);
  }

  /** One look at the wave under way: start what is pending, collect outcomes, move on or pause. */
  async #tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      let r = this.#current;
      if (r?.state !== 'running') return;
      const plugs = r.plugs.map((p) => ({ ...p }));
      for (const p of plugs) {
        if (p.wave !== r.wave) continue;
        if (p.state === 'pending') {
          try {
            await this.#d.start(p.deviceId, r.version, r.downgrade);
            p.state = 'updating';
          } catch (err) {
            // Already on that version: nothing to do for it.
            if (isHubError(err, 'firmware_current')) p.state = 'done';
            else {
              p.state = 'failed';
              p.error = isHubError(err) ? err.code : 'start_failed';
            }
          }
        } else if (p.state === 'updating') {
          const u = this.#d.update(p.deviceId);
          if (!u || u.version !== r.version) {
            p.state = 'failed';
            p.error = 'update_lost';
          } else if (u.state === 'done') p.state = 'done';
          else if (u.state === 'failed') {
            p.state = 'failed';
            p.error = u.error ?? 'unknown';
          }
        }
      }
      r = { ...r, plugs, updatedAt: this.#d.clock.now() };
      const inWave = plugs.filter((p) => p.wave === r!.wave);
      if (inWave.every((p) => p.state === 'done' || p.state === 'failed')) {
        const failed = inWave.filter((p) => p.state === 'failed');
        if (failed.length > 0) {
          r = {
            ...r,
            state: 'paused',
            pausedReason: `${failed.length} plug(s) of wave ${r.wave} failed (${failed[0]!.deviceId}: ${failed[0]!.error})`,
            wave: r.wave + 1 < r.waves ? r.wave + 1 : r.wave,
          };
          if (r.wave === inWave[0]!.wave) r = { ...r, state: 'done', pausedReason: null };
        } else if (r.wave + 1 < r.waves) {
          r = { ...r, wave: r.wave + 1 };
        } else {
          r = { ...r, state: 'done' };
        }
      }
      this.#current = r;
      this.#save();
      if (r.state !== 'running')
        this.#d.log.info(
          { id: r.id, state: r.state, reason: r.pausedReason, outcome: counts(r) },
          'plug rollout stopped',
        );
      else this.#schedule(this.#d.pollMs ?? 1000);
    } catch (err) {
      this.#d.log.error({ err }, 'plug rollout step failed');
      this.#schedule(this.#d.pollMs ?? 1000);
    } finally {
      this.#ticking = false;
    }
  }

  #load(): Rollout | null {
    try {
      return JSON.parse(readFileSync(this.#d.file, 'utf8')) as Rollout;
    } catch {
      return null;
    }
  }

  #save(): void {
    mkdirSync(dirname(this.#d.file), { recursive: true });
    writeFileSync(`${this.#d.file}.tmp`, JSON.stringify(this.#current));
    renameSync(`${this.#d.file}.tmp`, this.#d.file);
  }
}

function counts(r: Rollout): Record<RolloutPlugState, number> {
  const c: Record<RolloutPlugState, number> = { pending: 0, updating: 0, done: 0, failed: 0, skipped: 0 };
  for (const p of r.plugs) c[p.state]++;
  return c;
}
