import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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

const PASSPHRASE = 'our long backup passphrase';

describe('backups over the API (a real hub)', () => {
  let tmp: { dir: string; cleanup: () => void };
  let hub: HubProcess;
  let owner: string;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    tmp = tempDir('hearth-backup-api-');
    hub = await startHub(join(tmp.dir, 'data'));
    owner = await setupOwner(hub);
    for (const role of ['admin', 'member'] as const) {
      const add = await api(hub.baseUrl, 'POST', '/api/v1/users', {
        token: owner,
        body: { username: role, password: 'a long enough password', role },
      });
      expect(add.status, JSON.stringify(add.body)).toBe(201);
      const login = await api(hub.baseUrl, 'POST', '/api/v1/auth/login', {
        body: { username: role, password: 'a long enough password' },
      });
      tokens[role] = login.body.accessToken as string;
    }
  }, 60_000);
  afterAll(async () => {
    await hub?.stop();
    tmp.cleanup();
  });

  it('only the owner may make, list or download backups', async () => {
    for (const role of ['admin', 'member']) {
      const made = await api(hub.baseUrl, 'POST', '/api/v1/backups', {
        token: tokens[role]!,
        body: { passphrase: PASSPHRASE },
      });
      expect([made.status, made.body.error?.code]).toEqual([403, 'forbidden']);
      expect((await api(hub.baseUrl, 'GET', '/api/v1/backups', { token: tokens[role]! })).status).toBe(403);
    }
    expect((await api(hub.baseUrl, 'POST', '/api/v1/backups', { body: { passphrase: PASSPHRASE } })).status).toBe(401);
    expect(readdirSync(hub.dataDir)).not.toContain('backups');
  });

  it('makes a 0600 backup the owner can list, download and restore elsewhere; one at a time', async () => {
    const [a, b] = await Promise.all([
      api(hub.baseUrl, 'POST', '/api/v1/backups', { token: owner, body: { passphrase: PASSPHRASE } }),
      api(hub.baseUrl, 'POST', '/api/v1/backups', { token: owner, body: { passphrase: PASSPHRASE } }),
    ]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    const made = (a.status === 201 ? a : b).body as { id: string; bytes: number; createdAt: number };
    expect((a.status === 409 ? a : b).body.error.code).toBe('backup_in_progress');
    expect(made.id).toMatch(/^hearth-home-\d{8}T\d{9}Z$/);
    const onDisk = join(hub.dataDir, 'backups', `${made.id}.hbk`);
    expect(statSync(onDisk).mode & 0o777).toBe(0o600);
    expect(statSync(onDisk).size).toBe(made.bytes);
    expect(readdirSync(join(hub.dataDir, 'backups'))).toEqual([`${made.id}.hbk`]);

    const list = await api(hub.baseUrl, 'GET', '/api/v1/backups', { token: owner });
    expect(list.body).toEqual([made]);

    const res = await fetch(`${hub.baseUrl}/api/v1/backups/${made.id}/file`, {
      headers: { authorization: `Bearer ${owner}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain(`${made.id}.hbk`);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.equals(readFileSync(onDisk))).toBe(true);
    expect(
      (
        await fetch(`${hub.baseUrl}/api/v1/backups/${made.id}/file`, {
          headers: { authorization: `Bearer ${tokens.admin}` },
        })
      ).status,
    ).toBe(403);

    // The downloaded file is the whole home: restored elsewhere, it holds the three users.
    const file = join(tmp.dir, 'download.hbk');
    writeFileSync(file, bytes);
    const restored = await restoreBackup({ file, dataDir: join(tmp.dir, 'restored'), passphrase: PASSPHRASE });
    expect(restored.manifest.counts.users).toBe(3);
    const db = new Database(join(tmp.dir, 'restored', 'hearth.db'), { readonly: true });
    expect(db.prepare('SELECT username FROM users ORDER BY username').pluck().all()).toEqual([
      'admin',
      'member',
      'owner',
    ]);
    db.close();
  }, 60_000);

  it('the schedule: owner only, refusals with codes, a run now lands verified in backup.dir', async () => {
    const body = { enabled: true, time: '03:00', keep: 3, passphrase: 'the schedule passphrase' };
    for (const role of ['admin', 'member']) {
      expect(
        (await api(hub.baseUrl, 'GET', '/api/v1/backups/schedule', { token: tokens[role]! })).body.error.code,
      ).toBe('forbidden');
      const put = await api(hub.baseUrl, 'PUT', '/api/v1/backups/schedule', { token: tokens[role]!, body });
      expect([put.status, put.body.error.code]).toEqual([403, 'forbidden']);
      expect((await api(hub.baseUrl, 'POST', '/api/v1/backups/schedule/run', { token: tokens[role]! })).status).toBe(
        403,
      );
    }
    // No account (a guest on the home network): nothing.
    expect((await api(hub.baseUrl, 'GET', '/api/v1/backups/schedule')).status).toBe(401);
    expect((await api(hub.baseUrl, 'PUT', '/api/v1/backups/schedule', { body })).status).toBe(401);
    expect((await api(hub.baseUrl, 'POST', '/api/v1/backups/schedule/run')).status).toBe(401);
    const off = await api(hub.baseUrl, 'GET', '/api/v1/backups/schedule', { token: owner });
    expect(off.body).toMatchObject({
      enabled: false,
      passphraseSet: false,
      nextRunAt: null,
      stale: false,
      files: [],
      dir: join(hub.dataDir, 'backups', 'scheduled'),
    });
    // No key yet: a run is refused, and switching on needs a passphrase.
    const run0 = await api(hub.baseUrl, 'POST', '/api/v1/backups/schedule/run', { token: owner });
    expect([run0.status, run0.body.error.code]).toEqual([409, 'backup_schedule_key_missing']);
    const noPass = await api(hub.baseUrl, 'PUT', '/api/v1/backups/schedule', {
      token: owner,
      body: { enabled: true, time: '03:00', keep: 3 },
    });
    expect([noPass.status, noPass.body.error.code]).toEqual([400, 'backup_passphrase_required']);
    for (const bad of [
      { ...body, time: '24:00' },
      { ...body, keep: 0 },
      { ...body, keep: 61 },
      { ...body, passphrase: 'short' },
      { ...body, dir: '/tmp' },
    ]) {
      const res = await api(hub.baseUrl, 'PUT', '/api/v1/backups/schedule', { token: owner, body: bad });
      expect([res.status, res.body.error.code], JSON.stringify(bad)).toEqual([400, 'validation_failed']);
    }

    const on = await api(hub.baseUrl, 'PUT', '/api/v1/backups/schedule', { token: owner, body });
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    expect(on.body).toMatchObject({ enabled: true, time: '03:00', keep: 3, passphraseSet: true });
    expect(on.body.nextRunAt).toBeGreaterThan(Date.now());
    expect(JSON.stringify(on.body)).not.toContain(body.passphrase);
    const run = await api(hub.baseUrl, 'POST', '/api/v1/backups/schedule/run', { token: owner });
    expect(run.status, JSON.stringify(run.body)).toBe(201);
    const file = join(hub.dataDir, 'backups', 'scheduled', `${run.body.id}.hbk`);
    expect(statSync(file).size).toBe(run.body.bytes);
    const status = await api(hub.baseUrl, 'GET', '/api/v1/backups/schedule', { token: owner });
    expect(status.body).toMatchObject({ lastGood: run.body.id, lastError: null, stale: false, files: [run.body] });
    // The passphrase is on no disk of the hub: only the derived key (backup-schedule.key).
    expect(readFileSync(join(hub.dataDir, 'backup-schedule.key'), 'utf8')).not.toContain(body.passphrase);
    // The API's own list (DATA/backups) is a separate rotation.
    expect(
      (await api(hub.baseUrl, 'GET', '/api/v1/backups', { token: owner })).body.some(
        (b: { id: string }) => b.id === run.body.id,
      ),
    ).toBe(false);
    const restored = await restoreBackup({
      file,
      dataDir: join(tmp.dir, 'from-schedule'),
      passphrase: body.passphrase,
    });
    expect(restored.manifest.counts.users).toBe(3);

    const disabled = await api(hub.baseUrl, 'PUT', '/api/v1/backups/schedule', {
      token: owner,
      body: { enabled: false, time: '03:00', keep: 3 },
    });
    expect(disabled.body).toMatchObject({ enabled: false, passphraseSet: false, nextRunAt: null });
  }, 60_000);

  it('refuses a short passphrase and unknown or malformed ids with codes', async () => {
    const short = await api(hub.baseUrl, 'POST', '/api/v1/backups', { token: owner, body: { passphrase: 'short' } });
    expect([short.status, short.body.error.code]).toEqual([400, 'validation_failed']);
    for (const id of ['hearth-home-20200101T000000000Z', '..%2Fhearth.db', 'x']) {
      const res = await api(hub.baseUrl, 'GET', `/api/v1/backups/${id}/file`, { token: owner });
      expect([res.status, res.body.error.code], id).toEqual([404, 'backup_not_found']);
    }
  });
});

describe('backup service', () => {
  it('keeps the newest N, and clears what a stopped backup left', async () => {
    const tmp = tempDir('hearth-backup-keep-');
    try {
      seedDataDir(tmp.dir);
      const store = Store.open(tmp.dir);
      let now = Date.UTC(2026, 11, 1);
      const service = new BackupService({
        dataDir: tmp.dir,
        db: () => store.db,
        home: () => 'Maple House',
        clock: { now: () => (now += 60_000) } as typeof systemClock,
        log: createLogger({ level: 'silent' }),
        keep: 2,
        kdf: FAST_KDF,
      });
      const made = [];
      for (let i = 0; i < 4; i++) made.push(await service.create(PASSPHRASE));
      expect(service.list().map((b) => b.id)).toEqual([made[3]!.id, made[2]!.id]);
      expect(made[3]!.id).toBe('hearth-maple-house-20261201T000400000Z');
      expect(readdirSync(join(tmp.dir, 'backups')).sort()).toEqual([`${made[2]!.id}.hbk`, `${made[3]!.id}.hbk`]);
      writeFileSync(join(tmp.dir, 'backups', 'x.hbk.partial'), 'half');
      new BackupService({
        dataDir: tmp.dir,
        db: () => store.db,
        home: () => 'h',
        clock: systemClock,
        log: createLogger({ level: 'silent' }),
      });
      expect(readdirSync(join(tmp.dir, 'backups'))).toHaveLength(2);
      store.close();
    } finally {
      tmp.cleanup();
    }
  });

  it('a new backup that does not verify is refused backup_verify_failed and removed; the good ones stay', async () => {
    const tmp = tempDir('hearth-backup-verify-');
    try {
      seedDataDir(tmp.dir);
      const store = Store.open(tmp.dir);
      let damage = false;
      const service = new BackupService({
        dataDir: tmp.dir,
        db: () => store.db,
        home: () => 'Maple House',
        clock: systemClock,
        log: createLogger({ level: 'silent' }),
        keep: 1,
        kdf: FAST_KDF,
        // The disk changes one byte of the file after it was written.
        sealed: async (path) => {
          if (!damage) return;
          const bytes = readFileSync(path);
          bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
          writeFileSync(path, bytes);
        },
      });
      const good = await service.create(PASSPHRASE);
      damage = true;
      await expect(service.create(PASSPHRASE)).rejects.toMatchObject({ code: 'backup_verify_failed' });
      // Nothing kept of the bad one, and the good one was not pruned for it (keep: 1).
      expect(service.list().map((b) => b.id)).toEqual([good.id]);
      expect(readdirSync(join(tmp.dir, 'backups'))).toEqual([`${good.id}.hbk`]);
      store.close();
    } finally {
      tmp.cleanup();
    }
  });
});
