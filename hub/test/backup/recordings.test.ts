import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreBackup } from '../../src/backup/restore.ts';
import { BackupService } from '../../src/backup/service.ts';
import { systemClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { Store } from '../../src/store/store.ts';
import { api, setupOwner } from '../helpers/http.ts';
import { startHub, type HubProcess } from '../helpers/hub-process.ts';
import { tempDir } from '../helpers/temp.ts';
import { FAST_KDF, seedDataDir } from './fixtures.ts';

/**
 * Camera recordings in a backup: off unless the owner asks, their size readable first, closed
 * segments only (not what ffmpeg is writing, not playback exports), bounded in bytes.
 *
 * The files are written into the recorder's layout by the test (segment bytes are opaque to the
 * backup; the cameras are not in the hub's database, so the recorder's sweep leaves them alone).
 */

const PASSPHRASE = 'footage goes along too';

/** Closed segments (two days of one camera, one flat file of an older hub), and what must stay out. */
const CLOSED = [
  'cam-a/2026-12-06/1733500000-00001.mp4',
  'cam-a/2026-12-07/1733580000-00002.mp4',
  'cam-b/1733000000-00007.mp4',
];
const LEFT_OUT = ['cam-a/incoming/1733600000-00003.mp4', 'cam-a/exports/clip-1.mp4', 'cam-a/2026-12-07/notes.txt'];

function writeFootage(root: string, sizes: number[] = [150_000, 90_000, 40_000]): Map<string, Buffer> {
  const bytes = new Map<string, Buffer>();
  CLOSED.forEach((rel, i) => bytes.set(rel, randomBytes(sizes[i]!)));
  for (const rel of LEFT_OUT) bytes.set(rel, randomBytes(1000));
  for (const [rel, b] of bytes) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), b);
  }
  return bytes;
}

describe('recordings in a backup (a real hub)', () => {
  let tmp: { dir: string; cleanup: () => void };
  let hub: HubProcess;
  let owner: string;
  let member: string;
  let footage: Map<string, Buffer>;
  const closedBytes = () => CLOSED.reduce((sum, rel) => sum + footage.get(rel)!.length, 0);

  beforeAll(async () => {
    tmp = tempDir('hearth-backup-rec-');
    hub = await startHub(join(tmp.dir, 'data'));
    owner = await setupOwner(hub);
    const add = await api(hub.baseUrl, 'POST', '/api/v1/users', {
      token: owner,
      body: { username: 'member', password: 'a long enough password', role: 'member' },
    });
    expect(add.status).toBe(201);
    member = (
      await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
        body: { username: 'member', password: 'a long enough password' },
      })
    ).body.accessToken;
    footage = writeFootage(join(hub.dataDir, 'recordings'));
  }, 60_000);
  afterAll(async () => {
    await hub?.stop();
    tmp.cleanup();
  });

  it('shows the owner what the recordings would add; nobody else', async () => {
    const size = await api(hub.baseUrl, 'GET', '/api/v1/backups/recordings', { token: owner });
    expect(size.status).toBe(200);
    expect(size.body).toEqual({ files: 3, bytes: closedBytes(), maxBytes: 16 * 1024 ** 3 });
    const refused = await api(hub.baseUrl, 'GET', '/api/v1/backups/recordings', { token: member });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'forbidden']);
    expect((await api(hub.baseUrl, 'GET', '/api/v1/backups/recordings')).status).toBe(401);
    const memberMade = await api(hub.baseUrl, 'POST', '/api/v1/backups', {
      token: member,
      body: { passphrase: PASSPHRASE, recordings: true },
    });
    expect([memberMade.status, memberMade.body.error.code]).toEqual([403, 'forbidden']);
    const bad = await api(hub.baseUrl, 'POST', '/api/v1/backups', {
      token: owner,
      body: { passphrase: PASSPHRASE, recordings: 'yes' },
    });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'validation_failed']);
  });

  it('leaves them out by default', async () => {
    const made = await api(hub.baseUrl, 'POST', '/api/v1/backups', { token: owner, body: { passphrase: PASSPHRASE } });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body.recordings).toBeUndefined();
    const restored = await restoreBackup({
      file: join(hub.dataDir, 'backups', `${made.body.id}.hbk`),
      dataDir: join(tmp.dir, 'without'),
      passphrase: PASSPHRASE,
    });
    expect(restored.manifest.entries.some((e) => e.path.startsWith('recordings/'))).toBe(false);
    expect(existsSync(join(tmp.dir, 'without', 'recordings'))).toBe(false);
  }, 60_000);

  it('with the owner’s opt-in: the closed segments, byte for byte, and nothing else of the recordings dir', async () => {
    const made = await api(hub.baseUrl, 'POST', '/api/v1/backups', {
      token: owner,
      body: { passphrase: PASSPHRASE, recordings: true },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body.recordings).toEqual({ files: 3, bytes: closedBytes() });
    expect(made.body.bytes).toBeGreaterThan(closedBytes());
    // The staging dir (hard links) is gone; the recordings are where they were.
    expect(readdirSync(join(hub.dataDir, 'backups')).filter((n) => n.startsWith('.staging'))).toEqual([]);
    for (const rel of CLOSED)
      expect(readFileSync(join(hub.dataDir, 'recordings', rel)).equals(footage.get(rel)!)).toBe(true);

    const restored = await restoreBackup({
      file: join(hub.dataDir, 'backups', `${made.body.id}.hbk`),
      dataDir: join(tmp.dir, 'with'),
      passphrase: PASSPHRASE,
    });
    expect(restored.manifest.entries.filter((e) => e.path.startsWith('recordings/')).map((e) => e.path)).toEqual(
      CLOSED.map((rel) => `recordings/${rel}`),
    );
    for (const rel of CLOSED)
      expect(readFileSync(join(tmp.dir, 'with', 'recordings', rel)).equals(footage.get(rel)!)).toBe(true);
    for (const rel of LEFT_OUT) expect(existsSync(join(tmp.dir, 'with', 'recordings', rel))).toBe(false);
  }, 60_000);
});

describe('recordings in a backup: the bound', () => {
  it('refuses backup_recordings_too_large above the bound, writing nothing', async () => {
    const tmp = tempDir('hearth-backup-rec-bound-');
    try {
      seedDataDir(tmp.dir);
      writeFootage(join(tmp.dir, 'recordings'), [60_000, 60_000, 60_000]);
      const store = Store.open(tmp.dir);
      const service = new BackupService({
        dataDir: tmp.dir,
        db: () => store.db,
        home: () => 'home',
        clock: systemClock,
        log: createLogger({ level: 'silent' }),
        kdf: FAST_KDF,
        recordingsDir: join(tmp.dir, 'recordings'),
        maxRecordingsBytes: 150_000,
      });
      expect(service.recordings()).toEqual({ files: 3, bytes: 180_000, maxBytes: 150_000 });
      await expect(service.create(PASSPHRASE, { recordings: true })).rejects.toMatchObject({
        code: 'backup_recordings_too_large',
        details: { bytes: 180_000, maxBytes: 150_000 },
      });
      expect(readdirSync(join(tmp.dir, 'backups'))).toEqual([]);
      // Without them the same home backs up fine, and the bound does not apply.
      const made = await service.create(PASSPHRASE);
      expect(made.recordings).toBeUndefined();
      expect(service.list().map((b) => b.id)).toEqual([made.id]);
      store.close();
    } finally {
      tmp.cleanup();
    }
  });
});
