import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '@hearth/model/values';
import type { AuditEvent } from '../../src/core/bus.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/temp.ts';
import { WalFrames } from '../helpers/wal-frames.ts';

/**
 * Commands' and notifications' audit rows are group-committed (store/audit-repo.ts,
 * docs/writes.md): one transaction per `audit.flushMs` window instead of one per row; every
 * other audit row is written at once, after the held ones (ids keep the order of events), and
 * readers write what is held first. Asserted from outside the store's connection: rows read by a
 * second connection to the same file, commits counted in the WAL file.
 */
const PERSON: Actor = { kind: 'user', userId: 'u1', username: 'ann', role: 'owner' };

describe('audit rows of commands and notifications: one transaction per window (issue 13)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: Store;
  let clock: ManualClock;
  let disk: Database.Database;
  let wal: WalFrames;
  const onDisk = () =>
    (
      disk.prepare('SELECT action, target FROM audit_log ORDER BY id').all() as { action: string; target: string }[]
    ).map((r) => `${r.action}:${r.target}`);
  const commits = () => {
    wal.poll();
    return wal.commits;
  };
  const command = (i: number): AuditEvent => ({
    actor: PERSON,
    action: 'device.command',
    target: `d${i}`,
    details: { capability: 'switch', value: true, outcome: 'confirmed', ms: 3 },
    at: clock.now(),
  });

  beforeEach(() => {
    tmp = tempDir();
    store = Store.open(tmp.dir);
    store.db.pragma('wal_autocheckpoint = 0');
    clock = new ManualClock(Date.UTC(2026, 0, 1));
    store.audit.groupCommit(clock, 1000);
    disk = new Database(join(tmp.dir, 'hearth.db'), { readonly: true });
    wal = new WalFrames(join(tmp.dir, 'hearth.db-wal'));
  });
  afterEach(() => {
    disk.close();
    if (store.db.open) store.close();
    tmp.cleanup();
  });

  it('100 commands within the window: nothing on disk before it ends, then all 100 in ONE commit', () => {
    const before = commits();
    for (let i = 0; i < 100; i++) store.audit.insert(command(i));
    store.audit.insert({ actor: { kind: 'rule', ruleId: 'r1' }, action: 'rule.notify', target: 'r1', at: 1 });
    expect(store.audit.held).toBe(101);
    clock.advance(999);
    expect(onDisk()).toEqual([]);
    expect(commits()).toBe(before);
    clock.advance(1);
    expect(commits() - before).toBe(1);
    expect(onDisk()).toHaveLength(101);
    expect(onDisk()[100]).toBe('rule.notify:r1');
    expect(store.audit.held).toBe(0);
  });

  it('any other row is written at once, after the held ones, in one commit: ids keep the order', () => {
    store.audit.insert(command(1));
    store.audit.insert(command(2));
    const before = commits();
    store.audit.insert({ actor: PERSON, action: 'user.add', target: 'u2', at: clock.now() });
    expect(commits() - before).toBe(1);
    expect(onDisk()).toEqual(['device.command:d1', 'device.command:d2', 'user.add:u2']);
    expect(store.audit.held).toBe(0);
  });

  it('readers see rows not yet flushed (list writes them first); a clean close writes them too', () => {
    store.audit.insert(command(1));
    expect(store.audit.list(10).map((r) => r.target)).toEqual(['d1']);
    expect(onDisk()).toEqual(['device.command:d1']);
    store.audit.insert(command(2));
    store.close();
    expect(onDisk()).toEqual(['device.command:d1', 'device.command:d2']);
  });

  it('a killed process loses only the held window; written rows stay', () => {
    store.audit.insert({ actor: PERSON, action: 'user.add', target: 'u2', at: clock.now() });
    store.audit.insert(command(1));
    store.db.close(); // kill -9: no flush, no checkpoint
    const again = Store.open(tmp.dir);
    try {
      expect(again.audit.list(10).map((r) => r.action)).toEqual(['user.add']);
    } finally {
      again.close();
    }
  });

  it('0 writes each row at once, as before; the audit_log(at) index is gone (a page per row for no reader)', () => {
    store.audit.groupCommit(clock, 0);
    const before = commits();
    store.audit.insert(command(1));
    store.audit.insert(command(2));
    expect(commits() - before).toBe(2);
    expect(store.audit.held).toBe(0);
    expect(
      disk.prepare("SELECT name FROM sqlite_master WHERE tbl_name = 'audit_log' AND type = 'index'").all(),
    ).toEqual([]);
  });
});
