/**
 * bench/energy: what the energy insight costs on the hub. A year of 50 plugs (an energy counter
 * and a power reading each) in the real history store; the home's summary, cost per device and
 * standby as the API computes them (EnergyService over the real registry, settings and tiers),
 * with a time-of-use tariff that changed during the year, in Europe/Berlin; against a naive peer
 * in the same run.
 *
 * What is measured how (the output says it again):
 *  - The past is written in bulk straight into the tiers, as bench/history does (a year of 1 Hz
 *    samples is not replayed): per plug the energy counter's hour buckets for the year (each
 *    hour's increase from a per-minute model of the load curve, on the meter's 0.001 kWh grid)
 *    with their day rollups, and the power reading's minute buckets for the last 7 days (what
 *    standby reads). Watermarks are set as the running hub leaves them.
 *  - Queries, timed over --runs runs (p50, max): the summary of the whole home per month for a
 *    year and per day for 30 days; one device's cost per day for a year; standby of all plugs.
 *  - Memory: the V8 heap used after a collection, before and after the queries, and the largest
 *    heap growth seen during one year summary (sampled around it, after a collection).
 *  - Live cycles (the only continuous analysis): an hour of 1 Hz power readings of every plug on
 *    the real bus through LiveCycles; its CPU time as a share of one core.
 *  - Naive peer: the same year summary's energy and cost computed the obvious way over the same
 *    tiers: for every hour bucket of every device, the local time in the home's zone from Intl
 *    (`Zone.wall`) and the tariff and window looked up for it. Its totals must agree with ours.
 *  - Wall and CPU time (this process's user + system) per run: on a loaded machine wall time
 *    includes waiting for a core. CPU share: the analysis runs on demand only (no background
 *    work); the figure is the share of one core if a year summary is asked once a minute.
 *
 * Options: --plugs=N (50) --days=N (365) --runs=N (20)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { EventBus } from '../hub/src/core/bus.ts';
import { ManualClock } from '../hub/src/core/clock.ts';
import { validateConfig } from '../hub/src/core/config.ts';
import { createLogger } from '../hub/src/core/logger.ts';
import type { Driver } from '../hub/src/devices/driver.ts';
import { DeviceRegistry } from '../hub/src/devices/registry.ts';
import { LiveCycles } from '../hub/src/energy/live-cycles.ts';
import { EnergyService } from '../hub/src/energy/service.ts';
import { type TariffPlan, wallDate, wallMinutes } from '../hub/src/energy/tariffs.ts';
import { encodeBlock } from '../hub/src/history/codec/block.ts';
import { periodBounds } from '../hub/src/history/query.ts';
import { bucketsToColumns, rollBuckets, type Bucket } from '../hub/src/history/rollup.ts';
import { HistoryService } from '../hub/src/history/service.ts';
import { DAY, floorTo, HOUR, MINUTE, type Tier } from '../hub/src/history/tiers.ts';
import { Zone } from '../hub/src/history/zone.ts';
import type { HistoryRepo } from '../hub/src/store/history-repo.ts';
import { AuditLog } from '../hub/src/store/audit-log.ts';
import { Store } from '../hub/src/store/store.ts';
import type { BenchContext, BenchSmoke } from './run.ts';

export const description =
  'energy insight: a year of 50 plugs; home summary, cost per device, standby (query ms, heap) vs a naive per-hour Intl lookup';

export const smoke: BenchSmoke = {
  args: ['--plugs=2', '--days=10', '--runs=1'],
  keys: [
    'queryMs.summaryYear.p50',
    'queryMs.standby.p50',
    'naive.summaryYearMs',
    'ratios.summaryVsNaive',
    'heapMb.after',
  ],
};

const TZ = 'Europe/Berlin';
/** Two versions (the price went up in the year), night hours cheaper, weekend afternoons too. */
function plan(now: number): TariffPlan {
  const night = [
    { from: '00:00', to: '06:00', price: 0.21 },
    { from: '22:00', to: '24:00', price: 0.21 },
    { days: [6, 7], from: '12:00', to: '16:00', price: 0.25 },
  ];
  const mid = new Date(now - 120 * DAY).toISOString().slice(0, 10);
  return {
    currency: 'EUR',
    tariffs: [
      { name: 'Old', validFrom: '2020-01-01', price: 0.32, windows: night },
      { name: 'New', validFrom: mid, price: 0.36, windows: night },
    ],
  };
}

