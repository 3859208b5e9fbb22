import type { Actor } from '@hearth/model/values';
import type { AuditEvent } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import { HubError } from '../core/errors.ts';
import { requireRole } from '../devices/access.ts';
import type { DeviceRegistry, DeviceView } from '../devices/registry.ts';
import { MAX_PERIODS, periodBounds, type HistoryQuery, type Period } from '../history/query.ts';
import type { SeriesIndex } from '../history/series.ts';
import type { HistoryService } from '../history/service.ts';
import { Zone } from '../history/zone.ts';
import type { SettingsRepo } from '../store/settings-repo.ts';
import { detectCycles } from './cycles.ts';
import { emptySums, round6, sumPeriods, type PeriodSums } from './cost.ts';
import { isoAt, type LocalDays, localDays } from './local-days.ts';
import { meanPrice, priceTimeline, type PriceTimeline } from './price-timeline.ts';
import { EnergySettings, type EnergyRole } from './settings.ts';
import { estimateStandby, HOURS_PER_YEAR, minuteMeans } from './standby.ts';
import { checkPlan, type TariffPlan } from './tariffs.ts';

export interface EnergyDeps {
  history: Pick<HistoryService, 'homeTimeZone'> & {
    series: Pick<SeriesIndex, 'get'>;
    query: Pick<HistoryQuery, 'scan' | 'oldest'>;
  };
  /** Who sees which device goes through the registry's one visibility check (`canSee`, via list/get). */
  registry: Pick<DeviceRegistry, 'list' | 'get'>;
  settings: SettingsRepo;
  audit: { record(event: AuditEvent): void };
  clock: Clock;
}

export interface SummaryPeriod {
  t: number;
  start: string;
  end: string;
  hours: number;
  /** The home's consumption: the mains meter's energy if there is one, else the appliances' sum. */
  kWh: number;
  cost: number | null;
  /** Mains minus the appliances (never below 0); null without a mains meter or a partial view. */
  untrackedKWh: number | null;
  productionKWh: number | null;
  /** False where older data was read from the day tier (UTC days): see cost.ts. */
  exact: boolean;
}

export interface SummaryDevice {
  id: string;
  name: string;
  role: EnergyRole | null;
  powerW: number | null;
  kWh: number;
  cost: number | null;
  /** Of the home's consumption over the range (0..1); null for a meter with a role. */
  share: number | null;
}

export interface EnergySummary {
  period: Period;
  tz: string;
  currency: string | null;
  /** False for someone who does not see every device (a guest): no home totals, untracked or meters they cannot see. */
  wholeHome: boolean;
  powerW: number | null;
  periods: SummaryPeriod[];
  devices: SummaryDevice[];
  totals: { kWh: number; cost: number | null; untrackedKWh: number | null; productionKWh: number | null };
}

export interface DeviceCosts {
  device: string;
  period: Period;
  tz: string;
  currency: string | null;
  total: { kWh: number; cost: number | null };
  periods: {
    t: number;
    start: string;
    end: string;
    hours: number;
    kWh: number;
    cost: number | null;
    prorated: boolean;
  }[];
}

export interface StandbyDevice {
  id: string;
  name: string;
  /** null: not enough history yet (less than 6 h of readings in the last 7 days). */
  watts: number | null;
  kwhPerYear: number | null;
  costPerYear: number | null;
  minutes: number;
  drawingMinutes: number;
}

export interface StandbyReport {
  currency: string | null;
  method: string;
  devices: StandbyDevice[];
  total: { watts: number; kwhPerYear: number; costPerYear: number | null };
}

export interface CycleView {
  start: number;
  end: number;
  energyWh: number;
  peakW: number;
  /** In the currency's minor unit (cents), at the price in force when the cycle started; absent without a tariff. */
  costMinor?: number;
}

/** Cycles are found in raw readings (kept 7 days) or minute means (30 days): at most a month at a time. */
export const CYCLES_MAX_SPAN_MS = 31 * 86_400_000;

const SYSTEM: Actor = { kind: 'system', part: 'energy' };
const STANDBY_METHOD =
  '10th percentile of the minute means of power over the last 7 days, leaving out minutes under 0.2 W (off), ' +
  '0 W if half the minutes or more are off; ' +
  'yearly energy = watts × 8766 h';

const sumCost = (s: PeriodSums, i: number) => (s.unpriced[i] ? null : round6(s.cost[i]!));

/**
 * Energy insight computed on the hub from the history tiers: the home's consumption per period
 * with each device's share and the untracked rest, cost from the home's tariffs, standby per
 * device. Reads only; tariffs and roles are settings changed by owner/admin, audited.
 */
