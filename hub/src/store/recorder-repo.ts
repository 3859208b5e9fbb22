import type Database from 'better-sqlite3';
import type { Db } from './db.ts';

/** What a camera records: everything, only around events, or nothing. */
export type CameraMode = 'continuous' | 'events' | 'off';

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
  mode: CameraMode;
  /** JSON of `CameraSettings` (parsed by the recorder, which owns the defaults). */
  settings: string;
  /** The sub stream (with credentials, like `url`) and what ffprobe saw in it; absent: none. */
  sub?: SubStreamInfo | null;
}

export interface SubStreamInfo {
  url: string;
  codec: string;
  width: number;
  height: number;
  fps: number;
}

export interface SegmentRow {
  id: number;
  cameraId: string;
  startAt: number;
  endAt: number;
  bytes: number;
  /** Relative to DATA/recordings. */
  path: string;
  /** Inside an event clip's window (kept longer, evicted last). */
  event: boolean;
}

export interface ClipRow {
  id: number;
  cameraId: string;
  /** When the event happened. */
  at: number;
  /** Window kept: `at` minus the pre-roll to the end of the post-roll. */
  startAt: number;
  endAt: number;
  source: string;
  details: Record<string, unknown> | null;
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
  /**
   * Bytes of all segments, kept up to date by this repository's inserts and deletes (a SUM over
   * a year of 4 s segments is a scan of millions of rows; the budget asks after every segment).
   */
  #totalBytes: number | undefined;

  constructor(db: Db) {
    this.#db = db;
    // A segment closing inside a clip's window is an event segment from the start.
    this.#insertSegment =
      db.prepare(`INSERT OR IGNORE INTO camera_segments (camera_id, start_at, end_at, bytes, path, event)
      VALUES (:camera, :start, :end, :bytes, :path,
        EXISTS (SELECT 1 FROM camera_clips WHERE camera_id = :camera AND start_at < :end AND end_at > :start))`);
    this.#insertEvent = db.prepare('INSERT INTO camera_events (camera_id, at, kind, details) VALUES (?, ?, ?, ?)');
  }