/** Load of plug p at minute m (W): a fridge cycling, a TV in the evening, or a small standby load. */
function load(p: number, m: number): number {
  const kind = p % 3;
  if (kind === 0) return (m + p * 17) % 45 < 15 ? 85 : 1.5;
  if (kind === 1) {
    const hourOfDay = Math.floor((m % 1440) / 60);
    return hourOfDay >= 18 && hourOfDay < 23 ? 120 : 0.8;
  }
  return 7 + (Math.floor(m / 10) % 3);
}

function writeBuckets(repo: HistoryRepo, tier: Tier, seriesId: number, rows: Bucket[]): void {
  let i = 0;
  while (i < rows.length) {
    const w0 = floorTo(rows[i]!.t, tier.blockMs);
    let j = i;
    while (j < rows.length && rows[j]!.t < w0 + tier.blockMs) j++;
    const chunk = rows.slice(i, j);
    const { times, columns } = bucketsToColumns(chunk);
    repo.putBlock(seriesId, tier.id, {
      t0: times[0]!,
      t1: times[times.length - 1]!,
      count: chunk.length,
      data: encodeBlock(times, columns),
    });
    i = j;
  }
}

function bulkLoad(service: HistoryService, ids: string[], from: number, now: number): void {
  const { repo, tiers } = service;
  const wm = floorTo(now, HOUR);
  const wmDay = floorTo(now, DAY);
  ids.forEach((deviceId, p) => {
    repo.transaction(() => {
      const energy = repo.insertSeries(deviceId, 'energy', true);
      const hours: Bucket[] = [];
      let meter = 1000;
      for (let h = from; h < wm; h += HOUR) {
        let wattMinutes = 0;
        for (let m = h / MINUTE; m < (h + HOUR) / MINUTE; m++) wattMinutes += load(p, m);
        const inc = Math.round(wattMinutes / 60) / 1000;
        meter = Math.round((meter + inc) * 1000) / 1000;
        hours.push({ t: h, count: 3600, sum: meter * 3600, min: meter - inc, max: meter, last: meter, inc });
      }
      writeBuckets(repo, tiers[2]!, energy, hours);
      writeBuckets(
        repo,
        tiers[3]!,
        energy,
        rollBuckets(
          hours.filter((b) => b.t < wmDay),
          DAY,
        ),
      );
      repo.saveWatermarks({
        id: energy,
        deviceId,
        capability: 'energy',
        counter: true,
        wmMinute: wm,
        wmHour: wm,
        wmDay,
        prevCounter: meter,
      });
      const power = repo.insertSeries(deviceId, 'power', false);
      const minutes: Bucket[] = [];
      for (let m = Math.max(from, now - 7 * DAY); m < wm; m += MINUTE) {
        const w = load(p, m / MINUTE);
        minutes.push({ t: m, count: 60, sum: Math.round(w * 600) / 10, min: w, max: w, last: w, inc: 0 });
      }
      writeBuckets(repo, tiers[1]!, power, minutes);
      repo.saveWatermarks({
        id: power,
        deviceId,
        capability: 'power',
        counter: false,
        wmMinute: wm,
        wmHour: wm,
        wmDay,
        prevCounter: null,
      });
    });
  });
}

/** The naive peer: per hour bucket, Intl for the local time, then the tariff and its windows. */
function naiveSummary(service: HistoryService, ids: string[], p: TariffPlan, from: number, to: number, zone: Zone) {
  const bounds = periodBounds('month', from, to, zone);
  const kWh = new Float64Array(bounds.length - 1);
  const cost = new Float64Array(bounds.length - 1);
  for (const id of ids) {
    const s = service.series.get(id, 'energy')!;
    service.query.scan(s, 2, bounds[0]!, Math.min(to, bounds[bounds.length - 1]!), (t, _c, _s, _mi, _ma, _l, inc) => {
      if (inc === 0) return;
      let i = 0;
      while (i + 1 < kWh.length && t >= bounds[i + 1]!) i++;
      const wall = zone.wall(t);
      const day = Math.floor(wall / DAY) * DAY;
      const minute = (wall - day) / MINUTE;
      const weekday = ((new Date(day).getUTCDay() + 6) % 7) + 1;
      const tariff = [...p.tariffs].reverse().find((x) => wallDate(x.validFrom) <= day)!;
      const w = tariff.windows.find(
        (x) => (!x.days || x.days.includes(weekday)) && wallMinutes(x.from) <= minute && minute < wallMinutes(x.to),
      );
      kWh[i]! += inc;
      cost[i]! += inc * (w ? w.price : tariff.price);
    });
  }
  return { kWh: kWh.reduce((a, b) => a + b, 0), cost: cost.reduce((a, b) => a + b, 0) };
}

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const heapMb = () => Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10;
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

