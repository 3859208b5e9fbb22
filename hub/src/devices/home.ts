import type { Actor } from '@hearth/model/values';
import { HubError } from '../core/errors.ts';
import type { AuditLog } from '../store/audit-log.ts';
import type { SettingsRepo } from '../store/settings-repo.ts';
import type { Store } from '../store/store.ts';

/**
 * The settings keys of the home's location and time zone, spelled only here (its name is the
 * `homes` row). Read by the rules (sun triggers and conditions) and the history (local days for
 * energy) through the two readers below.
 */
const LOCATION = 'home.location';
const TIMEZONE = 'home.timezone';

export interface HomeLocation {
  latitude: number;
  longitude: number;
}

export interface HomeView {
  id: string;
  name: string;
  location: HomeLocation | null;
  timezone: string | null;
}

export interface HomePatch {
  name?: string;
  location?: HomeLocation | null;
  timezone?: string | null;
}

/** The home's location as set (PATCH /api/v1/home), or undefined. */
export function homeLocation(settings: SettingsRepo): HomeLocation | undefined {
  return settings.get<HomeLocation | null>(LOCATION) ?? undefined;
}

/** The home's time zone setting as stored: unchecked, `null` once cleared, undefined if never set. */
export function homeTimeZoneSetting(settings: SettingsRepo): unknown {
  return settings.get<unknown>(TIMEZONE);
}

/**
 * The home itself: its name, where it is and its time zone. The one owner of those values; the
 * API reads and changes them only through here.
 */
export class HomeService {
  readonly #store: Store;
  readonly #audit: Pick<AuditLog, 'record'>;

  constructor(deps: { store: Store; audit: Pick<AuditLog, 'record'> }) {
    this.#store = deps.store;
    this.#audit = deps.audit;
  }

  /** The home, or 503 `not_ready` before the registry made it. */
  view(): HomeView {
    const home = this.#store.rooms.homes()[0];
    if (!home) throw new HubError('not_ready', 'the home is not set up yet');
    return {
      id: home.id,
      name: home.name,
      location: homeLocation(this.#store.settings) ?? null,
      timezone: this.#store.settings.get<string>(TIMEZONE) ?? null,
    };
  }

  /** The home's name, for backups' file names ('home' before there is one). */
  name(): string {
    return this.#store.rooms.homes()[0]?.name ?? 'home';
  }

  /** Changes what the patch names in one transaction, audited as `home.update` with the patch. */
  update(patch: HomePatch, actor: Actor, at: number): HomeView {
    const home = this.view();
    const store = this.#store;
    store.transaction(() => {
      if (patch.name !== undefined) store.rooms.renameHome(home.id, patch.name);
      if (patch.location !== undefined) store.settings.set(LOCATION, patch.location);
      if (patch.timezone !== undefined) store.settings.set(TIMEZONE, patch.timezone);
    });
    this.#audit.record({ actor, action: 'home.update', target: home.id, details: { ...patch }, at });
    return this.view();
  }
}
