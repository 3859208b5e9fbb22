import type { SettingsRepo } from '../store/settings-repo.ts';
import { EMPTY_PLAN, type TariffPlan } from './tariffs.ts';

/**
 * What a device is to the home's energy picture. No role: an appliance, counted in the home's
 * consumption. `mains`: a whole-home meter (a plug-like meter on the supply, a Zigbee metering
 * device, a P1 reader): the home's consumption, whatever the appliances do not account for is
 * "untracked". `production`: a solar (or other) production meter.
 */
export type EnergyRole = 'mains' | 'production';
export const ENERGY_ROLES: EnergyRole[] = ['mains', 'production'];

/** The settings keys of the energy part, spelled only here. */
const TARIFFS = 'energy.tariffs';
const ROLES = 'energy.roles';

export class EnergySettings {
  readonly #settings: SettingsRepo;
  constructor(settings: SettingsRepo) {
    this.#settings = settings;
  }

  plan(): TariffPlan {
    return this.#settings.get<TariffPlan>(TARIFFS) ?? EMPTY_PLAN;
  }

  setPlan(plan: TariffPlan): void {
    this.#settings.set(TARIFFS, plan);
  }

  /** Device id → role; devices removed since keep their entry until it is changed (harmless: unseen). */
  roles(): Record<string, EnergyRole> {
    return this.#settings.get<Record<string, EnergyRole>>(ROLES) ?? {};
  }

  setRoles(roles: Record<string, EnergyRole>): void {
    this.#settings.set(ROLES, roles);
  }
}
