import type Database from 'better-sqlite3';
import { decodeJournal } from '../../src/history/journal.ts';

/**
 * The raw samples of one series that are on disk but not yet in a raw block: read from the
 * journal rows (history_journal, decoded with the hub's own row format), newer than the series'
 * raw blocks, as the hub replays them at start.
 */
export function journalSamples(
  db: Database.Database,
  deviceId: string,
  capability: string,
): { t: number; v: number }[] {
  const s = db
    .prepare('SELECT id FROM history_series WHERE device_id = ? AND capability = ?')
    .get(deviceId, capability) as { id: number } | undefined;
  if (!s) return [];
  const packed = db.prepare('SELECT max(t1) AS t FROM history_blocks WHERE series_id = ? AND tier = 0').get(s.id) as {
    t: number | null;
  };
  let last = packed.t ?? -Infinity;
  const out: { t: number; v: number }[] = [];
  for (const row of db.prepare('SELECT data FROM history_journal ORDER BY seq').all() as { data: Uint8Array }[]) {
    for (const e of decodeJournal(row.data)) {
      if (e.seriesId !== s.id) continue;
      for (let i = 0; i < e.times.length; i++) {
        const t = e.times[i]!;
        if (t <= last) continue;
        out.push({ t, v: e.values[i]! });
        last = t;
      }
    }
  }
  return out;
}