  insertCamera(c: CameraRow): void {
    this.#db
      .prepare(
        'INSERT INTO cameras (id, name, url, codec, width, height, fps, created_at, mode, settings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(c.id, c.name, c.url, c.codec, c.width, c.height, c.fps, c.createdAt, c.mode, c.settings);
    if (c.sub) this.setSubStream(c.id, c.sub);
  }

  /** Sets (or with null removes) the camera's sub stream. */
  setSubStream(id: string, sub: SubStreamInfo | null): void {
    this.#db
      .prepare('UPDATE cameras SET sub_url = ?, sub_codec = ?, sub_width = ?, sub_height = ?, sub_fps = ? WHERE id = ?')
      .run(sub?.url ?? null, sub?.codec ?? null, sub?.width ?? null, sub?.height ?? null, sub?.fps ?? null, id);
  }

  updateCamera(id: string, fields: { name: string; mode: CameraMode; settings: string }): void {
    this.#db
      .prepare('UPDATE cameras SET name = ?, mode = ?, settings = ? WHERE id = ?')
      .run(fields.name, fields.mode, fields.settings, id);
  }

  listCameras(): CameraRow[] {
    return (this.#db.prepare('SELECT * FROM cameras ORDER BY created_at, id').all() as Record<string, unknown>[]).map(
      cameraOf,
    );
  }

  getCamera(id: string): CameraRow | undefined {
    const row = this.#db.prepare('SELECT * FROM cameras WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return row ? cameraOf(row) : undefined;
  }

  /** Deletes the camera and (cascade) its segment and event rows. */
  deleteCamera(id: string): boolean {
    this.#totalBytes = undefined;
    return this.#db.prepare('DELETE FROM cameras WHERE id = ?').run(id).changes > 0;
  }

  /** Returns whether the segment is an event segment (it lies in a clip's window). */
  insertSegment(s: Omit<SegmentRow, 'id' | 'event'>): boolean {
    const inserted =
      this.#insertSegment.run({ camera: s.cameraId, start: s.startAt, end: s.endAt, bytes: s.bytes, path: s.path })
        .changes > 0;
    if (inserted && this.#totalBytes !== undefined) this.#totalBytes += s.bytes;
    const row = this.#db.prepare('SELECT event FROM camera_segments WHERE path = ?').get(s.path) as
      | { event: number }
      | undefined;
    return row?.event === 1;
  }

  /** Marks the camera's segments overlapping [start, end) as event footage. */
  markEventSegments(cameraId: string, start: number, end: number): number {
    return this.#db
      .prepare('UPDATE camera_segments SET event = 1 WHERE camera_id = ? AND start_at < ? AND end_at > ? AND event = 0')
      .run(cameraId, end, start).changes;
  }

  /** A camera's segments of one kind that ended before `t`, oldest first. */
  segmentsOfKindEndedBefore(cameraId: string, event: boolean, t: number, limit: number): SegmentRow[] {
    return (
      this.#db
        .prepare(
          'SELECT * FROM camera_segments WHERE camera_id = ? AND event = ? AND end_at < ? ORDER BY end_at, id LIMIT ?',
        )
        .all(cameraId, event ? 1 : 0, t, limit) as Record<string, unknown>[]
    ).map(segmentOf);
  }

  insertClip(c: Omit<ClipRow, 'id'>): number {
    return Number(
      this.#db
        .prepare(
          'INSERT INTO camera_clips (camera_id, at, start_at, end_at, source, details) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(c.cameraId, c.at, c.startAt, c.endAt, c.source, c.details ? JSON.stringify(c.details) : null)
        .lastInsertRowid,
    );
  }

  extendClip(id: number, endAt: number): void {
    this.#db.prepare('UPDATE camera_clips SET end_at = MAX(end_at, ?) WHERE id = ?').run(endAt, id);
  }

  /** The clip of this camera whose window is still open at `t` (the newest), if any. */
  openClip(cameraId: string, t: number): ClipRow | undefined {
    const row = this.#db
      .prepare(
        'SELECT * FROM camera_clips WHERE camera_id = ? AND end_at >= ? AND start_at <= ? ORDER BY end_at DESC LIMIT 1',
      )
      .get(cameraId, t, t) as Record<string, unknown> | undefined;
    return row ? clipOf(row) : undefined;
  }

  /** Clips overlapping [from, to), oldest first. */
  clips(cameraId: string, from: number, to: number): ClipRow[] {
    return (
      this.#db
        .prepare('SELECT * FROM camera_clips WHERE camera_id = ? AND start_at < ? AND end_at > ? ORDER BY start_at, id')
        .all(cameraId, to, from) as Record<string, unknown>[]
    ).map(clipOf);
  }

  deleteClipsEndedBefore(cameraId: string, t: number): number {
    return this.#db.prepare('DELETE FROM camera_clips WHERE camera_id = ? AND end_at < ?').run(cameraId, t).changes;
  }

  /** Segments overlapping [from, to), oldest first. */
  segments(cameraId: string, from: number, to: number): SegmentRow[] {
    return (
      this.#db
        .prepare(
          'SELECT * FROM camera_segments WHERE camera_id = ? AND start_at < ? AND end_at > ? ORDER BY start_at, id',
        )
        .all(cameraId, to, from) as Record<string, unknown>[]
    ).map(segmentOf);
  }

  allSegmentPaths(cameraId: string): { id: number; path: string }[] {
    return this.#db.prepare('SELECT id, path FROM camera_segments WHERE camera_id = ?').all(cameraId) as {
      id: number;
      path: string;
    }[];
  }

  /** Does a row name this file? (one lookup on the path's unique index) */
  hasSegmentPath(path: string): boolean {
    return this.#db.prepare('SELECT 1 FROM camera_segments WHERE path = ?').get(path) !== undefined;
  }

  /** A camera's segments that ended at or after `t` (what may have changed since a clean mark). */
  segmentsEndedSince(cameraId: string, t: number): { id: number; path: string }[] {
    return this.#db
      .prepare('SELECT id, path FROM camera_segments WHERE camera_id = ? AND end_at >= ?')
      .all(cameraId, t) as { id: number; path: string }[];
  }

  /** Paths of the segments in one directory (`prefix` ends with '/'): a range of the path index. */
  segmentPathsUnder(prefix: string): Set<string> {
    const rows = this.#db
      .prepare('SELECT path FROM camera_segments WHERE path >= ? AND path < ? || char(1114111)')
      .all(prefix, prefix) as { path: string }[];
    return new Set(rows.map((r) => r.path));
  }

  /** A camera's segments by id after `afterId`, `limit` at a time (the background sweep's chunks). */
  segmentsAfterId(cameraId: string, afterId: number, limit: number): { id: number; path: string }[] {
    return this.#db
      .prepare('SELECT id, path FROM camera_segments WHERE camera_id = ? AND id > ? ORDER BY id LIMIT ?')
      .all(cameraId, afterId, limit) as { id: number; path: string }[];
  }

  /** When the camera's index and files last agreed (see migration 8), or null: never. */
  cleanUntil(cameraId: string): number | null {
    const row = this.#db.prepare('SELECT clean_until FROM cameras WHERE id = ?').get(cameraId) as
      | { clean_until: number | null }
      | undefined;
    return row?.clean_until ?? null;
  }

  markClean(cameraId: string, t: number): void {
    this.#db.prepare('UPDATE cameras SET clean_until = ? WHERE id = ?').run(t, cameraId);
  }

  /**
   * Deletes the rows and lists their paths as trash in one transaction: the caller removes the
   * files, then `clearTrash`. Returns the paths.
   */
  trashSegments(ids: number[]): string[] {
    const del = this.#db.prepare('DELETE FROM camera_segments WHERE id = ? RETURNING path, bytes');
    const trash = this.#db.prepare('INSERT OR IGNORE INTO camera_segment_trash (path) VALUES (?)');
    return this.#db.transaction(() => {
      const paths: string[] = [];
      for (const id of ids) {
        const gone = del.get(id) as { path: string; bytes: number } | undefined;
        if (!gone) continue;
        if (this.#totalBytes !== undefined) this.#totalBytes -= gone.bytes;
        trash.run(gone.path);
        paths.push(gone.path);
      }
      return paths;
    })();
  }

  trashedPaths(): string[] {
    return (this.#db.prepare('SELECT path FROM camera_segment_trash').all() as { path: string }[]).map((r) => r.path);
  }

  clearTrash(paths: string[]): void {
    const del = this.#db.prepare('DELETE FROM camera_segment_trash WHERE path = ?');
    this.#db.transaction(() => {
      for (const p of paths) del.run(p);
    })();
  }

