/**
 * bench/backup: backup and restore of a home with a year of history for 50 plugs (issue 16).
 *
 * The home is built the way bench/history builds it (its bulk loader: the year's tiers written
 * straight into a real hub database), plus 50 plug devices, a Zigbee network file, herdsman's
 * database and a firmware image. Then, timed separately:
 *  - backup: `createBackup` as `hearth-admin backup` runs it (online SQLite snapshot, staging,
 *    hashes, argon2id with the default parameters, ChaCha20-Poly1305 chunks, fsync, rename);
 *  - restore: `restoreBackup` into a new data dir (decrypt, unpack, hash checks, integrity_check,
 *    migrations, plug counter jump, swap).
 * Figures: the database and file sizes, the seconds of each, MB/s of database, and this process's
 * RSS sampled every 20 ms during backup and restore, as growth over the RSS just before
 * (the backup streams: it must not grow with the home; building the home takes far more).
 *
 * Options: --plugs=N (50) --days=N (365)
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBackup } from '../hub/src/backup/create.ts';
import { restoreBackup } from '../hub/src/backup/restore.ts';
import { EventBus } from '../hub/src/core/bus.ts';
import { ManualClock } from '../hub/src/core/clock.ts';
import { validateConfig } from '../hub/src/core/config.ts';
import { createLogger } from '../hub/src/core/logger.ts';
import { HistoryService } from '../hub/src/history/service.ts';
import { DAY, floorTo, HOUR } from '../hub/src/history/tiers.ts';
import { Store } from '../hub/src/store/store.ts';
import { bulkLoad, type Layout } from './history.bench.ts';
import { makeTempDir, removeTempDir } from './lib/proc.ts';
import type { BenchContext, BenchSmoke } from './run.ts';

export const description = 'backup and restore of a home with a year of history for 50 plugs: seconds, sizes, peak RSS';

export const smoke: BenchSmoke = {
  args: ['--plugs=1', '--days=8'],
  keys: ['backupS', 'restoreS', 'dbBytes', 'fileBytes'],
};

const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: ctx.args,
    options: { plugs: { type: 'string' }, days: { type: 'string' } },
    strict: true,
  });
  const plugs = Number(values.plugs ?? 50);
  const days = Number(values.days ?? 365);
  const log = ctx.log;
  const root = makeTempDir('hearth-bench-backup-');
  try {
    const dataDir = join(root, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    const now = Date.UTC(2026, 10, 23, 12);
    const layout: Layout = { now, from: floorTo(now - days * DAY, DAY), sliceStart: now - HOUR };
    const config = validateConfig({ dataDir }, dataDir);
    const store = Store.open(dataDir);
    const logger = createLogger({ level: 'silent' });
    const service = new HistoryService({
      store,
      bus: new EventBus(logger),
      clock: new ManualClock(now),
      log: logger,
      config: config.history,
    });
    log(`backup: building a home of ${plugs} plugs with ${days} days of history...`);
    const bulk = bulkLoad(service, plugs, layout, () => {});
    store.rooms.insertHome({ id: 'home', name: 'Bench House', createdAt: now });
    for (let p = 0; p < plugs; p++) {
      store.devices.insert({
        id: `plug_${String(p).padStart(2, '0')}`,
        name: `Plug ${p}`,
        roomId: null,
        driver: 'plug',
        model: 'hearth-plug',
        capabilities: ['switch', 'power', 'voltage', 'current', 'energy'],
        config: { counter: 1000 + p },
        available: false,
        createdAt: now,
        updatedAt: now,
      });
    }
    store.close();
    mkdirSync(join(dataDir, 'zigbee'), { mode: 0o700 });
    writeFileSync(
      join(dataDir, 'zigbee', 'network.json'),
      '{"panId":4660,"extendedPanId":[1,2,3,4,5,6,7,8],"networkKey":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}\n',
    );
    writeFileSync(join(dataDir, 'zigbee', 'database.db'), '{"id":1,"type":"Coordinator"}\n'.repeat(200));
    mkdirSync(join(dataDir, 'firmware'), { mode: 0o700 });
    writeFileSync(join(dataDir, 'firmware', 'plug-1.0.0.bin'), Buffer.alloc(1 << 20, 0x5a));
    const dbBytes = statSync(join(dataDir, 'hearth.db')).size;
    log(`  built in ${bulk.seconds.toFixed(1)} s: hearth.db ${(dbBytes / 1e6).toFixed(1)} MB`);

    const file = join(root, 'home.hbk');
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 20);
    const t0 = performance.now();
    await createBackup({ dataDir, out: file, passphrase: 'bench passphrase' });
    const backupS = (performance.now() - t0) / 1000;
    const fileBytes = statSync(file).size;
    log(`  backup: ${backupS.toFixed(2)} s, ${(fileBytes / 1e6).toFixed(1)} MB (argon2id 64 MiB × 3 included)`);

    const t1 = performance.now();
    const restored = await restoreBackup({ file, dataDir: join(root, 'restored'), passphrase: 'bench passphrase' });
    const restoreS = (performance.now() - t1) / 1000;
    log(`  restore: ${restoreS.toFixed(2)} s (${restored.plugsMoved} plug counters moved)`);
    clearInterval(sampler);
    const rssGrowthMiB = (rssPeak - rssBefore) / 1048576;
    log(
      `  RSS during backup and restore: at most ${rssGrowthMiB.toFixed(0)} MiB above the ${(rssBefore / 1048576).toFixed(0)} MiB before`,
    );
    return {
      plugs,
      days,
      dbBytes,
      fileBytes,
      ratioFileVsDb: round(fileBytes / dbBytes, 3),
      backupS: round(backupS),
      restoreS: round(restoreS),
      backupMBps: round(dbBytes / 1e6 / backupS, 1),
      restoreMBps: round(dbBytes / 1e6 / restoreS, 1),
      rssGrowthMiB: Math.round(rssGrowthMiB),
    };
  } finally {
    removeTempDir(root);
  }
}
