import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupOwner } from '../helpers/http.ts';
import { startHub } from '../helpers/hub-process.ts';
import { tempDir } from '../helpers/temp.ts';

const ADMIN = fileURLToPath(new URL('../../src/admin.ts', import.meta.url));

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

/** Every entry's mode below `dir` (relative path → octal mode), the directory itself as '.'. */
function modes(dir: string): Record<string, string> {
  const out: Record<string, string> = { '.': modeOf(dir) };
  for (const entry of readdirSync(dir, { recursive: true }) as string[]) out[entry] = modeOf(join(dir, entry));
  return out;
}

/**
 * The data dir holds token keys, signing seeds, the home key and TOTP secrets (issue 12): the hub
 * makes it 0700 and its files 0600 whatever umask it is started with (children inherit the
 * test's umask, set wide open here), and tightens what was left too open before.
 */
describe('data dir modes under a permissive umask', () => {
  let previous: number;
  beforeAll(() => {
    previous = process.umask(0o000);
  });
  afterAll(() => {
    process.umask(previous);
  });

  it('creates everything owner-only, and tightens an existing too-open data dir at start', async () => {
    const t = tempDir();
    const dataDir = join(t.dir, 'data');
    try {
      let hub = await startHub(dataDir);
      try {
        const running = modes(dataDir);
        for (const name of ['hearth.db', 'ports.json', 'setup-code', 'hub.pid'])
          expect({ name, mode: running[name] }).toEqual({ name, mode: '600' });
        await setupOwner(hub);
        const after = modes(dataDir);
        expect(after['.']).toBe('700');
        // WAL mode: the write-ahead log and shared-memory files exist while the hub runs.
        for (const name of ['hearth.db', 'hearth.db-wal', 'hearth.db-shm', 'ports.json', 'hub.pid'])
          expect({ name, mode: after[name] }).toEqual({ name, mode: '600' });
        for (const [name, mode] of Object.entries(after))
          expect({ name, mode }).toEqual({ name, mode: statSync(join(dataDir, name)).isDirectory() ? '700' : '600' });
      } finally {
        await hub.kill9();
      }

      // As an older hub or another umask left it: everything readable by all, plus files other
      // parts make (a Zigbee coordinator backup).
      mkdirSync(join(dataDir, 'zigbee'), { recursive: true });
      writeFileSync(join(dataDir, 'zigbee', 'coordinator_backup.json'), '{}', { mode: 0o644 });
      for (const name of Object.keys(modes(dataDir))) {
        const path = join(dataDir, name);
        chmodSync(path, statSync(path).isDirectory() ? 0o777 : 0o666);
      }
      expect(modeOf(join(dataDir, 'hearth.db'))).toBe('666');
      hub = await startHub(dataDir);
      try {
        const tightened = modes(dataDir);
        expect(tightened['.']).toBe('700');
        for (const name of [
          'hearth.db',
          'hearth.db-wal',
          'hearth.db-shm',
          'ports.json',
          'zigbee/coordinator_backup.json',
        ]) {
          if (name.startsWith('hearth.db-') && !existsSync(join(dataDir, name))) continue;
          expect({ name, mode: tightened[name] }).toEqual({ name, mode: '600' });
        }
        for (const name of ['zigbee', 'recordings'])
          expect({ name, mode: tightened[name] }).toEqual({ name, mode: '700' });
      } finally {
        await hub.kill9();
      }
    } finally {
      t.cleanup();
    }
  });

  it('hearth-admin makes a new data dir owner-only too', () => {
    const t = tempDir();
    const dataDir = join(t.dir, 'fresh');
    try {
      const res = spawnSync(process.execPath, [ADMIN, 'setup-code', '--data', dataDir], { encoding: 'utf8' });
      expect(res.status).toBe(0);
      expect(modes(dataDir)).toMatchObject({ '.': '700', 'hearth.db': '600', 'setup-code': '600' });
    } finally {
      t.cleanup();
    }
  });
});
