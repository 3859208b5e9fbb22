import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WalFrames } from '../helpers/wal-frames.ts';
import { advance, flush, OWNER, world, type World } from './helpers.ts';

/**
 * Ended runs' traces are group-committed (rules/trace-writer.ts, docs/writes.md): one
 * transaction per `traceFlushMs` window (default 1 s) instead of one per run. Asserted from
 * outside the hub's connection: commits counted in the WAL file, rows read by a second
 * connection to the same database file.
 */
describe('rule traces: one transaction per window (issue 13)', () => {
  let w: World;
  let button: string;
  let disk: Database.Database;
  let wal: WalFrames;
  const rowsOnDisk = (ruleId: string): number =>
    (disk.prepare('SELECT count(*) AS n FROM rule_traces WHERE rule_id = ?').get(ruleId) as { n: number }).n;
  const commits = (): number => {
    wal.poll();
    return wal.commits;
  };

  beforeEach(async () => {
    w = await world();
    w.store.db.pragma('wal_autocheckpoint = 0');
    button = await w.device('Button', ['button']);
    disk = new Database(join(w.dir, 'hearth.db'), { readonly: true });
    wal = new WalFrames(join(w.dir, 'hearth.db-wal'));
  });
  afterEach(async () => {
    disk.close();
    await w.close();
  });

  const rule = (actions: unknown[] = [{ type: 'stop', reason: 'nothing to do' }]) =>
    w.rules.create(
      {
        name: 'Every press',
        mode: 'parallel',
        max: 100,
        traceLimit: 200,
        triggers: [{ type: 'state', device: button, capability: 'button' }],
        actions,
      },
      OWNER,
    );

  it('100 firings within the window: no trace on disk before it ends, then all 100 in ONE commit', async () => {
    const r = rule();
    for (let i = 0; i < 100; i++) w.driver.ctx.reportState(button, { button: `press-${i}` });
    await flush();
    expect(w.rules.traceWriter.held).toBe(100);
    expect(rowsOnDisk(r.id)).toBe(0);
    const before = commits();
    await advance(w.clock, 1_000);
    expect(commits() - before).toBe(1);
    expect(rowsOnDisk(r.id)).toBe(100);
    expect(w.rules.traceWriter.held).toBe(0);
    // The API's reader gets them all, newest first.
    const traces = w.rules.traces(r.id, 200);
    expect(traces).toHaveLength(100);
    expect(traces[0]).toMatchObject({ status: 'stopped', trigger: { value: 'press-99' } });
  });

  it('a clean stop writes the held traces; reading the traces writes them first', async () => {
    const r = rule();
    for (let i = 0; i < 3; i++) w.driver.ctx.reportState(button, { button: `press-${i}` });
    await flush();
    expect(rowsOnDisk(r.id)).toBe(0);
    expect(w.traces(r.id)).toHaveLength(3); // read before the window ends: flushed first
    expect(rowsOnDisk(r.id)).toBe(3);
    for (let i = 3; i < 8; i++) w.driver.ctx.reportState(button, { button: `press-${i}` });
    await flush();
    expect(rowsOnDisk(r.id)).toBe(3);
    await w.rules.stop();
    expect(rowsOnDisk(r.id)).toBe(8);
  });

  it("a paused run's trace is still written at once (a restart resumes it)", async () => {
    const r = rule([{ type: 'delay', for: '10m' }]);
    w.driver.ctx.reportState(button, { button: 'press' });
    await flush();
    expect(rowsOnDisk(r.id)).toBe(1);
    expect(
      (disk.prepare('SELECT status FROM rule_traces WHERE rule_id = ?').get(r.id) as { status: string }).status,
    ).toBe('waiting');
  });

  it('traces held for a rule deleted meanwhile are dropped, the others written', async () => {
    const gone = rule();
    const kept = rule();
    w.driver.ctx.reportState(button, { button: 'press' });
    await flush();
    expect(w.rules.traceWriter.held).toBe(2);
    w.rules.remove(gone.id, OWNER);
    await advance(w.clock, 1_000);
    expect(rowsOnDisk(kept.id)).toBe(1);
    expect(rowsOnDisk(gone.id)).toBe(0);
  });
});
