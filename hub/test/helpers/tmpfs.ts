import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

/** Mounts a tmpfs of `mb` MiB at `dir`; returns why it cannot (not root, no mount), or null. */
export function mountTmpfs(dir: string, mb: number): string | null {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m`, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0 ? null : `cannot mount a tmpfs (needs root): ${(r.stderr || String(r.error)).trim()}`;
}

export function unmount(dir: string): void {
  spawnSync('umount', [dir]);
}
