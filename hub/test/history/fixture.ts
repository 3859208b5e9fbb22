import { EventBus } from '../../src/core/bus.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { validateConfig } from '../../src/core/config.ts';
import { createLogger } from '../../src/core/logger.ts';
import { HistoryService } from '../../src/history/service.ts';
import { Store } from '../../src/store/store.ts';
import { journalSamples } from '../helpers/history-journal.ts';
import { tempDir } from '../helpers/temp.ts';

/** A history part on a real SQLite file in a temp dir, driven by a ManualClock and a real bus. */
export async function historyFixture(history: Record<string, unknown> = {}, start = Date.UTC(2026, 0, 1)) {
  const tmp = tempDir();
  const config = validateConfig({ dataDir: tmp.dir, history }, tmp.dir);
  const log = createLogger({ level: 'silent' });
  const store = Store.open(tmp.dir);
  const clock = new ManualClock(start);
  const bus = new EventBus(log);
  const service = new HistoryService({ store, bus, clock, log, config: config.history });
  await service.start();
  return {
    tmp,
    config,
    store,
    clock,
    bus,
    service,
    /** As stored: the open raw tail of one series, in the journal on disk. */
    openRows: (deviceId: string, capability: string) => journalSamples(store.db, deviceId, capability),
    count: (table: string) => (store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n,
    async close() {
      await service.stop();
      store.close();
      tmp.cleanup();
    },
  };
}

export type HistoryFixture = Awaited<ReturnType<typeof historyFixture>>;
