import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { finishInterruptedRestore } from '../../src/backup/restore.ts';
import { tempDir } from '../helpers/temp.ts';
import { seedDataDir } from './fixtures.ts';

const admin = fileURLToPath(new URL('../../src/admin.ts', import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [admin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });

let tmp: { dir: string; cleanup: () => void };
let source: string;
let pass: string;
let file: string;
beforeEach(() => {
  tmp = tempDir('hearth-admin-backup-');
  source = join(tmp.dir, 'source');
  seedDataDir(source);
  pass = join(tmp.dir, 'pass');
  writeFileSync(pass, 'a long passphrase\n');
  file = join(tmp.dir, 'home.hbk');
});
afterEach(() => tmp.cleanup());

function users(dataDir: string): string[] {
  const db = new Database(join(dataDir, 'hearth.db'), { readonly: true });
  try {
    return db.prepare('SELECT username FROM users ORDER BY username').pluck().all() as string[];
  } finally {
    db.close();
  }
}

/** A second home to restore over: its own owner, so it counts as set up. */
function otherHome(): string {
  const dir = join(tmp.dir, 'other');
  seedDataDir(dir);
  const db = new Database(join(dir, 'hearth.db'));
  db.prepare("UPDATE users SET username = 'previous'").run();
  db.close();
  return dir;
}

const pausedRestore = fileURLToPath(new URL('../helpers/restore-paused.ts', import.meta.url));

/** Runs restore (as `hearth-admin restore --replace`) until it says it paused at `point`, then kills it with SIGKILL. */
async function killRestoreAt(target: string, point: string): Promise<void> {
  const child = spawn(process.execPath, [pausedRestore, target, file, pass, point], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes(`restore paused at ${point}`)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`restore exited ${code} before pausing: ${err}`)));
  });
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited;
}

