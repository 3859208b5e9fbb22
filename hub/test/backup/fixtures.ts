import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeJournal } from '../../src/history/journal.ts';
import { Store } from '../../src/store/store.ts';
import type { KdfParams } from '../../src/backup/kdf.ts';

/** The smallest KDF a header may name: keeps tests quick; one test uses the default. */
export const FAST_KDF: KdfParams = { memoryKiB: 8_192, passes: 1, parallelism: 1 };

/** Power readings of plug-1 that are only in the history journal (not yet packed into a raw block). */
export const SEED_JOURNAL = { times: [1000, 2000, 3000], values: [5, 6.5, 7] };

/**
 * A stopped hub's data dir with a home, an owner, a plug at counter 7, readings in the history
 * journal and Zigbee and firmware files, plus what must stay out of a backup (recordings, pid,
 * ports, setup code).
 */
export function seedDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const store = Store.open(dataDir);
  try {
    store.rooms.insertHome({ id: 'home1', name: 'Maple House', createdAt: 1 });
    store.users.insert({ id: 'u1', username: 'olivia', passwordHash: 'x', role: 'owner', createdAt: 1 } as never);
    store.devices.insert({
      id: 'plug-1',
      name: 'Lamp',
      roomId: null,
      driver: 'plug',
      model: 'hearth-plug',
      capabilities: ['switch'],
      config: { counter: 7 },
      available: false,
      createdAt: 1,
      updatedAt: 1,
    });
    store.settings.set('plug.signKey', 'seed-bytes');
    store.db
      .prepare("INSERT INTO history_series (id, device_id, capability, counter) VALUES (1, 'plug-1', 'power', 0)")
      .run();
    store.db
      .prepare('INSERT INTO history_journal (samples, data) VALUES (?, ?)')
      .run(3, encodeJournal([{ seriesId: 1, ...SEED_JOURNAL }]));
  } finally {
    store.close();
  }
  mkdirSync(join(dataDir, 'zigbee'), { recursive: true });
  writeFileSync(join(dataDir, 'zigbee', 'network.json'), '{"panId":4660}\n');
  writeFileSync(join(dataDir, 'zigbee', 'database.db'), '{"id":1}\n'.repeat(5000));
  mkdirSync(join(dataDir, 'firmware'), { recursive: true });
  writeFileSync(join(dataDir, 'firmware', '1.2.0.bin'), Buffer.alloc(300_000, 7));
  mkdirSync(join(dataDir, 'recordings', 'cam1'), { recursive: true });
  writeFileSync(join(dataDir, 'recordings', 'cam1', 'seg.mp4'), 'video');
  writeFileSync(join(dataDir, 'ports.json'), '{}');
  writeFileSync(join(dataDir, 'setup-code'), 'ABCD');
}
