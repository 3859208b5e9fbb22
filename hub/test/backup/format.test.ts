import type { ErrorCode } from '@hearth/model/errors';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBackup } from '../../src/backup/create.ts';
import { RESTORE_COUNTER_JUMP } from '../../src/backup/plug-counters.ts';
import { restoreBackup } from '../../src/backup/restore.ts';
import { EventBus } from '../../src/core/bus.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { validateConfig } from '../../src/core/config.ts';
import { isHubError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import { HistoryService } from '../../src/history/service.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/temp.ts';
import { FAST_KDF, SEED_JOURNAL, seedDataDir } from './fixtures.ts';

let tmp: { dir: string; cleanup: () => void };
let source: string;
let file: string;
beforeEach(async () => {
  tmp = tempDir('hearth-backup-');
  source = join(tmp.dir, 'source');
  seedDataDir(source);
  file = join(tmp.dir, 'out', 'home.hbk');
  // Small chunks so the files span many of them.
  await createBackup({ dataDir: source, out: file, passphrase: 'correct horse', kdf: FAST_KDF, chunkBytes: 4096 });
});
afterEach(() => tmp.cleanup());

async function refusal(p: Promise<unknown>): Promise<ErrorCode> {
  try {
    await p;
  } catch (err) {
    if (isHubError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a refusal');
}

function restoreTo(target: string, passphrase = 'correct horse', from = file) {
  return restoreBackup({ file: from, dataDir: target, passphrase });
}

describe('backup file', () => {
  it('round-trips the database, keys and files, leaves out recordings and per-run files, and moves plug counters on', async () => {
    const target = join(tmp.dir, 'restored');
    const result = await restoreTo(target);
    expect(result.manifest.counts).toEqual({ users: 1, devices: 1, plugs: 1, rules: 0 });
    expect(result.manifest.home).toBe('Maple House');
    expect(result.safetyCopy).toBeNull();
    expect(readFileSync(join(target, 'zigbee', 'database.db'))).toEqual(
      readFileSync(join(source, 'zigbee', 'database.db')),
    );
    expect(readFileSync(join(target, 'firmware', '1.2.0.bin'))).toEqual(
      readFileSync(join(source, 'firmware', '1.2.0.bin')),
    );
    expect(readFileSync(join(target, 'zigbee', 'network.json'), 'utf8')).toBe('{"panId":4660}\n');
    for (const absent of ['recordings', 'ports.json', 'setup-code', 'hub.pid'])
      expect(existsSync(join(target, absent))).toBe(false);
    const db = new Database(join(target, 'hearth.db'), { readonly: true });
    expect(db.prepare('SELECT username FROM users').pluck().all()).toEqual(['olivia']);
    expect(db.prepare("SELECT value FROM settings WHERE key = 'plug.signKey'").pluck().get()).toBe('"seed-bytes"');
    expect(
      JSON.parse(db.prepare("SELECT config FROM devices WHERE id = 'plug-1'").pluck().get() as string).counter,
    ).toBe(7 + RESTORE_COUNTER_JUMP);
    db.close();
    // The open raw tail's journal came along: a history part on the restored data replays it.
    const store = Store.open(target);
    const log = createLogger({ level: 'silent' });
    const history = new HistoryService({
      store,
      bus: new EventBus(log),
      clock: new ManualClock(10_000),
      log,
      config: validateConfig({ dataDir: target }, target).history,
    });
    await history.start();
    expect(history.history('plug-1', 'power', 0, 10_000, 100, 'raw').points.map((p) => [p.t, p.mean])).toEqual(
      SEED_JOURNAL.times.map((t, i) => [t, SEED_JOURNAL.values[i]]),
    );
    await history.stop();
    store.close();
    // Nothing of the unpacking is left beside the target.
    expect(readdirSync(tmp.dir).sort()).toEqual(['out', 'restored', 'source']);
  });

  it('holds no plaintext: the owner name, key setting and file contents are not in the file', () => {
    const bytes = readFileSync(file);
    for (const needle of ['olivia', 'seed-bytes', 'panId', 'Maple House', 'SQLite format'])
      expect(bytes.includes(Buffer.from(needle))).toBe(false);
  });

  it('refuses a wrong passphrase, writing nothing', async () => {
    const target = join(tmp.dir, 'restored');
    expect(await refusal(restoreTo(target, 'wrong horse'))).toBe('backup_passphrase_wrong');
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(tmp.dir).sort()).toEqual(['out', 'source']);
  });

  it.each([
    [
      'a flipped byte in the header',
      (b: Buffer) => {
        b[30]! ^= 1;
      },
    ],
    [
      'a flipped byte in the first chunk',
      (b: Buffer) => {
        b[96 + 5 + 10]! ^= 1;
      },
    ],
    [
      'a flipped byte in the middle',
      (b: Buffer) => {
        b[Math.floor(b.length / 2)]! ^= 0x40;
      },
    ],
    [
      'a flipped byte in the last tag',
      (b: Buffer) => {
        b[b.length - 1]! ^= 1;
      },
    ],
  ])('refuses %s as backup_corrupt, writing nothing', async (_name, damage) => {
    const bytes = readFileSync(file);
    damage(bytes);
    const bad = join(tmp.dir, 'out', 'bad.hbk');
    writeFileSync(bad, bytes);
    const target = join(tmp.dir, 'restored');
    expect(await refusal(restoreTo(target, 'correct horse', bad))).toBe('backup_corrupt');
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(tmp.dir).sort()).toEqual(['out', 'source']);
  });

  it('refuses a truncated file, cut at a chunk boundary or inside one', async () => {
    const bytes = readFileSync(file);
    const frame = 5 + 4096 + 16;
    for (const cut of [
      96 + frame,
      96 + frame * 3,
      bytes.length - 1,
      bytes.length - ((bytes.length - 96) % frame),
      50,
    ]) {
      const bad = join(tmp.dir, 'out', `cut-${cut}.hbk`);
      writeFileSync(bad, bytes.subarray(0, cut));
      expect(await refusal(restoreTo(join(tmp.dir, 'restored'), 'correct horse', bad)), `cut at ${cut}`).toBe(
        'backup_corrupt',
      );
    }
    expect(readdirSync(tmp.dir).sort()).toEqual(['out', 'source']);
  });

  it('refuses chunks swapped in place and bytes appended after the final chunk', async () => {
    const bytes = readFileSync(file);
    const frame = 5 + 4096 + 16;
    const swapped = Buffer.concat([
      bytes.subarray(0, 96),
      bytes.subarray(96 + frame, 96 + 2 * frame),
      bytes.subarray(96, 96 + frame),
      bytes.subarray(96 + 2 * frame),
    ]);
    writeFileSync(join(tmp.dir, 'out', 'swapped.hbk'), swapped);
    expect(
      await refusal(restoreTo(join(tmp.dir, 'restored'), 'correct horse', join(tmp.dir, 'out', 'swapped.hbk'))),
    ).toBe('backup_corrupt');
    writeFileSync(join(tmp.dir, 'out', 'long.hbk'), Buffer.concat([bytes, Buffer.from([0, 0, 0, 0, 0, 0])]));
    expect(await refusal(restoreTo(join(tmp.dir, 'restored'), 'correct horse', join(tmp.dir, 'out', 'long.hbk')))).toBe(
      'backup_corrupt',
    );
  });

  it('refuses to replace a set-up hub without replace, and keeps a safety copy with it', async () => {
    const other = join(tmp.dir, 'other');
    seedDataDir(other);
    writeFileSync(join(other, 'marker'), 'old home');
    expect(await refusal(restoreTo(other))).toBe('restore_would_replace');
    expect(readFileSync(join(other, 'marker'), 'utf8')).toBe('old home');
    const result = await restoreBackup({ file, dataDir: other, passphrase: 'correct horse', replace: true });
    expect(existsSync(join(other, 'marker'))).toBe(false);
    expect(readFileSync(join(result.safetyCopy!, 'marker'), 'utf8')).toBe('old home');
  });

  it('restores into an existing empty dir', async () => {
    const target = join(tmp.dir, 'empty');
    (await import('node:fs')).mkdirSync(target);
    await restoreTo(target);
    expect(existsSync(join(target, 'hearth.db'))).toBe(true);
  });

  it('opens a file made with the default (strong) KDF parameters', async () => {
    const strong = join(tmp.dir, 'out', 'strong.hbk');
    await createBackup({ dataDir: source, out: strong, passphrase: 'pp' });
    expect(readFileSync(strong).readUInt32BE(12)).toBe(65_536);
    expect(await refusal(restoreTo(join(tmp.dir, 'r2'), 'pq', strong))).toBe('backup_passphrase_wrong');
    await restoreTo(join(tmp.dir, 'r1'), 'pp', strong);
    expect(existsSync(join(tmp.dir, 'r1', 'hearth.db'))).toBe(true);
  });
});

describe('backups from a newer hub', () => {
  it('refuses a newer database schema and a newer hub version with backup_too_new, writing nothing', async () => {
    const t = tempDir('hearth-backup-newer-');
    try {
      const data = join(t.dir, 'data');
      seedDataDir(data);
      const db = new Database(join(data, 'hearth.db'));
      db.pragma('user_version = 999');
      db.close();
      await createBackup({ dataDir: data, out: join(t.dir, 'schema.hbk'), passphrase: 'pp', kdf: FAST_KDF });
      await expect(
        restoreBackup({ file: join(t.dir, 'schema.hbk'), dataDir: join(t.dir, 'r'), passphrase: 'pp' }),
      ).rejects.toMatchObject({ code: 'backup_too_new' });

      // A manifest naming a later hub, sealed like any backup.
      const { writeContainer } = await import('../../src/backup/container.ts');
      const { SealStream } = await import('../../src/backup/sealed-stream.ts');
      const { Readable } = await import('node:stream');
      const { pipeline } = await import('node:stream/promises');
      const { createWriteStream } = await import('node:fs');
      const manifest = {
        kind: 'hearth-backup' as const,
        hubVersion: '999.0.0',
        schemaVersion: 1,
        createdAt: 1,
        home: 'h',
        counts: { users: 0, devices: 0, plugs: 0, rules: 0 },
        entries: [],
      };
      await pipeline(
        Readable.from(writeContainer(manifest, t.dir)),
        new SealStream('pp', { kdf: FAST_KDF }),
        createWriteStream(join(t.dir, 'hub.hbk')),
      );
      await expect(
        restoreBackup({ file: join(t.dir, 'hub.hbk'), dataDir: join(t.dir, 'r'), passphrase: 'pp' }),
      ).rejects.toMatchObject({ code: 'backup_too_new' });
      expect(readdirSync(t.dir).sort()).toEqual(['data', 'hub.hbk', 'schema.hbk']);
    } finally {
      t.cleanup();
    }
  });
});

describe('backup disk space', () => {
  it('refuses with backup_storage_full, writing nothing, when the data disk cannot hold it with room to spare', async () => {
    const { mountTmpfs, unmount } = await import('../helpers/tmpfs.ts');
    const t = tempDir('hearth-backup-full-');
    const disk = join(t.dir, 'disk');
    const why = mountTmpfs(disk, 20);
    if (why) {
      t.cleanup();
      console.warn(`skipped: ${why}`);
      return;
    }
    try {
      const data = join(disk, 'data');
      seedDataDir(data);
      // About 1 MB of home: 2 MB for staging and file plus the 16 MiB margin fit in 20 MiB...
      const out = join(disk, 'home.hbk');
      // ...until a 4 MB file takes the room.
      writeFileSync(join(disk, 'filler'), Buffer.alloc(4 << 20));
      await expect(createBackup({ dataDir: data, out, passphrase: 'pp', kdf: FAST_KDF })).rejects.toMatchObject({
        code: 'backup_storage_full',
      });
      expect(existsSync(out)).toBe(false);
      expect(existsSync(`${out}.partial`)).toBe(false);
      expect(readdirSync(join(data, 'backups'))).toEqual([]);
      (await import('node:fs')).rmSync(join(disk, 'filler'));
      await createBackup({ dataDir: data, out, passphrase: 'pp', kdf: FAST_KDF });
      expect(existsSync(out)).toBe(true);
    } finally {
      unmount(disk);
      t.cleanup();
    }
  });
});
