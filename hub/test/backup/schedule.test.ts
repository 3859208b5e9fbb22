import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackupScheduler } from '../../src/backup/schedule.ts';
import { SCHEDULE_KEY_FILE } from '../../src/backup/schedule-key.ts';
import { BackupService } from '../../src/backup/service.ts';
import { checkSealedBackup, verifyBackup } from '../../src/backup/verify.ts';
import { EventBus, type BackupAlertEvent } from '../../src/core/bus.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/temp.ts';
import { FAST_KDF, seedDataDir } from './fixtures.ts';

const PASSPHRASE = 'the schedule passphrase';
const HOUR = 3600_000;
const DAY = 24 * HOUR;

describe('scheduled backups (ManualClock, real files)', () => {
  let tmp: { dir: string; cleanup: () => void };
  let store: Store;
  let clock: ManualClock;
  let scheduler: BackupScheduler;
  let service: BackupService;
  let usb: string;
  let dataDir: string;
  const alerts: BackupAlertEvent[] = [];
  /** What the relay was given (ids), and a disk fault injected between sealing and the read-back. */
  const uploaded: string[] = [];
  let damage: ((path: string) => void) | null = null;

  beforeEach(() => {
    tmp = tempDir('hearth-backup-schedule-');
    dataDir = join(tmp.dir, 'data');
    usb = join(tmp.dir, 'usb', 'hearth');
    seedDataDir(dataDir);
    store = Store.open(dataDir);
    store.settings.set('home.timezone', 'Europe/Berlin'); // as PATCH /api/v1/home stores it
    // 1 March 2026, 13:00 in Berlin (UTC+1).
    clock = new ManualClock(Date.UTC(2026, 2, 1, 12, 0));
    const bus = new EventBus();
    alerts.length = 0;
    bus.on('test', 'backup.alert', (a) => void alerts.push(a));
    const log = createLogger({ level: 'silent' });
    service = new BackupService({ dataDir, db: () => store.db, home: () => 'Maple House', clock, log, kdf: FAST_KDF });
    scheduler = new BackupScheduler({
      dataDir,
      dir: usb,
      db: () => store.db,
      home: () => 'Maple House',
      settings: store.settings,
      service,
      bus,
      clock,
      log,
      kdf: FAST_KDF,
      offsite: async (_path, id) => void uploaded.push(id),
      sealed: async (path) => damage?.(path),
    });
    uploaded.length = 0;
    damage = null;
    scheduler.start();
  });
  afterEach(async () => {
    await scheduler.stop();
    store.close();
    tmp.cleanup();
  });

  /** Moves the clock to the next scheduled run and waits for it to finish. */
  async function runDue(): Promise<void> {
    const next = scheduler.status().nextRunAt!;
    clock.advance(next - clock.now());
    await scheduler.idle();
  }
  const files = (): string[] => readdirSync(usb).sort();

  it('runs nightly at the local time, keeps N, verifies, and opens with the passphrase alone', async () => {
    await expect(scheduler.set({ enabled: true, time: '03:00', keep: 2 })).rejects.toMatchObject({
      code: 'backup_passphrase_required',
    });
    const status = await scheduler.set({ enabled: true, time: '03:00', keep: 2, passphrase: PASSPHRASE });
    expect(status).toMatchObject({
      enabled: true,
      passphraseSet: true,
      timeZone: 'Europe/Berlin',
      nextRunAt: Date.UTC(2026, 2, 2, 2, 0),
      stale: false,
      files: [],
    });
    // The key file holds a derived key, never the passphrase.
    const keyFile = join(dataDir, SCHEDULE_KEY_FILE);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, 'utf8')).not.toContain(PASSPHRASE);

    clock.advance(Date.UTC(2026, 2, 2, 1, 59) - clock.now());
    await scheduler.idle();
    expect(existsSync(usb)).toBe(false);

    await runDue();
    expect(files()).toEqual(['hearth-maple-house-20260302T020000000Z.hbk']);
    // Made with the stored key, opened with the owner's passphrase: what a restore needs.
    const manifest = await verifyBackup(join(usb, files()[0]!), PASSPHRASE, join(tmp.dir, 'scratch'));
    expect(manifest.counts).toMatchObject({ users: 1, plugs: 1 });
    expect(statSync(join(usb, files()[0]!)).mode & 0o777).toBe(0o600);

    await runDue();
    await runDue();
    // Retention: the oldest went, the two newest stay.
    expect(files()).toEqual([
      'hearth-maple-house-20260303T020000000Z.hbk',
      'hearth-maple-house-20260304T020000000Z.hbk',
    ]);
    const after = scheduler.status();
    expect(after).toMatchObject({
      lastGood: 'hearth-maple-house-20260304T020000000Z',
      lastGoodAt: Date.UTC(2026, 2, 4, 2, 0),
      lastError: null,
      stale: false,
    });
    expect(after.files.map((f) => f.id)).toEqual([
      'hearth-maple-house-20260304T020000000Z',
      'hearth-maple-house-20260303T020000000Z',
    ]);
    // The nightly check reads the file back against the manifest, writing nothing: a changed
    // byte anywhere is refused.
    const newest = join(usb, 'hearth-maple-house-20260304T020000000Z.hbk');
    expect((await checkSealedBackup(newest, PASSPHRASE)).counts).toMatchObject({ users: 1 });
    const flipped = readFileSync(newest);
    flipped[flipped.length - 30]! ^= 1;
    writeFileSync(join(tmp.dir, 'flipped.hbk'), flipped);
    await expect(checkSealedBackup(join(tmp.dir, 'flipped.hbk'), PASSPHRASE)).rejects.toMatchObject({
      code: 'backup_corrupt',
    });
    // Nothing was left behind in the data dir (staging and scratch copies are removed).
    expect(readdirSync(join(dataDir, 'backups'))).toEqual([]);
    expect(alerts).toEqual([]);

    // Summer time: 03:00 in Berlin is 01:00 UTC after 29 March.
    clock.advance(Date.UTC(2026, 3, 1, 12, 0) - clock.now());
    await scheduler.idle();
    expect(scheduler.status().nextRunAt).toBe(Date.UTC(2026, 3, 2, 1, 0));
  }, 60_000);

  it('a kept backup damaged on the disk is found at the next run, set aside and alerted', async () => {
    await scheduler.set({ enabled: true, time: '03:00', keep: 3, passphrase: PASSPHRASE });
    await runDue();
    await runDue();
    const [first, second] = files();
    const fd = openSync(join(usb, first!), 'r+');
    writeSync(fd, Buffer.from([0x5a]), 0, 1, Math.floor(statSync(join(usb, first!)).size / 2));
    closeSync(fd);

    await runDue();
    expect(alerts).toEqual([
      expect.objectContaining({ kind: 'corrupt', code: 'backup_corrupt', file: first!.slice(0, -4) }),
    ]);
    expect(files()).toEqual([`${first}.corrupt`, second, 'hearth-maple-house-20260304T020000000Z.hbk'].sort());
    const status = scheduler.status();
    expect(status.lastError).toMatchObject({ code: 'backup_corrupt', file: first!.slice(0, -4) });
    expect(status.files).toHaveLength(2);
    expect(status.stale).toBe(false);
  }, 60_000);

  it('a sealed file that does not read back is removed, never sent off-site, and alerted backup_verify_failed', async () => {
    await scheduler.set({ enabled: true, time: '03:00', keep: 3, offsite: true, passphrase: PASSPHRASE });
    await runDue();
    const good = 'hearth-maple-house-20260302T020000000Z';
    expect([files(), uploaded, alerts]).toEqual([[`${good}.hbk`], [good], []]);

    // The disk changes one byte of the next file after it was written (a failing stick).
    damage = (path) => {
      const bytes = readFileSync(path);
      bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
      writeFileSync(path, bytes);
    };
    await runDue();
    const bad = 'hearth-maple-house-20260303T020000000Z';
    expect(alerts).toEqual([
      expect.objectContaining({ kind: 'failed', code: 'backup_verify_failed', lastGoodAt: Date.UTC(2026, 2, 2, 2, 0) }),
    ]);
    // Not kept as if good, not at the relay; the last good one stays the last good one.
    expect(files()).toEqual([`${good}.hbk`]);
    expect(uploaded).toEqual([good]);
    expect(scheduler.status()).toMatchObject({ lastGood: good, lastError: { code: 'backup_verify_failed' } });
    expect(JSON.stringify(scheduler.status())).toContain(bad);

    damage = null;
    await runDue();
    expect(files()).toHaveLength(2);
    expect(scheduler.status()).toMatchObject({ lastGood: 'hearth-maple-house-20260304T020000000Z', lastError: null });
    // No good backup an hour after the failed run: stale too, once.
    expect(alerts.map((a) => [a.kind, a.code])).toEqual([
      ['failed', 'backup_verify_failed'],
      ['stale', expect.any(String)],
    ]);
  }, 60_000);

  it('a failed run alerts at once, and no good backup an hour after a due run alerts stale, once', async () => {
    await scheduler.set({ enabled: true, time: '03:00', keep: 3, passphrase: PASSPHRASE });
    await runDue();
    expect(alerts).toEqual([]);
    // The key is gone (as on a restored hub): the next run cannot seal.
    const { rmSync } = await import('node:fs');
    rmSync(join(dataDir, SCHEDULE_KEY_FILE));
    expect(scheduler.status().passphraseSet).toBe(false);

    await runDue();
    expect(alerts).toEqual([
      expect.objectContaining({
        kind: 'failed',
        code: 'backup_schedule_key_missing',
        lastGoodAt: Date.UTC(2026, 2, 2, 2, 0),
      }),
    ]);
    expect(scheduler.status()).toMatchObject({ stale: false, lastError: { code: 'backup_schedule_key_missing' } });

    clock.advance(HOUR + 20 * 60_000);
    expect(alerts.map((a) => a.kind)).toEqual(['failed', 'stale']);
    expect(scheduler.status().stale).toBe(true);
    clock.advance(6 * HOUR);
    expect(alerts.map((a) => a.kind)).toEqual(['failed', 'stale']);

    // Setting the passphrase again and running now clears it.
    await scheduler.set({ enabled: true, time: '03:00', keep: 3, passphrase: PASSPHRASE });
    await scheduler.runNow();
    expect(scheduler.status()).toMatchObject({ stale: false, lastError: null });
    expect(files()).toHaveLength(2);

    // Switched off: the key is removed, no runs, no alerts.
    await scheduler.set({ enabled: false, time: '03:00', keep: 3 });
    expect(existsSync(join(dataDir, SCHEDULE_KEY_FILE))).toBe(false);
    clock.advance(3 * DAY);
    await scheduler.idle();
    expect(files()).toHaveLength(2);
    expect(alerts.map((a) => a.kind)).toEqual(['failed', 'stale']);
  }, 60_000);

  it('shares the one backup slot with the API: a busy run is retried, not lost', async () => {
    await scheduler.set({ enabled: true, time: '03:00', keep: 3, passphrase: PASSPHRASE });
    let release!: () => void;
    const held = service.exclusive(
      () =>
        new Promise<void>((r) => {
          release = r;
        }),
    );
    const next = scheduler.status().nextRunAt!;
    clock.advance(next - clock.now());
    await scheduler.idle();
    expect(existsSync(usb) ? files() : []).toEqual([]);
    expect(alerts).toEqual([]);
    release();
    await held;
    clock.advance(5 * 60_000);
    await scheduler.idle();
    expect(files()).toEqual(['hearth-maple-house-20260302T020500000Z.hbk']);
  }, 60_000);
});
