import type Database from 'better-sqlite3';
import type { Db } from './db.ts';

export interface CameraRow {
  id: string;
  name: string;
  /** With credentials: only the recorder reads this; the API masks it. */
  url: string;
  codec: string;
  width: number;
  height: number;
  fps: number;
  createdAt: number;
}

export interface SegmentRow {
  id: number;
  cameraId: string;
  startAt: number;
  endAt: number;
  bytes: number;
  /** Relative to DATA/recordings. */
  path: string;
}

export interface CameraEventRow {
  id: number;
  cameraId: string;
  at: number;
  kind: string;
  details: Record<string, unknown> | null;
}

/** The recorder's tables (migration 6): cameras, their segments and their events. */
export class RecorderRepo {
  readonly #db: Db;
  readonly #insertSegment: Database.Statement;
  readonly #insertEvent: Database.Statement;

  constructor(db: Db) {
    this.#db = db;
    this.#insertSegment = db.prepare('INSERT OR IGNORE INTO camera_segments (camera_id, start_at, end_at, bytes, path) VALUES (?, ?, ?, ?, ?)');
    this.#insertEvent = db.prepare('INSERT INTO camera_events (camera_id, at, kind, details) VALUES (?, ?, ?, ?)');
  }

  insertCamera(c: CameraRow): void {
    this.#db.prepare('INSERT INTO cameras (id, name, url, codec, width, height, fps, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(c.id, c.name, c.url, c.codec, c.width, c.height, c.fps, c.createdAt);
  }

  listCameras(): CameraRow[] {
    return (this.#db.prepare('SELECT * FROM cameras ORDER BY created_at, id').all() as Record<string, unknown>[]).map(cameraOf);
  }

  getCamera(id: string): CameraRow | undefined {
    const row = this.#db.prepare('SELECT * FROM cameras WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return row ? cameraOf(row) : undefined;
  }

  /** Deletes the camera and (cascade) its segment and event rows. */
  deleteCamera(id: string): boolean {
    return this.#db.prepare('DELETE FROM cameras WHERE id = ?').run(id).changes > 0;
  }

  insertSegment(s: Omit<SegmentRow, 'id'>): void {
    this.#insertSegment.run(s.cameraId, s.startAt, s.endAt, s.bytes, s.path);
  }

  /** Segments overlapping [from, to), oldest first. */
  segments(cameraId: string, from: number, to: number): SegmentRow[] {
    return (this.#db.prepare('SELECT * FROM camera_segments WHERE camera_id = ? AND start_at < ? AND end_at > ? ORDER BY start_at, id')
      .all(cameraId, to, from) as Record<string, unknown>[]).map(segmentOf);
  }

  allSegmentPaths(cameraId: string): { id: number; path: string }[] {
    return this.#db.prepare('SELECT id, path FROM camera_segments WHERE camera_id = ?').all(cameraId) as { id: number; path: string }[];
  }

  deleteSegment(id: number): void {
    this.#db.prepare('DELETE FROM camera_segments WHERE id = ?').run(id);
  }

  /** Oldest segments first, across cameras (what the budget removes first). */
  oldestSegments(limit: number): SegmentRow[] {
    return (this.#db.prepare('SELECT * FROM camera_segments ORDER BY end_at, id LIMIT ?').all(limit) as Record<string, unknown>[]).map(segmentOf);
  }

  /** Segments that ended before `t`, oldest first. */
  segmentsEndedBefore(t: number, limit: number): SegmentRow[] {
    return (this.#db.prepare('SELECT * FROM camera_segments WHERE end_at < ? ORDER BY end_at, id LIMIT ?').all(t, limit) as Record<string, unknown>[]).map(segmentOf);
  }

  latestSegment(cameraId: string): SegmentRow | undefined {
    const row = this.#db.prepare('SELECT * FROM camera_segments WHERE camera_id = ? ORDER BY end_at DESC, id DESC LIMIT 1').get(cameraId) as Record<string, unknown> | undefined;
    return row ? segmentOf(row) : undefined;
  }

  totalBytes(): number {
    return (this.#db.prepare('SELECT COALESCE(SUM(bytes), 0) AS n FROM camera_segments').get() as { n: number }).n;
  }

  insertEvent(cameraId: string, at: number, kind: string, details?: Record<string, unknown>): void {
    this.#insertEvent.run(cameraId, at, kind, details ? JSON.stringify(details) : null);
  }

  /** Events in [from, to), oldest first. */
  events(cameraId: string, from: number, to: number): CameraEventRow[] {
    return (this.#db.prepare('SELECT * FROM camera_events WHERE camera_id = ? AND at >= ? AND at < ? ORDER BY at, id')
      .all(cameraId, from, to) as Record<string, unknown>[]).map((r) => ({
      id: r.id as number,
      cameraId: r.camera_id as string,
      at: r.at as number,
      kind: r.kind as string,
      details: r.details ? JSON.parse(r.details as string) as Record<string, unknown> : null,
    }));
  }
}

function cameraOf(r: Record<string, unknown>): CameraRow {
  return {
    id: r.id as string, name: r.name as string, url: r.url as string, codec: r.codec as string,
    width: r.width as number, height: r.height as number, fps: r.fps as number, createdAt: r.created_at as number,
  };
}

function segmentOf(r: Record<string, unknown>): SegmentRow {
  return { id: r.id as number, cameraId: r.camera_id as string, startAt: r.start_at as number, endAt: r.end_at as number, bytes: r.bytes as number, path: r.path as string };
}