describe('hearth-admin backup / restore', () => {
  it('backs up a data dir and restores it into a new one, printing what it did', () => {
    const made = run(['backup', '--data', source, '--out', file, '--passphrase-file', pass]);
    expect(made.status, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({ file, counts: { users: 1, plugs: 1 } });
    expect(readFileSync(file).subarray(0, 8).toString()).toBe('HEARTHBK');
    const target = join(tmp.dir, 'new');
    const restored = run(['restore', '--data', target, '--file', file, '--passphrase-file', pass]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ restored: target, safetyCopy: null, plugCountersMoved: 1 });
    expect(users(target)).toEqual(['olivia']);
  });

  it('verify-backup checks a file without restoring it, and refuses a damaged one', () => {
    expect(run(['backup', '--data', source, '--out', file, '--passphrase-file', pass]).status).toBe(0);
    const scratch = join(tmp.dir, 'scratch');
    const ok = run(['verify-backup', '--file', file, '--passphrase-file', pass, '--scratch', scratch]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      ok: true,
      home: 'Maple House',
      counts: { users: 1, plugs: 1 },
      entries: 4,
    });
    const bytes = readFileSync(file);
    bytes[bytes.length - 100]! ^= 1;
    writeFileSync(file, bytes);
    const bad = run(['verify-backup', '--file', file, '--passphrase-file', pass, '--scratch', scratch]);
    expect([bad.status, bad.stderr]).toEqual([1, expect.stringContaining('backup_corrupt:')]);
    expect(readdirSync(scratch)).toEqual([]);
  });

  it('exits 1 with a code for refusals and 2 for bad usage, changing nothing', () => {
    expect(run(['backup', '--data', source, '--passphrase-file', pass, '--out', file]).status).toBe(0);
    const home = otherHome();
    const before = readdirSync(tmp.dir).sort();
    writeFileSync(join(tmp.dir, 'wrong'), 'not it\n');
    const wrong = run([
      'restore',
      '--data',
      join(tmp.dir, 'x'),
      '--file',
      file,
      '--passphrase-file',
      join(tmp.dir, 'wrong'),
    ]);
    expect([wrong.status, wrong.stderr]).toEqual([1, expect.stringContaining('backup_passphrase_wrong:')]);
    const over = run(['restore', '--data', home, '--file', file, '--passphrase-file', pass]);
    expect([over.status, over.stderr]).toEqual([1, expect.stringContaining('restore_would_replace:')]);
    expect(users(home)).toEqual(['previous']);
    writeFileSync(join(home, 'hub.pid'), `${process.pid}\n`);
    const running = run(['restore', '--data', home, '--file', file, '--passphrase-file', pass, '--replace']);
    expect([running.status, running.stderr]).toEqual([1, expect.stringContaining('restore_hub_running:')]);
    expect(run(['restore', '--data', home, '--file', file]).status).toBe(2);
    expect(run(['backup', '--bogus']).status).toBe(2);
    expect(
      readdirSync(tmp.dir)
        .filter((n) => n !== 'wrong')
        .sort(),
    ).toEqual(before);
    expect(users(home)).toEqual(['previous']);
  });

  it('replaces a set-up hub with --replace, keeping a safety copy of it', () => {
    expect(run(['backup', '--data', source, '--passphrase-file', pass, '--out', file]).status).toBe(0);
    const home = otherHome();
    const r = run(['restore', '--data', home, '--file', file, '--passphrase-file', pass, '--replace']);
    expect(r.status, r.stderr).toBe(0);
    const { safetyCopy } = JSON.parse(r.stdout) as { safetyCopy: string };
    expect(users(home)).toEqual(['olivia']);
    expect(users(safetyCopy)).toEqual(['previous']);
  });

  it('a kill -9 once everything is unpacked leaves the old home whole, and a second restore works', async () => {
    expect(run(['backup', '--data', source, '--passphrase-file', pass, '--out', file]).status).toBe(0);
    const home = otherHome();
    await killRestoreAt(home, 'unpacked');
    expect(users(home)).toEqual(['previous']);
    expect(readFileSync(join(home, 'firmware', '1.2.0.bin')).length).toBe(300_000);
    const again = run(['restore', '--data', home, '--file', file, '--passphrase-file', pass, '--replace']);
    expect(again.status, again.stderr).toBe(0);
    expect(users(home)).toEqual(['olivia']);
    // The killed run's unpacked dir was cleared, not left to fill the disk.
    expect(readdirSync(tmp.dir).filter((n) => n.includes('.restore-'))).toEqual([]);
  });

  it('a kill -9 during a backup leaves no backup file, no plaintext copy once the next one ran, and the next one works', async () => {
    const child = spawn(
      process.execPath,
      [admin, 'backup', '--data', source, '--out', file, '--passphrase-file', pass],
      { stdio: 'ignore' },
    );
    const exited = new Promise((r) => child.on('exit', r));
    // The sealed file is being written (its .partial exists) from the start of the KDF to the rename.
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (existsSync(`${file}.partial`)) {
          clearInterval(timer);
          resolve();
        } else if (child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error('backup finished before it could be killed'));
        }
      }, 2);
    });
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(file)).toBe(false);
    const again = run(['backup', '--data', source, '--out', file, '--passphrase-file', pass]);
    expect(again.status, again.stderr).toBe(0);
    expect(existsSync(`${file}.partial`)).toBe(false);
    // The killed run's staged plaintext copy is gone too (only a live backup's would stay).
    expect(readdirSync(join(source, 'backups'))).toEqual([]);
    const r = run(['restore', '--data', join(tmp.dir, 'new'), '--file', file, '--passphrase-file', pass]);
    expect(r.status, r.stderr).toBe(0);
  });

  it('a kill -9 between the two renames is finished by the next start (the new home, complete)', async () => {
    expect(run(['backup', '--data', source, '--passphrase-file', pass, '--out', file]).status).toBe(0);
    const home = otherHome();
    await killRestoreAt(home, 'moved-aside');
    expect(existsSync(home)).toBe(false);
    // What the hub's first part and the next restore both do before anything else.
    expect(finishInterruptedRestore(home)).toBe(true);
    expect(users(home)).toEqual(['olivia']);
    expect(readFileSync(join(home, 'zigbee', 'network.json'), 'utf8')).toBe('{"panId":4660}\n');
    const safety = readdirSync(tmp.dir).find((n) => n.startsWith('other.before-restore-'))!;
    expect(users(join(tmp.dir, safety))).toEqual(['previous']);
  });
});
