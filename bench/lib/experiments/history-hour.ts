/**
 * Experiment (not a bench): what the history part alone writes per simulated hour for N plugs
 * (4 readings each at 1 Hz with jitter and meter-like noise), on a ManualClock, so the hourly
 * packing is in the figure (bench/writes' 90 s window holds none). The WAL auto-checkpoint
 * runs at its usual size; WAL bytes and checkpoint bytes (distinct pages per WAL generation)
 * come from test/helpers/wal-frames.ts. Run: node --expose-gc bench/lib/experiments/history-hour.ts [plugs] [hours] [wal_autocheckpoint] [maintenanceSliceMs]
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EventBus } from '../../../hub/src/core/bus.ts';
import { ManualClock } from '../../../hub/src/core/clock.ts';
import { validateConfig } from '../../../hub/src/core/config.ts';
import { createLogger } from '../../../hub/src/core/logger.ts';
import { HistoryService } from '../../../hub/src/history/service.ts';
import { Store } from '../../../hub/src/store/store.ts';
import { WalFrames } from '../../../hub/test/helpers/wal-frames.ts';
import { tempDir } from '../../../hub/test/helpers/temp.ts';

const plugs = Number(process.argv[2] ?? 50);
const hours = Number(process.argv[3] ?? 2);
const checkpoint = Number(process.argv[4] ?? 1000);
const sliceMs = process.argv[5] === undefined ? undefined : Number(process.argv[5]);
const tmp = tempDir('hearth-history-hour-');
// Maintenance once a simulated minute instead of every second: the same writes (packing waits
// for the hour), far less CPU for the simulation.
const config = validateConfig(
  {
    dataDir: tmp.dir,
    history: { maintenanceIntervalMs: 60_000, ...(sliceMs === undefined ? {} : { maintenanceSliceMs: sliceMs }) },
  },
  tmp.dir,
);
const log = createLogger({ level: 'silent' });
const store = Store.open(tmp.dir);
store.db.pragma(`wal_autocheckpoint = ${checkpoint}`);
const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0, 5));
const bus = new EventBus(log);
const history = new HistoryService({ store, bus, clock, log, config: config.history });
await history.start();
const wal = new WalFrames(join(tmp.dir, 'hearth.db-wal'));
// The schema's creation and each series' row (once in a hub's life) are in the WAL already:
// count from here.
for (let i = 0; i < plugs; i++)
  for (const c of ['power', 'voltage', 'current', 'energy']) history.series.ensure(`plug-${i}`, c);
store.db.pragma('wal_checkpoint(TRUNCATE)');
wal.poll();
const base = {
  bytes: wal.bytes,
  checkpoint: wal.checkpointBytes(),
  commits: wal.commits,
  byPage: new Map(wal.framesByPage),
};
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
gc();
const heap0 = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
let seed = 1;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const energy = new Array<number>(plugs).fill(0);
let rssMax = 0;
for (let s = 0; s < hours * 3600; s++) {
  for (let i = 0; i < plugs; i++) {
    const at = clock.now() + Math.floor(rand() * 40);
    const watts = 60 + i + (rand() - 0.5);
    const volts = 230 + (rand() - 0.5) * 2;
    energy[i]! += watts / 3600 / 1000;
    bus.emit('telemetry.sample', {
      deviceId: `plug-${i}`,
      capability: 'power',
      value: Math.round(watts * 10) / 10,
      at,
    });
    bus.emit('telemetry.sample', {
      deviceId: `plug-${i}`,
      capability: 'voltage',
      value: Math.round(volts * 10) / 10,
      at,
    });
    bus.emit('telemetry.sample', {
      deviceId: `plug-${i}`,
      capability: 'current',
      value: Math.round((watts / volts) * 1000) / 1000,
      at,
    });
    bus.emit('telemetry.sample', {
      deviceId: `plug-${i}`,
      capability: 'energy',
      value: Math.round(energy[i]! * 1000) / 1000,
      at,
    });
  }
  clock.advance(1000);
  wal.poll();
  if (s % 600 === 0) rssMax = Math.max(rssMax, history.tail.bytes);
}
wal.poll();
const perDay = (b: number) => Math.round(((b / hours) * 24) / 1e5) / 10;
const blockBytes = (
  store.db.prepare('SELECT coalesce(sum(bytes),0) AS b FROM history_blocks WHERE tier = 0').get() as { b: number }
).b;
const blockSamples = (
  store.db.prepare('SELECT coalesce(sum(count),0) AS n FROM history_blocks WHERE tier = 0').get() as { n: number }
).n;
// WAL frames by table (pages mapped at the end, through dbstat).
const owners = new Map<number, string>();
{
  const db = new Database(join(tmp.dir, 'hearth.db'), { readonly: true });
  for (const r of db.prepare('SELECT name, pageno FROM dbstat').all() as { name: string; pageno: number }[])
    owners.set(r.pageno, r.name);
  db.close();
}
const byTable: Record<string, number> = {};
let frames = 0;
for (const [page, n] of wal.framesByPage) {
  const d = n - (base.byPage.get(page) ?? 0);
  if (d <= 0) continue;
  frames += d;
  const t = owners.get(page) ?? (page === 1 ? 'header' : 'free');
  byTable[t] = (byTable[t] ?? 0) + d;
}
console.log(
  JSON.stringify({
    plugs,
    hours,
    checkpoint,
    sliceMs: config.history.maintenanceSliceMs,
    walMbPerDay: perDay(wal.bytes - base.bytes),
    checkpointMbPerDay: perDay(wal.checkpointBytes() - base.checkpoint),
    commitsPerMin: Math.round(((wal.commits - base.commits) / hours / 60) * 10) / 10,
    rawBlockBytesPerSample: Math.round((blockBytes / Math.max(1, blockSamples)) * 100) / 100,
    tailBytesMax: rssMax,
    tailBytesPerPlugHour: Math.round(rssMax / plugs),
    walPctByTable: Object.fromEntries(
      Object.entries(byTable)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => [k, Math.round((v / frames) * 1000) / 10]),
    ),
    heapAddedMb:
      (gc(), Math.round((process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - heap0) / 1e5) / 10),
  }),
);
await history.stop();
store.close();
tmp.cleanup();
