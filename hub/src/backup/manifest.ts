import { HubError } from '../core/errors.ts';

/**
 * The first entry of every backup, `manifest.json`: what made it, what is in it and each other
 * entry's size and SHA-256. Restore reads it before any other entry, refuses a backup from a
 * newer hub or schema, and checks every entry against it.
 */
export interface BackupManifest {
  kind: 'hearth-backup';
  hubVersion: string;
  schemaVersion: number;
  createdAt: number;
  home: string;
  counts: { users: number; devices: number; plugs: number; rules: number };
  entries: { path: string; bytes: number; sha256: string }[];
}

export const MANIFEST_PATH = 'manifest.json';
export const MAX_MANIFEST_BYTES = 4 << 20;
export const MAX_ENTRIES = 100_000;

/** Entry paths: relative, forward slashes, no `.`/`..` segments, a plain character set. */
const SAFE_PATH = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

export function isSafeEntryPath(path: string): boolean {
  return path.length <= 512 && SAFE_PATH.test(path);
}

export function parseManifest(text: string): BackupManifest {
  let m: BackupManifest;
  try {
    m = JSON.parse(text) as BackupManifest;
  } catch {
    throw new HubError('backup_corrupt', 'backup manifest is not JSON');
  }
  const ok =
    m &&
    m.kind === 'hearth-backup' &&
    typeof m.hubVersion === 'string' &&
    Number.isInteger(m.schemaVersion) &&
    Number.isFinite(m.createdAt) &&
    typeof m.home === 'string' &&
    m.counts &&
    Array.isArray(m.entries) &&
    m.entries.length <= MAX_ENTRIES &&
    m.entries.every(
      (e) =>
        e &&
        typeof e.path === 'string' &&
        isSafeEntryPath(e.path) &&
        e.path !== MANIFEST_PATH &&
        Number.isSafeInteger(e.bytes) &&
        e.bytes >= 0 &&
        /^[0-9a-f]{64}$/.test(e.sha256),
    ) &&
    new Set(m.entries.map((e) => e.path)).size === m.entries.length;
  if (!ok) throw new HubError('backup_corrupt', 'backup manifest is malformed');
  return m;
}

/** Compares dotted numeric versions ("1.10.0" > "1.9.3"); a pre-release tag is ignored. */
export function compareVersions(a: string, b: string): number {
  const pa = a
    .split('-')[0]!
    .split('.')
    .map((x) => Number(x) || 0);
  const pb = b
    .split('-')[0]!
    .split('.')
    .map((x) => Number(x) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}