export class EnergyService {
  readonly #deps: EnergyDeps;
  readonly #settings: EnergySettings;

  constructor(deps: EnergyDeps) {
    this.#deps = deps;
    this.#settings = new EnergySettings(deps.settings);
  }

  plan(): TariffPlan {
    return this.#settings.plan();
  }

  setPlan(plan: TariffPlan, actor: Actor): TariffPlan {
    requireRole(actor, 'admin', 'setting tariffs');
    const checked = checkPlan(plan);
    this.#settings.setPlan(checked);
    this.#deps.audit.record({
      actor,
      action: 'energy.tariffs',
      details: { currency: checked.currency, tariffs: checked.tariffs.length },
      at: this.#deps.clock.now(),
    });
    return checked;
  }

  /** The roles of the devices `actor` sees. */
  roles(actor: Actor): Record<string, EnergyRole> {
    const roles = this.#settings.roles();
    const out: Record<string, EnergyRole> = {};
    for (const d of this.#deps.registry.list(actor)) if (roles[d.id]) out[d.id] = roles[d.id]!;
    return out;
  }

  setRole(deviceId: string, role: EnergyRole | null, actor: Actor): { device: string; role: EnergyRole | null } {
    requireRole(actor, 'admin', "setting a device's energy role");
    const device = this.#deps.registry.get(deviceId, actor);
    if (role && !device.capabilities.includes('energy'))
      throw new HubError('capability_not_found', `device ${deviceId} has no energy meter`, {
        deviceId,
        capability: 'energy',
      });
    const roles = this.#settings.roles();
    if (role === 'mains') {
      const existing = new Set(this.#deps.registry.list(SYSTEM).map((d) => d.id));
      const other = Object.entries(roles).find(([id, r]) => r === 'mains' && id !== deviceId && existing.has(id));
      if (other) throw new HubError('energy_role_taken', 'the home already has a mains meter', { deviceId: other[0] });
    }
    if (role) roles[deviceId] = role;
    else delete roles[deviceId];
    this.#settings.setRoles(roles);
    this.#deps.audit.record({
      actor,
      action: 'energy.role',
      target: deviceId,
      details: { role },
      at: this.#deps.clock.now(),
    });
    return { device: deviceId, role };
  }

  zone(tz?: string): Zone {
    return new Zone(tz ?? this.#deps.history.homeTimeZone());
  }

  /** The home's energy per period over [from, to), with each device seen by `actor`. */
  summary(actor: Actor, period: Period, from: number, to: number, tz?: string): EnergySummary {
    const zone = this.zone(tz);
    const { bounds, hi, days, iso } = this.#bounds(period, from, to, zone);
    const n = bounds.length - 1;
    const plan = this.#settings.plan();
    const tl = priceTimeline(plan, zone, bounds[0] ?? from, hi, days);
    const roles = this.#settings.roles();
    const visible = this.#deps.registry.list(actor);
    const wholeHome = visible.length === this.#deps.registry.list(SYSTEM).length;
    const metered = visible.filter((d) => d.capabilities.includes('energy') || d.capabilities.includes('power'));

    const appliances = emptySums(n);
    const perDevice = metered.map((d) => {
      const sums = this.#sums(d.id, bounds, hi, tl);
      const role = roles[d.id] ?? null;
      if (!role)
        for (let i = 0; i < n; i++) {
          appliances.kWh[i]! += sums.kWh[i]!;
          appliances.cost[i]! += sums.cost[i]!;
          appliances.unpriced[i]! |= sums.unpriced[i]!;
        }
      return { d, role, sums };
    });
    const mains = wholeHome ? perDevice.find((x) => x.role === 'mains') : undefined;
    const production = perDevice.filter((x) => x.role === 'production');
    const home = mains?.sums ?? appliances;

    const periods: SummaryPeriod[] = [];
    for (let i = 0; i < n; i++) {
      let prod: number | null = null;
      for (const p of production) prod = (prod ?? 0) + p.sums.kWh[i]!;
      periods.push({
        t: bounds[i]!,
        start: iso(i),
        end: iso(i + 1),
        hours: (bounds[i + 1]! - bounds[i]!) / 3_600_000,
        kWh: round6(home.kWh[i]!),
        cost: plan.currency ? sumCost(home, i) : null,
        untrackedKWh: mains ? round6(Math.max(0, mains.sums.kWh[i]! - appliances.kWh[i]!)) : null,
        productionKWh: prod === null ? null : round6(prod),
        exact: !perDevice.some((x) => x.sums.approximate[i]),
      });
    }
    const total = (pick: (p: SummaryPeriod) => number | null): number | null =>
      periods.reduce<number | null>((sum, p) => {
        const v = pick(p);
        return sum === null || v === null ? null : sum + v;
      }, 0);
    const homeKWh = total((p) => p.kWh) ?? 0;
    const devices: SummaryDevice[] = perDevice.map(({ d, role, sums }) => {
      const kWh = sums.kWh.reduce((a, b) => a + b, 0);
      return {
        id: d.id,
        name: d.name,
        role,
        powerW: powerOf(d),
        kWh: round6(kWh),
        cost: plan.currency && !sums.unpriced.some(Boolean) ? round6(sums.cost.reduce((a, b) => a + b, 0)) : null,
        share: role ? null : homeKWh > 0 ? round6(kWh / homeKWh) : 0,
      };
    });
    devices.sort((a, b) => b.kWh - a.kWh || a.name.localeCompare(b.name));
    let powerW: number | null = mains ? powerOf(mains.d) : null;
    if (powerW === null)
      for (const x of perDevice) if (!x.role && powerOf(x.d) !== null) powerW = (powerW ?? 0) + powerOf(x.d)!;
    const round = (v: number | null) => (v === null ? null : round6(v));
    return {
      period,
      tz: zone.name,
      currency: plan.currency,
      wholeHome,
      powerW: round(powerW),
      periods,
      devices,
      totals: {
        kWh: round6(homeKWh),
        cost: plan.currency ? round(total((p) => p.cost)) : null,
        untrackedKWh: mains ? round(total((p) => p.untrackedKWh)) : null,
        productionKWh: production.length ? round(total((p) => p.productionKWh)) : null,
      },
    };
  }

  /** One device's energy and cost per period (404 for a device `actor` does not see). */
  costs(actor: Actor, deviceId: string, period: Period, from: number, to: number, tz?: string): DeviceCosts {
    this.#deps.registry.get(deviceId, actor);
    const zone = this.zone(tz);
    const { bounds, hi, days, iso } = this.#bounds(period, from, to, zone);
    const plan = this.#settings.plan();
    const sums = this.#sums(deviceId, bounds, hi, priceTimeline(plan, zone, bounds[0] ?? from, hi, days));
    const periods = [];
    let kWh = 0;
    let cost: number | null = 0;
    for (let i = 0; i + 1 < bounds.length; i++) {
      const c = plan.currency ? sumCost(sums, i) : null;
      kWh += sums.kWh[i]!;
      cost = cost === null || c === null ? null : cost + c;
      periods.push({
        t: bounds[i]!,
        start: iso(i),
        end: iso(i + 1),
        hours: (bounds[i + 1]! - bounds[i]!) / 3_600_000,
        kWh: round6(sums.kWh[i]!),
        cost: c,
        prorated: sums.prorated[i] === 1,
        exact: sums.approximate[i] !== 1,
      });
    }
    return {
      device: deviceId,
      period,
      tz: zone.name,
      currency: plan.currency,
      total: { kWh: round6(kWh), cost: cost === null ? null : round6(cost) },
      periods,
    };
  }

  /** Standby per device `actor` sees (or one), worst first, and their total. */
  standby(actor: Actor, deviceId?: string): StandbyReport {
    const now = this.#deps.clock.now();
    const plan = this.#settings.plan();
    // The current tariff's mean price over the coming week: standby is drawn at every hour.
    const price = plan.currency ? meanPrice(priceTimeline(plan, this.zone(), now, now + 7 * 86_400_000)) : Number.NaN;
    const roles = this.#settings.roles();
    const list = deviceId
      ? [this.#deps.registry.get(deviceId, actor)]
      : this.#deps.registry.list(actor).filter((d) => !roles[d.id]);
    const devices: StandbyDevice[] = [];
    for (const d of list) {
      const s = this.#deps.history.series.get(d.id, 'power');
      if (!s) {
        if (deviceId) devices.push(noStandby(d));
        continue;
      }
      const est = estimateStandby(minuteMeans(this.#deps.history.query, s, now));
      if (!est) {
        devices.push({ ...noStandby(d), minutes: 0, drawingMinutes: 0 });
        continue;
      }
      const kwhPerYear = round6((est.watts * HOURS_PER_YEAR) / 1000);
      devices.push({
        id: d.id,
        name: d.name,
        watts: est.watts,
        kwhPerYear,
        costPerYear: Number.isNaN(price) ? null : Math.round(kwhPerYear * price * 100) / 100,
        minutes: est.minutes,
        drawingMinutes: est.drawingMinutes,
      });
    }
    devices.sort((a, b) => (b.watts ?? -1) - (a.watts ?? -1) || a.name.localeCompare(b.name));
    const known = devices.filter((d) => d.watts !== null);
    const watts = known.reduce((a, d) => a + d.watts!, 0);
    const kwh = (watts * HOURS_PER_YEAR) / 1000;
    return {
      currency: plan.currency,
      method: STANDBY_METHOD,
      devices,
      total: {
        watts: round6(watts),
        kwhPerYear: round6(kwh),
        costPerYear: Number.isNaN(price) ? null : Math.round(kwh * price * 100) / 100,
      },
    };
  }

  /**
   * The periods' bounds, the local days under them (the price timeline's, shared) and each
   * bound as ISO with its offset. Days come from `localDays` (one Intl call a day); weeks and
   * months from `periodBounds`, few bounds.
   */
  /** A device's idle level (its standby, W) from its last 7 days, or null before 6 h of readings. */
  idleW(deviceId: string): number | null {
    const s = this.#deps.history.series.get(deviceId, 'power');
    return s
      ? (estimateStandby(minuteMeans(this.#deps.history.query, s, this.#deps.clock.now()))?.watts ?? null)
      : null;
  }

  /**
   * The finished appliance cycles of a device in [from, to) (cycles.ts), from its raw readings
   * where the raw tier still holds `from`, else its minute means; thresholds from its standby.
   */
  cycles(actor: Actor, deviceId: string, from: number, to: number): CycleView[] {
    this.#deps.registry.get(deviceId, actor);
    if (to - from > CYCLES_MAX_SPAN_MS)
      throw new HubError('history_range_too_large', 'cycles are found at most 31 days at a time', {
        maxSpanMs: CYCLES_MAX_SPAN_MS,
      });
    const { series, query } = this.#deps.history;
    const s = series.get(deviceId, 'power');
    if (!s) return [];
    // Raw readings unless the range reaches back past them into minutes that are older.
    const rawOldest = query.oldest(s.id, 0) ?? Infinity;
    const minuteOldest = query.oldest(s.id, 1) ?? Infinity;
    const tier = rawOldest <= from || minuteOldest >= rawOldest ? 0 : 1;
    const times: number[] = [];
    const watts: number[] = [];
    query.scan(s, tier, from, to, (t, count, sum) => {
      times.push(t);
      watts.push(sum / count);
    });
    const idle = estimateStandby(minuteMeans(query, s, to))?.watts ?? 0;
    const found = detectCycles(times, watts, idle, to);
    const plan = this.#settings.plan();
    if (!plan.currency || found.length === 0) return found;
    const tl = priceTimeline(plan, this.zone(), found[0]!.start, found[found.length - 1]!.end + 1);
    const digits = new Intl.NumberFormat('en', { style: 'currency', currency: plan.currency }).resolvedOptions()
      .maximumFractionDigits as number;
    let k = 0;
    return found.map((c) => {
      while (k + 1 < tl.starts.length && tl.starts[k + 1]! <= c.start) k++;
      const price = tl.prices[k]!;
      if (Number.isNaN(price)) return c;
      return { ...c, costMinor: Math.round((c.energyWh / 1000) * price * 10 ** digits * 100) / 100 };
    });
  }

  #bounds(
    period: Period,
    from: number,
    to: number,
    zone: Zone,
  ): { bounds: number[]; hi: number; days: LocalDays; iso: (i: number) => string } {
    const perDay = period === 'day' ? localDays(zone, from, to) : undefined;
    const bounds = perDay ? perDay.starts : periodBounds(period, from, to, zone);
    if (bounds.length - 1 > MAX_PERIODS)
      throw new HubError('history_range_too_large', `at most ${MAX_PERIODS} periods at a time`, {
        maxPeriods: MAX_PERIODS,
      });
    const hi = Math.min(to, bounds[bounds.length - 1] ?? to);
    const days = perDay ?? localDays(zone, bounds[0] ?? from, hi);
    if (period === 'day') return { bounds, hi, days, iso: (i) => isoAt(days.starts[i]!, days.offsets[i]!) };
    return { bounds, hi, days, iso: (i) => zone.iso(bounds[i]!) };
  }

  #sums(deviceId: string, bounds: number[], hi: number, tl: PriceTimeline): PeriodSums {
    const s = this.#deps.history.series.get(deviceId, 'energy');
    const out = emptySums(Math.max(0, bounds.length - 1));
    return s ? sumPeriods(this.#deps.history.query, s, bounds, hi, tl, out) : out;
  }
}

function powerOf(d: DeviceView): number | null {
  const p = d.state.power;
  return typeof p === 'number' && Number.isFinite(p) ? p : null;
}

function noStandby(d: DeviceView): StandbyDevice {
  return { id: d.id, name: d.name, watts: null, kwhPerYear: null, costPerYear: null, minutes: 0, drawingMinutes: 0 };
}
