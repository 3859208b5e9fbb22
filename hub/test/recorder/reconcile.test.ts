import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/core/bus.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { SWEEP_PAUSE_MS } from '../../src/recorder/full-sweep.ts';
import { dayOf } from '../../src/recorder/segment-layout.ts';
import { RecorderService } from '../../src/recorder/service.ts';
import { Store } from '../../src/store/store.ts';
import { footageFiles } from '../helpers/footage.ts';
import { tempDir } from '../helpers/temp.ts';

const log = createLogger({ level: 'silent' });
const DAY = 86_400_000;
const OLD_DAYS = 20;
const PER_DAY = 100;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A store with one camera holding OLD_DAYS days of PER_DAY segments, files and rows. */
function seeded() {
  const tmp = tempDir();
  cleanups.push(tmp.cleanup);
  const store = Store.open(tmp.dir);
  cleanups.push(() => store.close());
  const clock = new ManualClock(Date.UTC(2026, 10, 23, 12));
  const service = new RecorderService({
    store,
    bus: new EventBus(log),
    clock,
    log,
    dataDir: tmp.dir,
    ffmpeg: '/nonexistent/ffmpeg',
  });
  service.repo.insertCamera({
    id: 'cam_a',
    name: 'A',
    url: 'rtsp://127.0.0.1:1/a',
    codec: 'h264',
    width: 320,
    height: 240,
    fps: 10,
    createdAt: 1,
    mode: 'off',
    settings: '{}',
  });
  /** A segment file and its row (a file only when `file`, a row only when `row`). */
  const segment = (startAt: number, name: string, { file = true, row = true } = {}) => {
    const path = `cam_a/${dayOf(startAt)}/${name}`;
    if (file) {
      mkdirSync(dirname(join(service.root, path)), { recursive: true });
      writeFileSync(join(service.root, path), 'x');
    }
    if (row) service.repo.insertSegment({ cameraId: 'cam_a', startAt, endAt: startAt + 4000, bytes: 1, path });
    return path;
  };
  const run = clock.now() - OLD_DAYS * DAY;
  for (let d = OLD_DAYS; d >= 1; d--) {
    for (let i = 0; i < PER_DAY; i++)
      segment(clock.now() - d * DAY + i * 4000, `${run}-${String(d * PER_DAY + i).padStart(5, '0')}.mp4`);
  }
  const rows = () =>
    service.repo
      .segments('cam_a', 0, clock.now() + DAY)
      .map((s) => s.path)
      .sort();
  return { service, clock, segment, rows, root: service.root };
}

describe('start-up reconcile with day directories', () => {
  it('fixes what a crash since the clean mark left, without looking at older footage', () => {
    const { service, clock, segment, rows, root } = seeded();
    service.repo.markClean('cam_a', clock.now() - 60_000);
    const now = clock.now();
    // What a killed hub (or a power loss) since the mark can leave behind:
    segment(now - 20_000, '9-00001.mp4', { file: false }); // a row whose file the file system lost
    const orphan = segment(now - 10_000, '9-00002.mp4', { row: false }); // a file whose row was lost
    const incoming = join(root, 'cam_a', 'incoming');
    mkdirSync(incoming, { recursive: true });
    writeFileSync(join(incoming, `${now - 8000}-00000.mp4`), 'indexed, not moved yet');
    service.repo.insertSegment({
      cameraId: 'cam_a',
      startAt: now - 8000,
      endAt: now - 4000,
      bytes: 1,
      path: `cam_a/${dayOf(now - 8000)}/${now - 8000}-00000.mp4`,
    });
    writeFileSync(join(incoming, `${now - 4000}-00001.mp4`), 'half written');
    mkdirSync(join(root, 'cam_a', 'exports'));
    writeFileSync(join(root, 'cam_a', 'exports', '.export-1-2-3.mp4'), 'old playback');
    // A removal cut short: the row went (with its path as trash), the file did not.
    const old = service.repo.oldestSegments(1)[0]!;
    service.repo.trashSegments([old.id]);

    const result = service.reconcile();
    expect(result).toMatchObject({ rowsDropped: 1, filesRemoved: 2 });
    // The 2000 old segments were neither stat'ed nor listed: only the recent rows and the newest
    // day directory (plus the root and incoming/).
    expect(result.work.rowsChecked).toBeLessThanOrEqual(3);
    expect(result.work.entriesListed).toBeLessThanOrEqual(10);

    expect(existsSync(join(root, orphan))).toBe(false);
    expect(existsSync(join(root, old.path))).toBe(false);
    expect(existsSync(join(root, 'cam_a', 'exports'))).toBe(false);
    expect(footageFiles(root, 'cam_a', true)).toEqual(rows());
    expect(rows()).toHaveLength(OLD_DAYS * PER_DAY - 1 + 1);
    // Clean now: the next start has nothing newer to check.
    expect(service.reconcile().work.rowsChecked).toBe(1);
  });

  it('checks everything once for a camera never marked clean', () => {
    const { service, rows, root } = seeded();
    rmSync(join(root, service.repo.oldestSegments(1)[0]!.path));
    const result = service.reconcile();
    expect(result.rowsDropped).toBe(1);
    expect(result.work.rowsChecked).toBe(OLD_DAYS * PER_DAY);
    expect(footageFiles(root, 'cam_a')).toEqual(rows());
    expect(service.reconcile().work.rowsChecked).toBe(0);
  });

  it('leaves older disagreements to the background sweep, which finds them a chunk at a time', () => {
    const { service, clock, segment, rows, root } = seeded();
    service.repo.markClean('cam_a', clock.now());
    const lost = service.repo.oldestSegments(1)[0]!.path;
    rmSync(join(root, lost));
    const stray = segment(clock.now() - 5 * DAY + 999, '7-00000.mp4', { row: false });
    expect(service.reconcile()).toMatchObject({ rowsDropped: 0, filesRemoved: 0 });

    service.sweep.start();
    let steps = 0;
    while (service.sweep.completed === 0 && steps < 1000) {
      clock.advance(SWEEP_PAUSE_MS);
      steps++;
    }
    expect(service.sweep.completed).toBe(1);
    // Many small steps, not one long one.
    expect(steps).toBeGreaterThan(10);
    expect(service.sweep).toMatchObject({ rowsDropped: 1, filesRemoved: 1 });
    expect(existsSync(join(root, stray))).toBe(false);
    expect(rows()).not.toContain(lost);
    expect(footageFiles(root, 'cam_a')).toEqual(rows());
    service.sweep.stop();
  });

  it('removes a day directory with its last file', () => {
    const { service, clock, root } = seeded();
    const firstDay = dayOf(clock.now() - OLD_DAYS * DAY);
    expect(existsSync(join(root, 'cam_a', firstDay))).toBe(true);
    service.storage.removeAll(service.repo.oldestSegments(PER_DAY));
    expect(existsSync(join(root, 'cam_a', firstDay))).toBe(false);
    expect(existsSync(join(root, 'cam_a', dayOf(clock.now() - (OLD_DAYS - 1) * DAY)))).toBe(true);
  });
});
