import { existsSync, lchownSync, readdirSync, statSync } from 'node:fs';
import { HubError } from '../../core/errors.ts';
import { isPlainFile } from './safe-fs.ts';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { readJson } from './state-file.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls the hub's `GET /api/v1/health` (port from `DATA/ports.json`, which every start rewrites)
 * until it answers as `version` and healthy, or `timeoutMs` passes. Healthy: `ok`, or
 * `degraded` only because of the Zigbee radio (a missing stick is not the new version's fault).
 * Returns null when healthy, else why not.
 */
export async function waitHealthy(dataDir: string, version: string, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const port = readJson<{ http?: number }>(join(dataDir, 'ports.json'))?.http;
    if (port) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/health`, { signal: AbortSignal.timeout(3000) });
        const body = (await res.json()) as { status?: string; version?: string; parts?: Record<string, string> };
        const failed = Object.entries(body.parts ?? {})
          .filter(([, s]) => s === 'failed')
          .map(([p]) => p);
        if (
          res.status === 200 &&
          body.version === version &&
          (body.status === 'ok' || (body.status === 'degraded' && failed.every((p) => p === 'zigbee')))
        )
          return null;
        last = `answered ${res.status} ${body.status ?? ''} as version ${body.version ?? '?'}${failed.length ? `, failed parts: ${failed.join(', ')}` : ''}`;
      } catch (err) {
        last = `no answer (${(err as Error).message})`;
      }
    }
    await sleep(500);
  }
  return last;
}

/**
 * With the hub stopped: the devices it had online (`devices.available`), which are then marked
 * unavailable, so that only a device that reconnects to the new hub counts as back (the hub
 * keeps the flag across restarts and writes it only when it changes).
 */
export function takeOnlineDevices(dataDir: string): string[] {
  const path = join(dataDir, 'hearth.db');
  if (!existsSync(path)) return [];
  // Root opens (and writes) it: only the hub's own file, never where a link points.
  if (!isPlainFile(path)) throw new HubError('update_step_failed', `${path} is not a plain file`);
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const ids = db.prepare('SELECT id FROM devices WHERE available = 1 ORDER BY id').pluck().all() as string[];
    db.prepare('UPDATE devices SET available = 0 WHERE available = 1').run();
    return ids;
  } finally {
    db.close();
    giveBackToOwner(dataDir);
  }
}

/** Waits until every one of `ids` is online again; returns those still missing at the bound. */
export async function waitDevicesBack(dataDir: string, ids: string[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let missing = ids;
  while (missing.length > 0) {
    try {
      if (!isPlainFile(join(dataDir, 'hearth.db'))) throw new Error('not a plain file');
      const db = new Database(join(dataDir, 'hearth.db'), { readonly: true, fileMustExist: true });
      try {
        const online = new Set(db.prepare('SELECT id FROM devices WHERE available = 1').pluck().all() as string[]);
        missing = ids.filter((id) => !online.has(id));
      } finally {
        db.close();
        giveBackToOwner(dataDir);
      }
    } catch {
      // the new schema may differ, or the file is busy: keep asking until the bound
    }
    if (missing.length === 0 || Date.now() > deadline) break;
    await sleep(500);
  }
  return missing;
}

/**
 * The helper runs as root; anything it leaves in the data dir (a database it restored, SQLite's
 * -wal/-shm it made by opening it) must stay the hub user's, or the hub cannot open it.
 */
export function giveBackToOwner(dataDir: string): void {
  const { uid, gid } = statSync(dataDir);
  for (const name of readdirSync(dataDir)) {
    if (!name.startsWith('hearth.db')) continue;
    try {
      // lchown: a link the hub put here is changed itself, never the file it points to.
      lchownSync(join(dataDir, name), uid, gid);
    } catch {
      // gone meanwhile, or not ours to change (not running as root): nothing to fix
    }
  }
}