/**
 * Wall time and CPU time (user + system of this process) per run: on a shared, loaded machine the
 * wall time includes waiting for a core; the CPU time is what the query costs.
 */
function time(runs: number, fn: () => void): { p50: number; max: number; cpuP50: number } {
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    fn();
    const d = process.cpuUsage(c);
    times.push(performance.now() - t);
    cpu.push((d.user + d.system) / 1000);
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const mid = Math.floor((runs - 1) / 2);
  return { p50: round(times[mid]!), max: round(times[times.length - 1]!), cpuP50: round(cpu[mid]!) };
}

class BenchDriver implements Driver {
  readonly name = 'bench';
  async start() {}
  async stop() {}
  async command() {}
}

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: ctx.args,
    options: { plugs: { type: 'string' }, days: { type: 'string' }, runs: { type: 'string' } },
    strict: true,
  });
  const plugs = Number(values.plugs ?? 50);
  const days = Number(values.days ?? 365);
  const runs = Number(values.runs ?? 20);
  const log = ctx.log;
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-energy-'));
  try {
    const now = Date.UTC(2026, 10, 23, 12, 30);
    const from = floorTo(now - days * DAY, DAY);
    const config = validateConfig({ dataDir: dir }, dir);
    const store = Store.open(dir);
    const clock = new ManualClock(now);
    const logger = createLogger({ level: 'silent' });
    const bus = new EventBus(logger);
    const registry = new DeviceRegistry({ store, bus, clock, log: logger, commandTimeoutMs: 1000 });
    registry.registerDriver(new BenchDriver());
    await registry.start();
    const system = { kind: 'system', part: 'bench' } as const;
    const ids: string[] = [];
    for (let p = 0; p < plugs; p++)
      ids.push(
        (
          await registry.create(
            { name: `Plug ${p}`, driver: 'bench', capabilities: ['switch', 'power', 'energy'] },
            system,
          )
        ).device.id,
      );
    const history = new HistoryService({ store, bus, clock, log: logger, config: config.history });
    log(`energy: ${plugs} plugs, ${days} days (energy per hour, power per minute for 7 days); bulk load...`);
    const t0 = performance.now();
    bulkLoad(history, ids, from, now);
    log(`  bulk load in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await history.start();
    const energy = new EnergyService({
      history,
      registry,
      settings: store.settings,
      audit: new AuditLog(store, bus),
      clock,
    });
    const p = plan(now);
    energy.setPlan(p, system);
    const owner = system;

    collectGarbage();
    const heapBefore = heapMb();
    const yearFrom = now - days * DAY;
    let summary = energy.summary(owner, 'month', yearFrom, now, TZ);
    const summaryYear = time(runs, () => {
      summary = energy.summary(owner, 'month', yearFrom, now, TZ);
    });
    log(
      `  summary, ${days} days per month, ${plugs} plugs: p50 ${summaryYear.p50} ms (CPU ${summaryYear.cpuP50} ms), max ${summaryYear.max} ms`,
    );
    const summaryDays = time(runs, () => energy.summary(owner, 'day', now - Math.min(30, days) * DAY, now, TZ));
    log(`  summary, 30 days per day: p50 ${summaryDays.p50} ms (CPU ${summaryDays.cpuP50} ms)`);
    const costsYear = time(runs, () => energy.costs(owner, ids[0]!, 'day', yearFrom, now, TZ));
    log(`  one device's cost per day for ${days} days: p50 ${costsYear.p50} ms (CPU ${costsYear.cpuP50} ms)`);
    let standbyReport = energy.standby(owner);
    const standby = time(runs, () => {
      standbyReport = energy.standby(owner);
    });
    log(`  standby of ${plugs} plugs (7 days of minutes each): p50 ${standby.p50} ms (CPU ${standby.cpuP50} ms)`);
    // Live cycles: the one analysis that runs continuously. An hour of 1 Hz power readings of every
    // plug as telemetry.sample events on a real bus, through LiveCycles (idle levels from the
    // real service); CPU time per hour of readings as a share of one core.
    // A bus and clock of their own: on the hub's, history's ingest would take every sample too and
    // its maintenance would run on the clock's ticks (bench/history measures those).
    const liveBus = new EventBus(logger);
    const liveClock = new ManualClock(now);
    const liveCycles = new LiveCycles({ bus: liveBus, clock: liveClock, log: logger, idleW: (id) => energy.idleW(id) });
    liveCycles.start();
    let cycleEvents = 0;
    liveBus.on('bench', 'energy.cycle', () => {
      cycleEvents++;
    });
    const liveSeconds = ctx.smoke ? 60 : 3600;
    const c0 = process.cpuUsage();
    for (let sec = 0; sec < liveSeconds; sec++) {
      const at = now + sec * 1000;
      if (sec % 30 === 0) liveClock.advance(at - liveClock.now());
      for (let i = 0; i < ids.length; i++)
        liveBus.emit('telemetry.sample', { deviceId: ids[i]!, capability: 'power', value: load(i, at / MINUTE), at });
    }
    const cu = process.cpuUsage(c0);
    liveCycles.stop();
    const liveCpuMs = (cu.user + cu.system) / 1000;
    const liveShare = liveCpuMs / (liveSeconds * 1000);
    log(
      `  live cycles: ${liveSeconds} s of ${plugs} plugs at 1 Hz in ${round(liveCpuMs)} ms CPU = ` +
        `${round(liveShare * 100, 3)} % of a core; ${cycleEvents} cycle events`,
    );
    // The heap one summary holds at its peak: sampled right after it, before any collection.
    collectGarbage();
    const h0 = process.memoryUsage().heapUsed;
    energy.summary(owner, 'month', yearFrom, now, TZ);
    const summaryHeapMb = round((process.memoryUsage().heapUsed - h0) / 1048576, 1);
    collectGarbage();
    const heapAfter = heapMb();
    log(`  heap: ${heapBefore} MiB before, ${heapAfter} MiB after; one year summary allocates ${summaryHeapMb} MiB`);

    const zone = new Zone(TZ);
    let naive = naiveSummary(history, ids, p, yearFrom, now, zone);
    const naiveT = time(Math.max(1, Math.min(runs, 3)), () => {
      naive = naiveSummary(history, ids, p, yearFrom, now, zone);
    });
    const agree =
      Math.abs(naive.kWh - summary.totals.kWh) < 1e-3 &&
      Math.abs(naive.cost - (summary.totals.cost ?? Number.NaN)) < 1e-3;
    log(
      `  naive (Intl per hour bucket): ${naiveT.p50} ms (CPU ${naiveT.cpuP50} ms); totals ${round(naive.kWh, 3)} kWh / ${round(naive.cost, 3)} EUR, ` +
        `ours ${summary.totals.kWh} / ${summary.totals.cost}: ${agree ? 'agree' : 'DISAGREE'}`,
    );
    if (!agree) throw new Error('the naive peer and the service disagree on the year');
    const worst = standbyReport.devices[0];
    await history.stop();
    await registry.stop();
    store.close();
    return {
      method:
        'bulk tiers (energy per hour for the year, power per minute for 7 days), EnergyService over the real ' +
        'registry/history/settings; TOU tariff in Europe/Berlin with a change mid-year; naive = Intl local time per hour bucket',
      plugs,
      days,
      queryMs: { summaryYear, summary30Days: summaryDays, costsYearOneDevice: costsYear, standby },
      heapMb: { before: heapBefore, after: heapAfter, oneYearSummary: summaryHeapMb },
      cpuShareAtOneYearSummaryPerMinute: round(summaryYear.cpuP50 / 60_000, 5),
      liveCycles: { seconds: liveSeconds, cpuMs: round(liveCpuMs), cpuShare: round(liveShare, 5), events: cycleEvents },
      totals: {
        kWh: summary.totals.kWh,
        cost: summary.totals.cost,
        standbyW: standbyReport.total.watts,
        worstStandby: worst?.watts,
      },
      naive: { summaryYearMs: naiveT.p50, summaryYearCpuMs: naiveT.cpuP50, agree },
      ratios: {
        summaryVsNaive: round(summaryYear.p50 / naiveT.p50, 3),
        summaryCpuVsNaive: round(summaryYear.cpuP50 / naiveT.cpuP50, 3),
      },
      targets: {
        cpuUnder2Percent: summaryYear.cpuP50 / 60_000 + liveShare < 0.02,
        heapUnder50Mb: summaryHeapMb < 50,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