  deleteSegment(id: number): void {
    const gone = this.#db.prepare('DELETE FROM camera_segments WHERE id = ? RETURNING bytes').get(id) as
      | { bytes: number }
      | undefined;
    if (gone && this.#totalBytes !== undefined) this.#totalBytes -= gone.bytes;
  }

  /** What the budget removes first: continuous segments oldest first across cameras, then event ones. */
  oldestSegments(limit: number): SegmentRow[] {
    return (
      this.#db.prepare('SELECT * FROM camera_segments ORDER BY event, end_at, id LIMIT ?').all(limit) as Record<
        string,
        unknown
      >[]
    ).map(segmentOf);
  }

  latestSegment(cameraId: string): SegmentRow | undefined {
    const row = this.#db
      .prepare('SELECT * FROM camera_segments WHERE camera_id = ? ORDER BY end_at DESC, id DESC LIMIT 1')
      .get(cameraId) as Record<string, unknown> | undefined;
    return row ? segmentOf(row) : undefined;
  }

  totalBytes(): number {
    this.#totalBytes ??= (
      this.#db.prepare('SELECT COALESCE(SUM(bytes), 0) AS n FROM camera_segments').get() as { n: number }
    ).n;
    return this.#totalBytes;
  }

  insertEvent(cameraId: string, at: number, kind: string, details?: Record<string, unknown>): void {
    this.#insertEvent.run(cameraId, at, kind, details ? JSON.stringify(details) : null);
  }

  /** Events in [from, to), oldest first. */
  events(cameraId: string, from: number, to: number): CameraEventRow[] {
    return (
      this.#db
        .prepare('SELECT * FROM camera_events WHERE camera_id = ? AND at >= ? AND at < ? ORDER BY at, id')
        .all(cameraId, from, to) as Record<string, unknown>[]
    ).map((r) => ({
      id: r.id as number,
      cameraId: r.camera_id as string,
      at: r.at as number,
      kind: r.kind as string,
      details: r.details ? (JSON.parse(r.details as string) as Record<string, unknown>) : null,
    }));
  }

  /** The audit rows of camera changes (they carry URLs): masked again when the masking grows. */
  cameraAuditRows(): CameraAuditRow[] {
    return (
      this.#db
        .prepare(
          "SELECT id, details FROM audit_log WHERE action IN ('camera.add', 'camera.update') AND details IS NOT NULL",
        )
        .all() as { id: number; details: string }[]
    ).map((r) => ({ id: r.id, details: JSON.parse(r.details) as Record<string, unknown> }));
  }

  rewriteAuditDetails(id: number, details: Record<string, unknown>): void {
    this.#db.prepare('UPDATE audit_log SET details = ? WHERE id = ?').run(JSON.stringify(details), id);
  }
}

/** An audit row the recorder wrote about a camera (`camera.add`, `camera.update`). */
export interface CameraAuditRow {
  id: number;
  details: Record<string, unknown>;
}

function cameraOf(r: Record<string, unknown>): CameraRow {
  return {
    id: r.id as string,
    name: r.name as string,
    url: r.url as string,
    codec: r.codec as string,
    width: r.width as number,
    height: r.height as number,
    fps: r.fps as number,
    createdAt: r.created_at as number,
    mode: r.mode as CameraMode,
    settings: r.settings as string,
    sub: r.sub_url
      ? {
          url: r.sub_url as string,
          codec: r.sub_codec as string,
          width: r.sub_width as number,
          height: r.sub_height as number,
          fps: r.sub_fps as number,
        }
      : null,
  };
}

function segmentOf(r: Record<string, unknown>): SegmentRow {
  return {
    id: r.id as number,
    cameraId: r.camera_id as string,
    startAt: r.start_at as number,
    endAt: r.end_at as number,
    bytes: r.bytes as number,
    path: r.path as string,
    event: r.event === 1,
  };
}

function clipOf(r: Record<string, unknown>): ClipRow {
  return {
    id: r.id as number,
    cameraId: r.camera_id as string,
    at: r.at as number,
    startAt: r.start_at as number,
    endAt: r.end_at as number,
    source: r.source as string,
    details: r.details ? (JSON.parse(r.details as string) as Record<string, unknown>) : null,
  };
}
